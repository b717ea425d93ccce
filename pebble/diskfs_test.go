package pebble

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/tmpfs"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestWaitFS writes to a full tmpfs through waitFS: a write that meets
// ENOSPC, after part of it fitted, waits (saying so once in the log, and
// making the store not ready) until space is freed, then writes the rest,
// so the file holds exactly what was written; once released (the store
// closes), a waiting write fails with ENOSPC.
func TestWaitFS(t *testing.T) {
	mnt := tmpfs.MustMount(t, "4m")
	var logs bytes.Buffer
	fs := newWaitFS(vfs.Default, slog.New(slog.NewTextHandler(&logs, nil)))
	f, err := fs.Create(filepath.Join(mnt, "000001.log"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	filler := tmpfs.MustFill(t, mnt)
	if err := os.Truncate(filler, fileSize(t, filler)-64<<10); err != nil { // 64 KiB fit
		t.Fatal(err)
	}

	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	done := make(chan error, 1)
	go func() {
		n, err := f.Write(data)
		if err == nil && n != len(data) {
			err = errors.New("short write without an error")
		}
		done <- err
	}()
	mustWait(t, fs)
	select {
	case err := <-done:
		t.Fatalf("the write returned on a full disk: %v", err)
	default:
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := fs.waitingErr(); err != nil {
		t.Fatalf("no write waits, yet: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(mnt, "000001.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("the file holds %d bytes, not the %d written", len(got), len(data))
	}
	if n := strings.Count(logs.String(), "no space left on device"); n != 1 {
		t.Fatalf("the log says %d times that the disk is full, want once:\n%s", n, &logs)
	}
	if !strings.Contains(logs.String(), "disk space is back") {
		t.Fatalf("the log does not say the space is back:\n%s", &logs)
	}

	tmpfs.MustFill(t, mnt)
	go func() {
		_, err := f.Write(data)
		done <- err
	}()
	mustWait(t, fs)
	fs.release()
	if err := <-done; !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a waiting write after release: %v, want ENOSPC", err)
	}
}

// mustWait waits until a write waits for space.
func mustWait(tb testing.TB, fs *waitFS) {
	tb.Helper()
	for i := 0; fs.waitingErr() == nil; i++ {
		if i == 1000 {
			tb.Fatal("no write waits for space after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fileSize(tb testing.TB, name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}
