package mapfile_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

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
