package merkle

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// guarded returns a read-only copy of b that ends where an inaccessible
// page begins, so that a verifier that writes to a bundle's bytes, or reads
// one past their end, faults instead of passing unseen.
func guarded(tb testing.TB, b []byte) []byte {
	tb.Helper()
	page := os.Getpagesize()
	n := (len(b) + page - 1) / page * page
	mem, err := unix.Mmap(-1, 0, n+page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Munmap(mem) })
	copy(mem[n-len(b):], b)
	if n > 0 {
		if err := unix.Mprotect(mem[:n], unix.PROT_READ); err != nil {
			tb.Fatal(err)
		}
	}
	if err := unix.Mprotect(mem[n:], unix.PROT_NONE); err != nil {
		tb.Fatal(err)
	}
	return mem[n-len(b) : n : n]
}
