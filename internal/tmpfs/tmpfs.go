// Package tmpfs mounts small tmpfs file systems for tests that need a disk
// that fills up: the real ENOSPC of a real file system, not a fake one.
package tmpfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// MustMount mounts a tmpfs of size (such as "48m") in a new temp directory
// and unmounts it when tb ends. It needs root: without it the test is
// skipped, except in CI (CI=true), where it fails.
func MustMount(tb testing.TB, size string) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			tb.Fatal("this test mounts a tmpfs: it needs root (CI=true)")
		}
		tb.Skip("this test mounts a tmpfs: it needs root")
	}
	dir := tb.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		tb.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			tb.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// MustFill writes the file dir/filler until the file system is full, and
// returns its name.
func MustFill(tb testing.TB, dir string) string {
	tb.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				tb.Fatal(err)
			}
			return name
		}
	}
}
