package pebble

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// waitFS makes Pebble's writes wait for disk space instead of failing.
//
// Pebble v2 cannot go on after some write errors: a failed write of the
// write-ahead log or of the MANIFEST ends in Logger.Fatalf ("fatal commit
// error", "MANIFEST write failed"), because it cannot tell what reached the
// disk, and a failed flush is retried at once, in a loop, with no backoff.
// So on ENOSPC a write here waits, trying again every spaceRetry, until it
// fits: the commit that wrote it is acknowledged only once it is written and
// synced, nothing is lost, and the store goes on by itself when space comes
// back. Writes are stopped before the disk fills by the free-space reserve
// (diskspace.go); this is the net under it, for what the reserve did not
// foresee (another process filling the disk). Other errors, and every error
// of a sync, go through: after a failed fsync the kernel may have dropped the
// dirty pages, so a retry would lie; Pebble stops the process then, and a
// restart recovers from the log (PostgreSQL does the same).
type waitFS struct {
	vfs.FS
	logger *slog.Logger

	mu      sync.Mutex
	waiting int           // writes waiting for space now
	closed  chan struct{} // closed by release: waits end with their error
	once    sync.Once
}

// spaceRetry is how often a write waiting for space tries again.
const spaceRetry = 250 * time.Millisecond

func newWaitFS(fs vfs.FS, logger *slog.Logger) *waitFS {
	return &waitFS{FS: fs, logger: logger, closed: make(chan struct{})}
}

// release ends every wait, now and later: the database is closing.
func (fs *waitFS) release() { fs.once.Do(func() { close(fs.closed) }) }

// retry runs op until it does not fail with ENOSPC, or the FS is released.
func (fs *waitFS) retry(what, name string, op func() error) error {
	err := op()
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	fs.mu.Lock()
	fs.waiting++
	if fs.waiting == 1 {
		fs.logger.Error("no space left on device: the store's writes wait until space is freed", "op", what, "file", name)
	}
	fs.mu.Unlock()
	defer func() {
		fs.mu.Lock()
		fs.waiting--
		if fs.waiting == 0 && err == nil {
			fs.logger.Info("disk space is back: the store's writes go on")
		}
		fs.mu.Unlock()
	}()
	t := time.NewTicker(spaceRetry)
	defer t.Stop()
	for errors.Is(err, syscall.ENOSPC) {
		select {
		case <-fs.closed:
			return err
		case <-t.C:
		}
		err = op()
	}
	return err
}

// waitingErr is an EUNAVAILABLE error (wrapping errDiskFull) while some
// write waits for space, else nil.
func (fs *waitFS) waitingErr() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.waiting > 0 {
		return fmt.Errorf("%w: %w", errDiskFull, errDiskFullAPI)
	}
	return nil
}

func (fs *waitFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	var f vfs.File
	err := fs.retry("create", name, func() (err error) {
		f, err = fs.FS.Create(name, category)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &waitFile{File: f, fs: fs, name: name}, nil
}

func (fs *waitFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	if err != nil {
		return nil, err
	}
	return &waitFile{File: f, fs: fs, name: newname}, nil
}

func (fs *waitFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, category, opts...)
	if err != nil {
		return nil, err
	}
	return &waitFile{File: f, fs: fs, name: name}, nil
}

func (fs *waitFS) Unwrap() vfs.FS { return fs.FS }

// waitFile is a file whose writes wait for space (see waitFS).
type waitFile struct {
	vfs.File
	fs   *waitFS
	name string
}

// Write writes all of p: a short write's rest is written when space allows,
// after the part that was written (the file's offset moved past it).
func (f *waitFile) Write(p []byte) (int, error) {
	written := 0
	err := f.fs.retry("write", f.name, func() error {
		n, err := f.File.Write(p[written:])
		written += n
		return err
	})
	return written, err
}

func (f *waitFile) WriteAt(p []byte, off int64) (int, error) {
	written := 0
	err := f.fs.retry("write", f.name, func() error {
		n, err := f.File.WriteAt(p[written:], off+int64(written))
		written += n
		return err
	})
	return written, err
}
