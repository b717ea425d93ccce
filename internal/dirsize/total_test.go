package dirsize_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/auditlog/auditlog/internal/dirsize"
)

func TestTotal(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"a.log": 10000, "sub/b.sst": 20000, "c": 1} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := dirsize.Total(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Allocated blocks: at least the bytes written, at most a few blocks more per file.
	if got < 30001 || got > 30001+3*64<<10 {
		t.Errorf("Total = %d, want about 30,001", got)
	}
	if _, err := dirsize.Total(filepath.Join(dir, "missing")); err == nil {
		t.Error("Total of a missing directory: no error")
	}
}
