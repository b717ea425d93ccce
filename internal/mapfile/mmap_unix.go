//go:build unix

package mapfile

import (
	"os"

	"golang.org/x/sys/unix"
)

func mmap(f *os.File, size int) ([]byte, error) {
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	// A mapped file is read once, from start to end: ask for readahead.
	// It is advice only; its failure changes nothing.
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL)
	return data, nil
}

func munmap(data []byte) error { return unix.Munmap(data) }

func release(data []byte) error { return unix.Madvise(data, unix.MADV_DONTNEED) }
