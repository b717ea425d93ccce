package merkle

import (
	"fmt"

	"github.com/auditlog/auditlog"
	"golang.org/x/mod/sumdb/tlog"
)

// HashCache is a tlog.HashReader that remembers the hashes it read or was
// given, up to a bound, after which it starts over: consecutive proofs share
// most of their hashes, and memory stays constant however long an export.
type HashCache struct {
	r tlog.HashReader
	m map[int64]tlog.Hash
}

const hashCacheSize = 1 << 16

// NewHashCache returns a cache in front of r.
func NewHashCache(r tlog.HashReader) *HashCache {
	return &HashCache{r: r, m: map[int64]tlog.Hash{}}
}

// Remember adds the stored hashes that leaf seq added to the tree (its leaf
// hash, then one per subtree it completed), as stores keep them with the leaf.
func (c *HashCache) Remember(seq int64, hashes []byte) {
	if len(c.m)+64 > hashCacheSize {
		clear(c.m)
	}
	for level := 0; len(hashes) >= tlog.HashSize; level++ {
		c.m[tlog.StoredHashIndex(level, (seq+1)>>level-1)] = tlog.Hash(hashes[:tlog.HashSize])
		hashes = hashes[tlog.HashSize:]
	}
}

// ReadHashes implements tlog.HashReader.
func (c *HashCache) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	var missing []int64
	for _, idx := range indexes {
		if _, ok := c.m[idx]; !ok {
			missing = append(missing, idx)
		}
	}
	if len(missing) > 0 {
		read, err := c.r.ReadHashes(missing)
		if err != nil {
			return nil, err
		}
		if len(c.m)+len(read) > hashCacheSize {
			keep := make(map[int64]tlog.Hash, len(indexes))
			for _, idx := range indexes {
				if h, ok := c.m[idx]; ok {
					keep[idx] = h
				}
			}
			c.m = keep
		}
		for j, idx := range missing {
			c.m[idx] = read[j]
		}
	}
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		out[i] = c.m[idx]
	}
	return out, nil
}

// Prove remembers the stored hashes that leaf seq added (kept with it by the
// store, leaf hash first) and returns its event, nil if retention purged it,
// with its inclusion proof in the tree of size leaves.
func (c *HashCache) Prove(size, seq int64, e *auditlog.Event, hashes []byte) (*auditlog.ProvenEvent, error) {
	if len(hashes) < tlog.HashSize {
		return nil, fmt.Errorf("event %d: its leaf hash is missing", seq)
	}
	c.Remember(seq, hashes)
	p, err := tlog.ProveRecord(size, seq, c)
	if err != nil {
		return nil, fmt.Errorf("prove event %d in the tree of %d: %w", seq, size, err)
	}
	pe := &auditlog.ProvenEvent{Event: e, Sequence: seq, LeafHash: [32]byte(hashes[:tlog.HashSize]), Proof: make([][32]byte, len(p))}
	for i := range p {
		pe.Proof[i] = p[i]
	}
	return pe, nil
}
