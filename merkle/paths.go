package merkle

import (
	"errors"
	"math/bits"

	"github.com/auditlog/auditlog/internal/sha256mb"
)

// inclusionPaths checks the inclusion proofs of a bundle's lines, taken in
// ascending leaf order against one checkpoint, sharing the work between them.
//
// An inclusion proof is the chain of a leaf's ancestors (RFC 6962 §2.1.1):
// each step hashes the node reached so far with the proof's next hash, its
// sibling, up to the root. The chains of two leaves meet at their lowest
// common ancestor and are the same above it. So once one line's chain has
// reached the signed root, the next line's is hashed only up to where the two
// meet, and there compared with the verified one: the node it reached must be
// the hash the verified proof gave as its sibling there, the sibling it gives
// must be the node the verified chain reached, and the rest of its proof must
// be, text for text, the rest of the verified proof. Then its chain reaches
// the same root. Consecutive leaves meet one level up on average, so a
// complete bundle costs about one node hash per event, where checking each
// proof alone (proof.VerifyInclusion) costs log2 of the tree's size.
//
// Lines are added, hashed and checked in three passes, so that many lines'
// nodes are hashed together (sha256mb): all the first-level nodes of the
// lines added, then the second-level ones, and so on. Adding a line needs
// only the layout and the proof's text of the one before, which is where
// the shared part of the proofs is compared; checking it, the one before's
// hashes.
//
// The steps are those of proof.RootFromInclusionProof (transparency-dev/merkle):
// an inner part, where step k hashes with the sibling at level k, then a
// border part of left siblings along the tree's right edge. The tests hold
// this to proof.VerifyInclusion's verdict for every leaf of every tree up to
// a few hundred leaves, with every proof hash altered in turn.
type inclusionPaths struct {
	size uint64
	root [32]byte
	// prev is the last verified line's chain, nil before the first. The
	// chains added since, in order, wait in queue[head:] for their hashes
	// and a check.
	prev  *chain
	queue []*chain
	head  int
	free  []*chain
	nodes sha256mb.Batch
	// The verified chain's hashes, counted from the root down, where the
	// chains that follow it find them: the node at depth d (the root at 0)
	// and, below the root, that node's sibling. A chain that meets the
	// verified one at depth d shares its hashes above d, so checking it
	// writes only those from d down, and no chain keeps a copy of the
	// part it shares. (In a tree of up to 2^64 leaves, a path has at most
	// 64 steps.)
	verifiedNodes, verifiedSibs [65][32]byte
}

// chain is one leaf's path to the root, as far as the chain before it does
// not already hold it.
type chain struct {
	leaf uint64
	n    int // the steps to the root: the proof's length
	// steps are the steps up to and including meet (all n if meet is n,
	// the first chain's). Below step meet the chain differs from the one
	// before it; at step meet the two reach the same node, the lowest that
	// holds both leaves, each from the other's sibling, at depth n-meet.
	steps []step
	meet  int
	// sibs[k] is the proof's k-th hash, decoded, and nodes[k] the hash of
	// steps[k].node, for each step up to meet (nodes[meet] after hash).
	// Above, they are the verified chain's, whose text add found this
	// proof to repeat.
	sibs  [][32]byte
	nodes [][32]byte
	// proof is the text of the proof's elements, `"<base64>","<base64>",...`,
	// each proofElem bytes long with its separating comma. It is the
	// caller's memory until detach copies it to own.
	proof, own []byte
}

// step is one hash up a chain: node, which holds the leaf, with its sibling.
type step struct{ node, sib span }

// span is the leaves [lo, hi) below a node: it names the node, and its hash
// is the Merkle tree hash of those leaves.
type span struct{ lo, hi uint64 }

// parent is the node a step reaches.
func (s step) parent() span { return span{min(s.node.lo, s.sib.lo), max(s.node.hi, s.sib.hi)} }

// proofElem is the length of one proof element's text, `"<44 base64 characters>",`.
const proofElem = 47

var errNotInLog = errors.New("not in the signed log")

func newInclusionPaths(size int64, root [32]byte) *inclusionPaths {
	return &inclusionPaths{size: uint64(size), root: root}
}

// layout sets c.steps to the path from leaf i to the root of a tree of size
// n. If below is not zero it stops after the first step whose parent holds a
// leaf before below, and reports whether it did.
func (c *chain) layout(i, n, below uint64) bool {
	c.leaf = i
	c.steps = c.steps[:0]
	node := span{i, i + 1}
	add := func(sib span) bool {
		c.steps = append(c.steps, step{node, sib})
		node = c.steps[len(c.steps)-1].parent()
		return node.lo < below
	}
	inner := bits.Len64(i ^ (n - 1))
	for l := 0; l < inner; l++ {
		sib := span{node.lo - 1<<l, node.lo}
		if (i>>l)&1 == 0 {
			sib = span{node.hi, min(node.hi+1<<l, n)} // a right sibling, cut at the tree's right edge
		}
		if add(sib) {
			return true
		}
	}
	// node now ends at the tree's right edge; above it, only left siblings.
	for l := inner; l < 64 && i>>l != 0; l++ {
		if (i>>l)&1 == 1 && add(span{node.lo - 1<<l, node.lo}) {
			return true
		}
	}
	return false
}

// proofLen returns the number of hashes in the inclusion proof of leaf i in
// a tree of size n: len(steps) after layout(i, n).
func proofLen(i, n uint64) int {
	inner := bits.Len64(i ^ (n - 1))
	return inner + bits.OnesCount64(i>>inner)
}

// detach gives the verified chain its own copy of its proof's text, which
// until then is the caller's (a bundle's read buffer, about to be reused).
// The queue must be empty.
func (v *inclusionPaths) detach() {
	if p := v.prev; p != nil {
		p.own = append(p.own[:0], p.proof...)
		p.proof = p.own
	}
}

// elem returns the base64 text of the chain's k-th proof hash.
func (c *chain) elem(k int) []byte { return c.proof[k*proofElem+1 : k*proofElem+45] }

// from returns the text of the chain's proof hashes from the k-th on.
func (c *chain) from(k int) []byte { return c.proof[min(k*proofElem, len(c.proof)):] }

// add queues the proof of leaf i, whose hash the caller then puts in
// c.nodes[0]. Leaves must come in ascending order. The proof's memory must
// hold until the line is checked and, after it, until the next check, or
// detach. It fails, queueing nothing, on a proof that cannot be the one of
// leaf i, or whose text differs from the one queued before it where the two
// must be the same: then one of the two is wrong, and the caller checks the
// lines queued before, which names the earlier if it is.
func (v *inclusionPaths) add(i uint64, proof []byte) (*chain, error) {
	q := v.prev // the chain before this one
	if len(v.queue) > v.head {
		q = v.queue[len(v.queue)-1]
	}
	if i >= v.size || q != nil && i <= q.leaf {
		return nil, errNotInLog
	}
	var c *chain
	if n := len(v.free); n > 0 {
		c, v.free = v.free[n-1], v.free[:n-1]
	} else {
		c = new(chain)
	}
	n := proofLen(i, v.size)
	if len(proof) != max(n*proofElem-1, 0) {
		v.free = append(v.free, c)
		return nil, errNotInLog
	}
	c.proof = proof // until detach

	// meet is the step below which the chain differs from the one before.
	// Both reach there the lowest node that holds both leaves, at one
	// depth: at step meet here, step t there. Above it the two chains are
	// the same: the path from that node to the root.
	c.n, c.meet = n, n
	t := 0
	if q != nil && c.layout(i, v.size, q.leaf+1) {
		c.meet = len(c.steps) - 1
		t = q.n - (n - c.meet)
	} else {
		c.layout(i, v.size, 0)
	}
	// Above meet, the proof must be, text for text, the one before's above
	// t, whose elements are checked (or, queued, will be before this one);
	// the elements up to meet are checked here, and decoded.
	m := min(c.meet+1, n)
	if !wellFormedProof(proof, m) || c.meet < n && string(c.from(c.meet+1)) != string(q.from(t+1)) {
		v.free = append(v.free, c)
		return nil, errNotInLog
	}
	c.sibs = c.sibs[:0]
	for k := range m {
		var sib [32]byte
		if !decodeBase64(sib[:], c.elem(k)) {
			v.free = append(v.free, c)
			return nil, errNotInLog
		}
		c.sibs = append(c.sibs, sib)
	}
	v.queue = append(v.queue, c)
	return c, nil
}

// hash computes the nodes of every queued chain up to where it meets the
// chain before it, all chains' nodes of one level in one batch.
func (v *inclusionPaths) hash() {
	b := &v.nodes
	for k := 0; ; k++ {
		b.Reset()
		for _, c := range v.queue[v.head:] {
			if k >= c.meet {
				continue
			}
			// RFC 6962 §2.1: a node's hash is SHA-256(0x01 || left || right).
			b.Buf = append(b.Buf, 1)
			if st := c.steps[k]; st.sib.lo < st.node.lo {
				b.Buf = append(append(b.Buf, c.sibs[k][:]...), c.nodes[k][:]...)
			} else {
				b.Buf = append(append(b.Buf, c.nodes[k][:]...), c.sibs[k][:]...)
			}
			b.End()
		}
		if b.Len() == 0 {
			return
		}
		b.Sum()
		j := 0
		for _, c := range v.queue[v.head:] {
			if k < c.meet {
				c.nodes = append(c.nodes, b.Hash(j))
				j++
			}
		}
	}
}

// check checks the first queued chain, after hash: that it reaches the
// signed root. On failure it empties the queue, leaving the verifier as it
// was before the first queued line.
func (v *inclusionPaths) check() error {
	c := v.queue[v.head]
	d := c.n - c.meet // the depth of the node where it meets the verified chain
	h := c.nodes[c.meet]
	if c.meet == c.n {
		if h != v.root {
			return v.drop()
		}
	} else if v.verifiedSibs[d] != h || c.sibs[c.meet] != v.verifiedNodes[d] {
		// Where the chains meet, this line's node must be the verified
		// line's sibling, and this line's sibling its node; above, they
		// are one (add compared the proofs' text there).
		return v.drop()
	}
	for k, h := range c.nodes {
		v.verifiedNodes[c.n-k] = h
	}
	for k, s := range c.sibs {
		v.verifiedSibs[c.n-k] = s
	}
	if v.prev != nil {
		v.free = append(v.free, v.prev)
	}
	v.prev = c
	if v.head++; v.head == len(v.queue) {
		v.queue, v.head = v.queue[:0], 0
	}
	return nil
}

// drop empties the queue and returns errNotInLog.
func (v *inclusionPaths) drop() error {
	v.free = append(v.free, v.queue[v.head:]...)
	v.queue, v.head = v.queue[:0], 0
	return errNotInLog
}

// wellFormedProof reports whether the first m of proof's elements are
// quoted strings of 44 characters followed by a comma, or, the last, by
// nothing. Their characters are checked where they are decoded or compared.
func wellFormedProof(proof []byte, m int) bool {
	for k := range m {
		at := k * proofElem
		if proof[at] != '"' || proof[at+45] != '"' || at+46 < len(proof) && proof[at+46] != ',' {
			return false
		}
	}
	return true
}
