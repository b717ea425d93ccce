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

	m, err = mapfile.Map(writeFile(t, nil))
	if err != nil || len(m.Data) != 0 {
		t.Fatalf("empty file: %v, %d bytes", err, len(m.Data))
	}
	m.Close()
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

// TestGuard cuts a mapped file short and reads past its new end: Guard
// returns ErrFault where the read would have ended the program.
func TestGuard(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fault of a shrunk mapping is tested on Linux")
	}
	page := os.Getpagesize()
	f := writeFile(t, bytes.Repeat([]byte{'x'}, 4*page))
	m, err := mapfile.Map(f)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := os.Truncate(f.Name(), int64(page)); err != nil {
		t.Fatal(err)
	}
	var sum int
	err = mapfile.Guard(func() error {
		for _, c := range m.Data {
			sum += int(c)
		}
		return nil
	})
	if !errors.Is(err, mapfile.ErrFault) {
		t.Fatalf("reading past the shrunk file's end: %v, want ErrFault", err)
	}
	if sum < page*'x' {
		t.Fatalf("read %d bytes' worth before the fault, want the first page's", sum/'x')
	}

	// Guard returns fn's error, and passes on any other panic.
	boom := errors.New("boom")
	if err := mapfile.Guard(func() error { return boom }); err != boom {
		t.Fatalf("Guard returned %v, want fn's error", err)
	}
	defer func() {
		if r := recover(); r != "other" {
			t.Fatalf("recovered %v, want the other panic", r)
		}
	}()
	mapfile.Guard(func() error { panic("other") })
}
