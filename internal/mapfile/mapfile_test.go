package mapfile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/auditlog/auditlog/internal/mapfile"
)

func writeFile(t *testing.T, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestMap(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no mappings on " + runtime.GOOS)
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 5000) // more than a page, not a whole number of them
	f := writeFile(t, want[:len(want)-3])
	m, err := mapfile.Map(f)
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // the mapping outlives the file
	if !bytes.Equal(m.Data, want[:len(want)-3]) {
		t.Fatalf("mapped %d bytes, not the file's %d", len(m.Data), len(want)-3)
	}
	if err := m.Close(); err != nil || m.Data != nil {
		t.Fatalf("Close: %v, Data %d bytes", err, len(m.Data))
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// An empty file is read as a stream: there is nothing to map, and a
	// file of procfs says it is empty when it is not.
	if _, err := mapfile.Map(writeFile(t, nil)); !errors.Is(err, mapfile.ErrNotMappable) {
		t.Fatalf("empty file: %v, want ErrNotMappable", err)
	}
}

func TestMap_NotRegular(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := mapfile.Map(r); !errors.Is(err, mapfile.ErrNotMappable) {
		t.Fatalf("a pipe: %v, want ErrNotMappable", err)
	}
}

// TestRelease: released bytes read the same after as before (the pages come
// back from the page cache), and a release past the end or of less than a
// page is no error.
func TestRelease(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no mappings on " + runtime.GOOS)
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 5000)
	m, err := mapfile.Map(writeFile(t, want))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, n := range []int{0, 100, os.Getpagesize(), 3*os.Getpagesize() + 5, len(want), len(want) + 1<<20} {
		if err := m.Release(n); err != nil {
			t.Fatalf("Release(%d): %v", n, err)
		}
		if !bytes.Equal(m.Data, want) {
			t.Fatalf("after Release(%d) the mapping reads otherwise", n)
		}
	}
}
