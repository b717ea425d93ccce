package merkle

import (
	"crypto/sha256"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
)

func TestHashChildren_IsRFC6962(t *testing.T) {
	l, r := sha256.Sum256([]byte("left")), sha256.Sum256([]byte("right"))
	if got, want := hashChildren(l[:], r[:]), rfc6962.DefaultHasher.HashChildren(l[:], r[:]); string(got) != string(want) {
		t.Fatalf("hashChildren = %x, want %x", got, want)
	}
}
