package enginebench

import "crypto/sha256"

// storedHash is one hash the store keeps for an organization's Merkle tree,
// at its index in the tlog stored-hash numbering (golang.org/x/mod/sumdb/tlog).
type storedHash struct {
	index int64
	hash  [32]byte
}

// tree is the right edge of one organization's Merkle tree: the roots of its
// complete subtrees, largest first. Appending a leaf yields the hashes that
// tlog stores for it: the leaf hash and one interior hash for each subtree
// the leaf completes, 2 on average.
type tree struct {
	size  int64
	stack [][32]byte
}

func (t *tree) append(dst []storedHash, leaf [32]byte) []storedHash {
	n := t.size
	dst = append(dst, storedHash{storedHashIndex(0, n), leaf})
	h := leaf
	for level := 0; (n>>level)&1 == 1; level++ {
		h = nodeHash(t.stack[len(t.stack)-1], h)
		t.stack = t.stack[:len(t.stack)-1]
		dst = append(dst, storedHash{storedHashIndex(level+1, n>>(level+1)), h})
	}
	t.stack = append(t.stack, h)
	t.size++
	return dst
}

func nodeHash(left, right [32]byte) [32]byte {
	var b [65]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// storedHashIndex maps the tree node at (level, n) to its index in the
// sequence of stored hashes, as tlog.StoredHashIndex does.
func storedHashIndex(level int, n int64) int64 {
	for l := level; l > 0; l-- {
		n = 2*n + 1
	}
	i := int64(0)
	for ; n > 0; n >>= 1 {
		i += n
	}
	return i + int64(level)
}

// prepared is an event ready to be written: sequenced, encoded and hashed.
type prepared struct {
	ev     *event
	value  []byte
	hashes []storedHash
}

// sequencer assigns sequences and grows each organization's tree, as the
// store's single writer will.
type sequencer struct {
	trees   []tree
	scratch []byte
}

func newSequencer(orgs int) *sequencer {
	return &sequencer{trees: make([]tree, orgs)}
}

// prepare sequences, encodes and hashes a batch. Its cost is part of what the
// benchmarks time: the store pays it on every ingest.
func (s *sequencer) prepare(evs []event) []prepared {
	out := make([]prepared, len(evs))
	for i := range evs {
		e := &evs[i]
		t := &s.trees[e.org]
		e.seq = uint64(t.size)
		v := appendValue(make([]byte, 0, 384), e)
		leaf := leafHash(&s.scratch, e, v)
		out[i] = prepared{ev: e, value: v, hashes: t.append(make([]storedHash, 0, 4), leaf)}
	}
	return out
}
