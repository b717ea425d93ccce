// Package mapfile maps a file's bytes into memory, read-only, so that a
// reader of a large file (an evidence bundle of millions of events) works on
// them where the kernel's page cache holds them, instead of copying each
// byte into a buffer first.
//
// A mapping's bytes are the file's: if the file shrinks while it is mapped,
// reading past its new end faults. Mapping.Guard turns such a fault into an
// error.
package mapfile

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"unsafe"
)

// ErrNotMappable is Map's error for a file it cannot map: not a regular
// file (a pipe, a terminal), or a platform without mappings. Its reader
// reads it as a stream instead.
var ErrNotMappable = errors.New("mapfile: not a regular file that can be mapped")

// Mapping is a file's bytes, mapped read-only.
type Mapping struct {
	// Data is the file's bytes when it was mapped. It must not be written,
	// and not be used after Close.
	Data []byte
}

// Map maps the whole of f, a regular file, read-only. The mapping holds
// after f is closed, until Close.
func Map(f *os.File) (*Mapping, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, ErrNotMappable
	}
	size := info.Size()
	if size == 0 {
		// Nothing to map (mmap refuses an empty range), or a file whose
		// size says nothing of its bytes (procfs): read it as a stream.
		return nil, ErrNotMappable
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than this platform maps", ErrNotMappable, f.Name(), size)
	}
	data, err := mmap(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", f.Name(), err)
	}
	return &Mapping{Data: data}, nil
}

// Release tells the kernel that the mapping's first n bytes will not be
// read again soon: their pages leave the process's resident memory. They
// stay in the page cache, and a later read brings them back, so this is
// safe whatever still points at them. A long read calls it behind itself,
// so that its resident memory does not grow with the file.
func (m *Mapping) Release(n int) error {
	page := os.Getpagesize()
	n = min(n, len(m.Data)) / page * page
	if n == 0 {
		return nil
	}
	return release(m.Data[:n])
}

// Shrunk reports whether f, the file mapped, is now shorter than the
// mapping: bytes read from the mapping past its new end are zeros, or fault.
func (m *Mapping) Shrunk(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Size() < int64(len(m.Data))
}

// Close unmaps the file's bytes.
func (m *Mapping) Close() error {
	data := m.Data
	m.Data = nil
	if data == nil {
		return nil
	}
	return munmap(data)
}

// ErrFault is Guard's error when the mapped file shrank while it was read.
var ErrFault = errors.New("the file changed while it was read: it is shorter than when it was opened")

// Guard calls fn, which reads the mapping on this goroutine, and returns its
// error, or ErrFault if reading the mapping faulted: the file was cut short
// meanwhile (by another process, or a disk that went away). Without it such
// a fault ends the program. A fault elsewhere is a bug, and still a panic.
func (m *Mapping) Guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(interface{ Addr() uintptr }); ok && m.holds(f.Addr()) {
				err = fmt.Errorf("%w (fault at address %#x)", ErrFault, f.Addr())
				return
			}
			panic(r)
		}
	}()
	return fn()
}

// holds reports whether addr lies in the mapping's pages.
func (m *Mapping) holds(addr uintptr) bool {
	if len(m.Data) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(m.Data)))
	page := uintptr(os.Getpagesize())
	return addr >= start && addr < (start+uintptr(len(m.Data))+page-1)&^(page-1)
}
