package mapfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/auditlog/auditlog/internal/mapfile"
	"golang.org/x/sys/unix"
)

// TestGuard cuts a mapped file short and reads past its new end: Guard
// returns ErrFault where the read would have ended the program.
func TestGuard(t *testing.T) {
	page := os.Getpagesize()
	f := writeFile(t, bytes.Repeat([]byte{'x'}, 4*page))
	m, err := mapfile.Map(f)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Shrunk(f) {
		t.Fatal("Shrunk before the file was cut short")
	}
	if err := os.Truncate(f.Name(), int64(page)); err != nil {
		t.Fatal(err)
	}
	if !m.Shrunk(f) {
		t.Fatal("not Shrunk after the file was cut short")
	}
	var sum int
	err = m.Guard(func() error {
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

	// Guard returns fn's error, and passes on any other panic, a fault
	// outside the mapping among them.
	boom := errors.New("boom")
	if err := m.Guard(func() error { return boom }); err != boom {
		t.Fatalf("Guard returned %v, want fn's error", err)
	}
	other, err := unix.Mmap(-1, 0, page, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(other)
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"a panic", func() error { panic("other") }},
		{"a fault outside the mapping", func() error { sum += int(other[0]); return nil }},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: Guard recovered it", tc.name)
				}
			}()
			err := m.Guard(tc.fn)
			t.Errorf("%s: Guard returned %v", tc.name, err)
		}()
	}
}

// TestRelease_LeavesResidentMemory: a mapping read through is resident;
// released, its pages leave the process's resident memory (and read again,
// come back with the same bytes).
func TestRelease_LeavesResidentMemory(t *testing.T) {
	page := os.Getpagesize()
	want := bytes.Repeat([]byte{'y'}, 64*page)
	m, err := mapfile.Map(writeFile(t, want))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sum := 0
	for i := 0; i < len(m.Data); i += page {
		sum += int(m.Data[i])
	}
	if sum != 64*'y' {
		t.Fatalf("read %d", sum)
	}
	if rss := residentKB(t, m.Data); rss < 64*page/1024 {
		t.Fatalf("read through, %d KB of the mapping resident, want %d", rss, 64*page/1024)
	}
	if err := m.Release(len(m.Data)); err != nil {
		t.Fatal(err)
	}
	if rss := residentKB(t, m.Data); rss != 0 {
		t.Fatalf("released, %d KB of the mapping still resident", rss)
	}
	if !bytes.Equal(m.Data, want) {
		t.Fatal("released, the mapping reads otherwise")
	}
}

// residentKB returns the resident memory of the mapping that starts at
// data, from /proc/self/smaps.
func residentKB(t *testing.T, data []byte) int {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(unsafe.SliceData(data))))
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = strings.HasPrefix(line, start)
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("no mapping at %s in /proc/self/smaps", start)
	return 0
}
