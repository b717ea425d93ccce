package merkle

import (
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// countingReader is a tlog.HashReader that counts the hashes read from it.
type countingReader struct {
	r tlog.HashReader
	n int
}

func (c *countingReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	c.n += len(indexes)
	return c.r.ReadHashes(indexes)
}

func TestHashCache_ProvesEveryLeafInOrder(t *testing.T) {
	// An export proves every leaf in order, as a store gives them: each
	// leaf's stored hashes one leaf ahead. Every proof must be tlog's, the
	// cache must stay within its bound, and with Ahead (the hashes of the
	// leaves ahead, read in order) almost nothing is read point by point.
	const n = 150_001 // odd: a lone leaf at the tree's right edge
	tr := newTestTree(t, n)
	stored := func(i int64) []byte { // the hashes leaf i added, leaf hash first
		var b []byte
		for _, h := range tr.hashes[tlog.StoredHashIndex(0, i):tlog.StoredHashIndex(0, i+1)] {
			b = append(b, h[:]...)
		}
		return b
	}
	for _, tc := range []struct {
		name     string
		ahead    bool
		maxReads int
	}{
		{"point reads", false, n/2 + 50}, // the subtrees ahead, each once
		{"reading ahead", true, n / 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads := &countingReader{r: tr.hashes}
			c := NewHashCache(reads)
			next := int64(0) // with Ahead: the next leaf whose hashes it gives
			if tc.ahead {
				c.Ahead = func(leaf int64) error {
					for ; next <= leaf && next < n && leaf < c.At()+8192; next++ {
						c.RememberFrom(next, 1, stored(next)[tlog.HashSize:])
					}
					return nil
				}
			}
			for i := int64(0); i < n; i++ {
				if i+1 < n {
					c.Remember(i+1, stored(i+1))
				}
				pe, err := c.Prove(n, i, nil, stored(i))
				if err != nil {
					t.Fatal(err)
				}
				want, err := tlog.ProveRecord(n, i, tr.hashes)
				if err != nil {
					t.Fatal(err)
				}
				if len(pe.Proof) != len(want) {
					t.Fatalf("leaf %d: proof of %d hashes, want %d", i, len(pe.Proof), len(want))
				}
				for k := range want {
					if pe.Proof[k] != want[k] {
						t.Fatalf("leaf %d: proof hash %d differs", i, k)
					}
				}
				if len(c.m) > hashCacheSize {
					t.Fatalf("leaf %d: the cache holds %d hashes, more than its bound %d", i, len(c.m), hashCacheSize)
				}
			}
			t.Logf("%d hashes read point by point for %d proofs", reads.n, n)
			if reads.n > tc.maxReads {
				t.Errorf("%d hashes read point by point, want at most %d", reads.n, tc.maxReads)
			}
		})
	}
}

func TestHashCache_FullOfHashesAhead(t *testing.T) {
	// A cache full of hashes still ahead cannot be trimmed, only started
	// over, here in the middle of a read: the proof must still be right,
	// with the hashes the read had found before the cache was cleared.
	const n = 70_000
	tr := newTestTree(t, n)
	c := NewHashCache(tr.hashes)
	for i := int64(1); len(c.m) < hashCacheSize-1; i++ { // leaf hashes ahead, leaf 1's among them
		c.m[tlog.StoredHashIndex(0, i)] = tr.hashes[tlog.StoredHashIndex(0, i)]
	}
	pe, err := c.Prove(n, 0, nil, tr.hashes[tlog.StoredHashIndex(0, 0)][:]) // fills it
	if err != nil {
		t.Fatal(err)
	}
	want, err := tlog.ProveRecord(n, 0, tr.hashes)
	if err != nil {
		t.Fatal(err)
	}
	for k := range want {
		if pe.Proof[k] != want[k] {
			t.Fatalf("proof hash %d is %x, want %x", k, pe.Proof[k][:4], want[k][:4])
		}
	}
}
