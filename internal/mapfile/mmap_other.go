//go:build !unix

package mapfile

import "os"

func mmap(*os.File, int) ([]byte, error) { return nil, ErrNotMappable }

func munmap([]byte) error { return nil }

func release([]byte) error { return nil }
