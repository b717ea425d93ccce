package merkle

import (
	"encoding/base64"
	"errors"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
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
// The steps are those of proof.RootFromInclusionProof (transparency-dev/merkle):
// an inner part, where step k hashes with the sibling at level k, then a
// border part of left siblings along the tree's right edge. The tests hold
// this to proof.VerifyInclusion's verdict for every leaf of every tree up to
// a few hundred leaves, with every proof hash altered in turn.
type inclusionPaths struct {
	size uint64
	root [32]byte
	// prev is the last verified line's chain, when have; cur is scratch.
	// They point into chains, and swap.
	prev, cur *chain
	chains    [2]chain
	have      bool
}

// chain is one leaf's path to the root.
type chain struct {
	leaf  uint64
	steps []step
	// nodes[k] is the hash of steps[k].node; nodes[len(steps)] is the root's.
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

// strictBase64 accepts only the canonical spelling of each value (Strict
// copies the encoding, so it is made once).
var strictBase64 = base64.StdEncoding.Strict()

func newInclusionPaths(size int64, root [32]byte) *inclusionPaths {
	v := &inclusionPaths{size: uint64(size), root: root}
	v.prev, v.cur = &v.chains[0], &v.chains[1]
	return v
}

// layout sets c.steps to the path from leaf i to the root of a tree of size n.
func (c *chain) layout(i, n uint64) {
	c.leaf = i
	c.steps = c.steps[:0]
	node := span{i, i + 1}
	inner := bits.Len64(i ^ (n - 1))
	for l := 0; l < inner; l++ {
		var sib span
		if (i>>l)&1 == 0 {
			sib = span{node.hi, min(node.hi+1<<l, n)} // a right sibling, cut at the tree's right edge
		} else {
			sib = span{node.lo - 1<<l, node.lo}
		}
		c.steps = append(c.steps, step{node, sib})
		node = c.steps[len(c.steps)-1].parent()
	}
	// node now ends at the tree's right edge; above it, only left siblings.
	for l := inner; l < 64 && i>>l != 0; l++ {
		if (i>>l)&1 == 1 {
			c.steps = append(c.steps, step{node, span{node.lo - 1<<l, node.lo}})
			node = c.steps[len(c.steps)-1].parent()
		}
	}
}

// proofLen returns the number of hashes in the inclusion proof of leaf i in
// a tree of size n: len(steps) after layout(i, n).
func proofLen(i, n uint64) int {
	inner := bits.Len64(i ^ (n - 1))
	return inner + bits.OnesCount64(i>>inner)
}

// detach gives the verified chain its own copy of its proof's text, which
// until then is the caller's (a bundle's read buffer, about to be reused).
func (v *inclusionPaths) detach() {
	p := v.prev
	p.own = append(p.own[:0], p.proof...)
	p.proof = p.own
}

// elem returns the base64 text of the chain's k-th proof hash.
func (c *chain) elem(k int) []byte { return c.proof[k*proofElem+1 : k*proofElem+45] }

// from returns the text of the chain's proof hashes from the k-th on.
func (c *chain) from(k int) []byte { return c.proof[min(k*proofElem, len(c.proof)):] }

// verify checks that leaf i, with hash leaf, is in the tree by its proof, the
// text of a JSON array's elements. Leaves must come in ascending order. The
// proof's memory must hold until the next verify, or detach.
func (v *inclusionPaths) verify(i uint64, leaf [32]byte, proof []byte) error {
	if i >= v.size || v.have && i <= v.prev.leaf {
		return errNotInLog
	}
	c := v.cur
	c.layout(i, v.size)
	n := len(c.steps)
	if !wellFormedProof(proof, n) {
		return errNotInLog
	}
	c.proof = proof // until detach

	// meet is the step below which the chain differs from the verified one,
	// which at it holds the same node as prev.steps[t].
	meet, t := n, 0
	if v.have {
		for s := range n {
			if c.steps[s].parent().lo <= v.prev.leaf {
				meet = s
				break
			}
		}
		for t = 0; t < len(v.prev.steps) && v.prev.steps[t].parent() != c.steps[meet].parent(); t++ {
		}
		if t == len(v.prev.steps) || len(v.prev.steps)-t != n-meet {
			meet = n // cannot happen in one tree; check the whole chain
		}
	}

	c.nodes = append(c.nodes[:0], leaf)
	h := leaf
	for k := range meet {
		var sib [33]byte // 44 characters can hold 33 bytes: padding replaced by a letter
		if m, err := strictBase64.Decode(sib[:], c.elem(k)); err != nil || m != 32 {
			return errNotInLog
		}
		if st := c.steps[k]; st.sib.lo < st.node.lo {
			h = tlog.NodeHash(tlog.Hash(sib[:32]), h)
		} else {
			h = tlog.NodeHash(h, tlog.Hash(sib[:32]))
		}
		c.nodes = append(c.nodes, h)
	}
	if meet == n {
		if h != v.root {
			return errNotInLog
		}
	} else {
		// Here the chains meet: this line's node is the verified line's
		// sibling, this line's sibling its node, and above they are one.
		p := v.prev
		var enc [44]byte
		base64.StdEncoding.Encode(enc[:], h[:])
		if string(enc[:]) != string(p.elem(t)) {
			return errNotInLog
		}
		base64.StdEncoding.Encode(enc[:], p.nodes[t][:])
		if string(enc[:]) != string(c.elem(meet)) {
			return errNotInLog
		}
		if string(c.from(meet+1)) != string(p.from(t+1)) {
			return errNotInLog
		}
		c.nodes = append(c.nodes, p.nodes[t+1:]...)
	}
	v.prev, v.cur = v.cur, v.prev
	v.have = true
	return nil
}

// wellFormedProof reports whether proof is the text of n proof elements:
// quoted strings of 44 characters separated by commas. Their characters are
// checked where they are decoded or compared.
func wellFormedProof(proof []byte, n int) bool {
	if n == 0 {
		return len(proof) == 0
	}
	if len(proof) != n*proofElem-1 {
		return false
	}
	for k := range n {
		at := k * proofElem
		if proof[at] != '"' || proof[at+45] != '"' || k < n-1 && proof[at+46] != ',' {
			return false
		}
	}
	return true
}
