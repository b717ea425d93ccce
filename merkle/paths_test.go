package merkle

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// testTree is a tree of n leaves built with tlog, with its leaves' proofs.
type testTree struct {
	leaves []tlog.Hash
	hashes memHashes
	root   tlog.Hash
}

type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		out[i] = m[idx]
	}
	return out, nil
}

func newTestTree(tb testing.TB, n int) *testTree {
	tb.Helper()
	t := &testTree{}
	for i := range n {
		leaf := tlog.Hash(sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i))))
		hs, err := tlog.StoredHashesForRecordHash(int64(i), leaf, t.hashes)
		if err != nil {
			tb.Fatal(err)
		}
		t.leaves = append(t.leaves, leaf)
		t.hashes = append(t.hashes, hs...)
	}
	root, err := tlog.TreeHash(int64(n), t.hashes)
	if err != nil {
		tb.Fatal(err)
	}
	t.root = root
	return t
}

func (t *testTree) proof(tb testing.TB, i int) [][]byte {
	tb.Helper()
	p, err := tlog.ProveRecord(int64(len(t.leaves)), int64(i), t.hashes)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][]byte, len(p))
	for k := range p {
		out[k] = append([]byte(nil), p[k][:]...)
	}
	return out
}

// proofText is the text AppendBundleLine writes between a proof's brackets.
func proofText(p [][]byte) []byte {
	var b []byte
	for k, h := range p {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendBase64(b, h)
	}
	return b
}

// agree checks one line with both inclusionPaths and proof.VerifyInclusion:
// they must give the same verdict, and it returns it.
func agree(tb testing.TB, v *inclusionPaths, tr *testTree, i int, leaf tlog.Hash, p [][]byte, text []byte) bool {
	tb.Helper()
	want := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(len(tr.leaves)), leaf[:], p, tr.root[:]) == nil
	got := v.verify(uint64(i), leaf, text) == nil
	if got != want {
		tb.Fatalf("tree of %d, leaf %d (after leaf %d): inclusionPaths says %v, proof.VerifyInclusion %v", len(tr.leaves), i, v.prev.leaf, got, want)
	}
	return got
}

// TestInclusionPaths_AgreesWithVerifyInclusion takes every leaf of trees of
// every size up to 130 and some larger, in order and as random ascending
// subsets, and alters each proof hash, the leaf, and the proof's length in
// turn before giving the true line: both verifiers must agree each time.
func TestInclusionPaths_AgreesWithVerifyInclusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	sizes := []int{1023, 1024, 1025, 4097}
	for n := 1; n <= 130; n++ {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		tr := newTestTree(t, n)
		for _, every := range []int{1, 2, 7} { // consecutive leaves, then subsets
			v := newInclusionPaths(int64(n), tr.root)
			for i := 0; i < n; i++ {
				if every > 1 && rng.IntN(every) != 0 && i != n-1 {
					continue
				}
				p := tr.proof(t, i)
				if n <= 130 || rng.IntN(50) == 0 {
					for k := range p { // each proof hash altered
						alt := clone(p)
						alt[k][rng.IntN(32)] ^= 1 << rng.IntN(8)
						if agree(t, v, tr, i, tr.leaves[i], alt, proofText(alt)) {
							t.Fatalf("tree of %d, leaf %d: accepted proof hash %d altered", n, i, k)
						}
					}
					other := tr.leaves[(i+1)%n]
					if n > 1 && agree(t, v, tr, i, other, p, proofText(p)) {
						t.Fatalf("tree of %d, leaf %d: accepted another leaf", n, i)
					}
					if len(p) > 0 && agree(t, v, tr, i, tr.leaves[i], p[:len(p)-1], proofText(p[:len(p)-1])) {
						t.Fatalf("tree of %d, leaf %d: accepted a shortened proof", n, i)
					}
					longer := append(clone(p), tr.root[:])
					if agree(t, v, tr, i, tr.leaves[i], longer, proofText(longer)) {
						t.Fatalf("tree of %d, leaf %d: accepted a lengthened proof", n, i)
					}
				}
				if !agree(t, v, tr, i, tr.leaves[i], p, proofText(p)) {
					t.Fatalf("tree of %d: rejected leaf %d", n, i)
				}
			}
		}
	}
}

// TestInclusionPaths_Text checks what only the text can get wrong: base64
// that decodes to the same hash in a non-canonical spelling, a malformed
// array, and leaves out of order.
func TestInclusionPaths_Text(t *testing.T) {
	tr := newTestTree(t, 8)
	v := newInclusionPaths(8, tr.root)
	for i := range 4 {
		if err := v.verify(uint64(i), tr.leaves[i], proofText(tr.proof(t, i))); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
	}
	good := proofText(tr.proof(t, 4))
	for name, text := range map[string][]byte{
		"non-canonical last character": respell(good, 0),
		"non-canonical, shared hash":   respell(good, 2),
		"no comma":                     append(append([]byte(nil), good[:46]...), append([]byte{' '}, good[47:]...)...),
		"unquoted":                     append([]byte{'x'}, good[1:]...),
		"empty":                        nil,
	} {
		if err := v.verify(4, tr.leaves[4], text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := v.verify(3, tr.leaves[3], proofText(tr.proof(t, 3))); err == nil {
		t.Error("accepted a leaf again")
	}
	if err := v.verify(8, tr.leaves[3], proofText(tr.proof(t, 3))); err == nil {
		t.Error("accepted a leaf beyond the tree")
	}
	if err := v.verify(4, tr.leaves[4], good); err != nil {
		t.Fatalf("leaf 4 after the failures: %v", err)
	}
}

// respell changes the k-th element's last base64 character so that it
// decodes (without Strict) to the same hash: the padding bits differ.
func respell(text []byte, k int) []byte {
	out := append([]byte(nil), text...)
	at := k*proofElem + 43 // the last character before "="
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	idx := 0
	for idx < 64 && alphabet[idx] != out[at] {
		idx++
	}
	out[at] = alphabet[idx^1]
	if _, err := base64.StdEncoding.DecodeString(string(out[k*proofElem+1 : k*proofElem+45])); err != nil {
		panic(err)
	}
	return out
}

func clone(p [][]byte) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = append([]byte(nil), p[i]...)
	}
	return out
}

// TestInclusionPaths_Queued queues many lines before hashing them together,
// as a bundle's batches do, some with an altered leaf or proof hash, and
// checks them in order: each verdict must be proof.VerifyInclusion's, and
// after a failure the lines still queued are dropped and queued again. A
// line whose proof's text add refuses, as it differs from the one queued
// before it, must fail proof.VerifyInclusion unless a line queued before it
// fails its check.
func TestInclusionPaths_Queued(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	for _, n := range []int{1, 2, 3, 17, 64, 100, 1025, 5000} {
		tr := newTestTree(t, n)
		v := newInclusionPaths(int64(n), tr.root)
		type line struct {
			i    int
			leaf tlog.Hash
			p    [][]byte
		}
		verdict := func(l line) bool {
			return proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(l.i), uint64(n), l.leaf[:], l.p, tr.root[:]) == nil
		}
		// redo verifies line i unaltered, after a failure.
		redo := func(i int) {
			if err := v.verify(uint64(i), tr.leaves[i], proofText(tr.proof(t, i))); err != nil {
				t.Fatalf("tree of %d, leaf %d after a failure: %v", n, i, err)
			}
		}
		next := 0
		for next < n {
			var queued []line
			var refused *line
			for k := rng.IntN(40) + 1; k > 0 && next < n; k-- {
				l := line{i: next, leaf: tr.leaves[next], p: tr.proof(t, next)}
				switch rng.IntN(30) {
				case 0:
					l.leaf[rng.IntN(32)] ^= 1
				case 1:
					if len(l.p) > 0 {
						l.p = clone(l.p)
						l.p[rng.IntN(len(l.p))][rng.IntN(32)] ^= 1
					}
				}
				c, err := v.add(uint64(l.i), proofText(l.p))
				if err != nil {
					refused = &l
					break
				}
				c.nodes = append(c.nodes[:0], l.leaf)
				queued = append(queued, l)
				next++
			}
			v.hash()
			failed := false
			for _, l := range queued {
				want := verdict(l)
				if got := v.check() == nil; got != want {
					t.Fatalf("tree of %d, leaf %d queued with %d others: check says %v, proof.VerifyInclusion %v", n, l.i, len(queued)-1, got, want)
				}
				if !want { // the rest of the queue is dropped: go on with this line unaltered
					redo(l.i)
					next, failed = l.i+1, true
					break
				}
			}
			if refused != nil && !failed {
				if verdict(*refused) {
					t.Fatalf("tree of %d, leaf %d: add refused a proof that proof.VerifyInclusion accepts", n, refused.i)
				}
				redo(refused.i)
				next = refused.i + 1
			}
		}
	}
}

// verify checks that leaf i, with hash leaf, is in the tree by its proof, the
// text of a JSON array's elements: add, hash and check for one line. A line
// that fails leaves the verifier as it was.
func (v *inclusionPaths) verify(i uint64, leaf [32]byte, proof []byte) error {
	c, err := v.add(i, proof)
	if err != nil {
		return err
	}
	c.nodes = append(c.nodes[:0], leaf)
	v.hash()
	return v.check()
}
