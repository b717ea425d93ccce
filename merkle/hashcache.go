package merkle

import (
	"fmt"

	"github.com/auditlog/auditlog"
	"golang.org/x/mod/sumdb/tlog"
)

// HashCache is a tlog.HashReader for proving a log's leaves in ascending
// order, as an export does: it remembers the hashes it read or was given,
// since consecutive proofs share most of them, and when full it forgets
// those that no proof of a later leaf reads, so that memory stays constant
// however long the log.
type HashCache struct {
	r tlog.HashReader
	m map[int64]tlog.Hash
	// at is the leaf proved last: the proofs to come are of it or later ones.
	at int64
	// Ahead, if not nil, is called with the leaf that completed a subtree
	// whose hash is missing, before r is asked for it: a store that can give
	// the hashes of the leaves up to it more cheaply than r one at a time
	// (by reading on in order) remembers them with RememberFrom.
	Ahead func(leaf int64) error
}

const hashCacheSize = 1 << 16

// NewHashCache returns a cache in front of r.
func NewHashCache(r tlog.HashReader) *HashCache {
	return &HashCache{r: r, m: map[int64]tlog.Hash{}}
}

// Remember adds the stored hashes that leaf seq added to the tree (its leaf
// hash, then one per subtree it completed), as stores keep them with the leaf.
func (c *HashCache) Remember(seq int64, hashes []byte) { c.RememberFrom(seq, 0, hashes) }

// RememberFrom adds the stored hashes that leaf seq added to the tree from
// level on: one per subtree it completed of that height and up.
func (c *HashCache) RememberFrom(seq int64, level int, hashes []byte) {
	c.trim()
	for ; len(hashes) >= tlog.HashSize; level++ {
		c.m[tlog.StoredHashIndex(level, (seq+1)>>level-1)] = tlog.Hash(hashes[:tlog.HashSize])
		hashes = hashes[tlog.HashSize:]
	}
}

// trim, once the cache is full, forgets the hashes that no proof of leaf
// c.at or a later one reads: those of subtrees that end before c.at, but
// for the left siblings of c.at's ancestors. If what remains still fills
// it, it starts over: later reads are then slower, never wrong.
func (c *HashCache) trim() {
	if len(c.m) < hashCacheSize {
		return
	}
	for idx := range c.m {
		level, n := tlog.SplitStoredHashIndex(idx)
		ancestor := c.at >> level // c.at's ancestor at this height
		if n >= ancestor || n == ancestor-1 && ancestor&1 == 1 {
			continue
		}
		delete(c.m, idx)
	}
	if len(c.m) >= hashCacheSize*3/4 {
		clear(c.m)
	}
}

// At returns the leaf proved last.
func (c *HashCache) At() int64 { return c.at }

// ReadHashes implements tlog.HashReader.
func (c *HashCache) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	// Each hash goes into out as soon as it is found: remembering more (by
	// Ahead, or after the read) may trim the cache of the ones found before.
	out := make([]tlog.Hash, len(indexes))
	missing := c.fill(out, indexes, nil)
	if len(missing) > 0 && c.Ahead != nil {
		for _, i := range missing {
			level, n := tlog.SplitStoredHashIndex(indexes[i])
			if err := c.Ahead((n+1)<<level - 1); err != nil {
				return nil, err
			}
		}
		missing = c.fill(out, indexes, missing)
	}
	if len(missing) == 0 {
		return out, nil
	}
	idx := make([]int64, len(missing))
	for j, i := range missing {
		idx[j] = indexes[i]
	}
	read, err := c.r.ReadHashes(idx)
	if err != nil {
		return nil, err
	}
	c.trim()
	for j, i := range missing {
		out[i] = read[j]
		c.m[idx[j]] = read[j]
	}
	return out, nil
}

// fill sets out[i] to the hash of indexes[i] for each i that the cache holds,
// of all of them or, if which is not nil, of those in which; it returns the
// positions it could not fill.
func (c *HashCache) fill(out []tlog.Hash, indexes []int64, which []int) []int {
	var missing []int
	try := func(i int) {
		if h, ok := c.m[indexes[i]]; ok {
			out[i] = h
		} else {
			missing = append(missing, i)
		}
	}
	if which == nil {
		for i := range indexes {
			try(i)
		}
	}
	for _, i := range which {
		try(i)
	}
	return missing
}

// Prove remembers the stored hashes that leaf seq added (kept with it by the
// store, leaf hash first) and returns its event, nil if retention purged it,
// with its inclusion proof in the tree of size leaves.
func (c *HashCache) Prove(size, seq int64, e *auditlog.Event, hashes []byte) (*auditlog.ProvenEvent, error) {
	if len(hashes) < tlog.HashSize {
		return nil, fmt.Errorf("event %d: its leaf hash is missing", seq)
	}
	c.at = seq
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
