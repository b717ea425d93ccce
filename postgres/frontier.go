package postgres

import (
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// frontier is the right edge of an organization's tree: for each set bit l
// of its size, the hash of the complete subtree at level l to the left of
// the next leaf. It is exactly what appending the next leaf reads, and what
// the tree's root is made of. The log_heads row keeps it with the size.
type frontier struct {
	size int64
	h    [64]tlog.Hash
}

// parseFrontier reads a stored frontier: the hashes of the set bits of size, lowest level first.
func parseFrontier(size int64, b []byte) (*frontier, error) {
	if size < 0 || len(b) != bits.OnesCount64(uint64(size))*tlog.HashSize {
		return nil, fmt.Errorf("frontier of %d bytes for a tree of %d leaves", len(b), size)
	}
	f := &frontier{size: size}
	for l := 0; l < 63; l++ {
		if (size>>l)&1 == 1 {
			copy(f.h[l][:], b)
			b = b[tlog.HashSize:]
		}
	}
	return f, nil
}

// bytes is the stored form of f.
func (f *frontier) bytes() []byte {
	b := make([]byte, 0, bits.OnesCount64(uint64(f.size))*tlog.HashSize)
	for l := 0; l < 63; l++ {
		if (f.size>>l)&1 == 1 {
			b = append(b, f.h[l][:]...)
		}
	}
	return b
}

// append adds leaf f.size and returns the tlog stored hashes it adds to the
// tree: its leaf hash, then the hash of each subtree it completes.
func (f *frontier) append(leaf tlog.Hash) ([]byte, error) {
	hs, err := tlog.StoredHashesForRecordHash(f.size, leaf, f)
	if err != nil {
		return nil, err
	}
	k := len(hs) - 1 // the level of the complete subtree the leaf ends
	f.h[k] = hs[k]
	f.size++
	out := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		out = append(out, h[:]...)
	}
	return out, nil
}

// ReadHashes implements tlog.HashReader over the frontier, for append.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, n := tlog.SplitStoredHashIndex(idx)
		if level >= 63 || (f.size>>level)&1 == 0 || n != (f.size>>level)-1 {
			return nil, fmt.Errorf("stored hash %d is not on the tree's frontier", idx)
		}
		out[i] = f.h[level]
	}
	return out, nil
}

// root is the tree's root hash (RFC 6962): the complete subtrees of the
// frontier, from the largest on the left, each the left child of what
// follows it.
func (f *frontier) root() tlog.Hash {
	if f.size == 0 {
		return tlog.Hash{} // not signed: checkpoints are for trees of one leaf or more
	}
	var r tlog.Hash
	first := true
	for l := 0; l < 63; l++ {
		if (f.size>>l)&1 == 0 {
			continue
		}
		if first {
			r, first = f.h[l], false
		} else {
			r = tlog.NodeHash(f.h[l], r)
		}
	}
	return r
}
