package prefetch_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/prefetch"
)

// TestRange asks for ranges of every alignment and length around a cache
// line, and for none: a prefetch reads nothing and changes nothing.
func TestRange(t *testing.T) {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i)
	}
	prefetch.Range(nil)
	prefetch.Range(b[:0])
	for from := range 130 {
		for n := range 200 {
			prefetch.Range(b[from : from+n])
		}
	}
	prefetch.Range(b)
	for i := range b {
		if b[i] != byte(i) {
			t.Fatalf("byte %d changed", i)
		}
	}
}
