package merkle

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/auditlog/auditlog"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/tlog"
)

// LogAuditor audits one organization's log as a store keeps it: fed the
// leaves in sequence order, it rebuilds the tree, checks the tree hashes
// the store kept for each leaf and every signed checkpoint as the tree
// reaches its size, and accepts an event without content only where a
// signed purge note covers it. Both stores' audits (verify --data and
// --postgres) are built on it.
type LogAuditor struct {
	checkpoints []*Checkpoint // verified, by size
	purges      []SeqRange    // from verified purge notes
	rng         *compact.Range
	next        int // the next checkpoint to compare

	Events int64 // leaves checked, purged ones included
	Purged int64 // leaves of events whose content retention purged
}

// AuditProblem is what a LogAuditor found wrong; Sequence is -1 when the
// problem is not about one event.
type AuditProblem struct {
	Sequence int64
	Problem  string
}

func problem(seq int64, format string, args ...any) *AuditProblem {
	return &AuditProblem{Sequence: seq, Problem: fmt.Sprintf(format, args...)}
}

// NewLogAuditor returns an auditor of a log with these verified checkpoints
// (in ascending size) and purge ranges.
func NewLogAuditor(checkpoints []*Checkpoint, purges []SeqRange) *LogAuditor {
	rf := compact.RangeFactory{Hash: hashChildren}
	return &LogAuditor{checkpoints: checkpoints, purges: purges, rng: rf.NewEmptyRange(0)}
}

// hashChildren is rfc6962.DefaultHasher.HashChildren with one allocation
// instead of three: an audit hashes about one node per event.
func hashChildren(left, right []byte) []byte {
	h := tlog.NodeHash(tlog.Hash(left), tlog.Hash(right))
	return h[:]
}

// Size is the number of leaves added so far: the sequence the next must have.
func (a *LogAuditor) Size() int64 { return int64(a.rng.End()) }

// Add checks the next leaf: seq is its sequence, e its event (nil when
// retention purged it) and recorded the tree hashes the store kept for it
// (its leaf hash, then one per subtree it completed).
func (a *LogAuditor) Add(seq int64, e *auditlog.Event, recorded []byte) *AuditProblem {
	return a.AddHashed(seq, e, nil, recorded)
}

// AddHashed is Add for a caller that has already recomputed e's leaf hash
// from e, leaf, so that it is not computed twice; nil computes it.
func (a *LogAuditor) AddHashed(seq int64, e *auditlog.Event, leafHash *[32]byte, recorded []byte) *AuditProblem {
	if seq != a.Size() {
		return problem(a.Size(), "missing: the log jumps from event %d to %d", a.Size()-1, seq)
	}
	var leaf [32]byte
	switch {
	case e == nil:
		// Its content is gone; its stored leaf hash stands in, if retention signed its purge.
		if !Covered(a.purges, seq) {
			return problem(seq, "missing: its content is gone and no signed purge note covers it")
		}
		if len(recorded) < 32 {
			return problem(seq, "its stored leaf hash is missing")
		}
		leaf = [32]byte(recorded[:32])
		a.Purged++
	case e.Erased() && !showsRedacted(e):
		// The leaf holds only the personal hash of an erased event: nothing commits to these values.
		return problem(seq, "it is erased, yet its actor email, IP address or user agent reads other than %q", auditlog.Redacted)
	case leafHash != nil:
		leaf = *leafHash
	default:
		h, err := e.LeafHash()
		if err != nil {
			return problem(seq, "%v", err)
		}
		leaf = h
	}
	// Appending leaf n completes exactly the nodes whose stored hashes leaf n
	// added, in that order: each must be there and equal.
	var found *AuditProblem
	visit := func(id compact.NodeID, hash []byte) {
		switch {
		case found != nil:
		case len(recorded) < len(hash) && id.Level == 0:
			found = problem(int64(id.Index), "its stored leaf hash is missing")
		case len(recorded) < len(hash):
			found = problem(-1, "stored tree hash at level %d, index %d is missing", id.Level, id.Index)
		case !bytes.Equal(recorded[:len(hash)], hash) && id.Level == 0:
			found = problem(int64(id.Index), "its content differs from what was logged (the recomputed leaf hash does not match the stored one)")
		case !bytes.Equal(recorded[:len(hash)], hash):
			found = problem(-1, "stored tree hash at level %d, index %d differs from the one recomputed from the events", id.Level, id.Index)
		default:
			recorded = recorded[len(hash):]
		}
	}
	if err := a.rng.Append(leaf[:], visit); err != nil {
		return problem(seq, "%v", err)
	}
	if found != nil {
		return found
	}
	if len(recorded) != 0 {
		return problem(seq, "the store holds %d bytes of tree hashes for it that its leaf did not add", len(recorded))
	}
	a.Events++
	for a.next < len(a.checkpoints) && a.checkpoints[a.next].Size == a.Size() {
		root, err := a.rng.GetRootHash(nil)
		if err != nil {
			return problem(-1, "%v", err)
		}
		if size := a.checkpoints[a.next].Size; !bytes.Equal(root, a.checkpoints[a.next].Root[:]) {
			return problem(-1, "the tree of the first %d events does not match its signed checkpoint: an event before %d was changed, removed or added", size, size)
		}
		a.next++
	}
	return nil
}

// End checks the log after its last leaf: every checkpoint was reached, and
// every leaf is covered by one.
func (a *LogAuditor) End() *AuditProblem {
	end := a.Size()
	if a.next < len(a.checkpoints) {
		return problem(end, "missing: the signed checkpoint of size %d covers events the store no longer has", a.checkpoints[a.next].Size)
	}
	// Events no checkpoint covers are not proven: a server signs them within
	// a second, and on a clean shutdown, so they are left by a crash (start
	// the server once to sign them) or were added, or their checkpoints removed, beside it.
	signed := int64(0)
	if n := len(a.checkpoints); n > 0 {
		signed = a.checkpoints[n-1].Size
	}
	if end > signed {
		return problem(signed, "events %d to %d are not covered by any signed checkpoint: if the server crashed, start it once to sign them; otherwise they or their checkpoints were tampered with", signed, end-1)
	}
	return nil
}

// showsRedacted reports whether an erased event shows only "redacted" (or
// empty) personal values: nothing commits to them.
func showsRedacted(e *auditlog.Event) bool {
	ok := func(v string) bool { return v == auditlog.Redacted || v == "" }
	return e.Actor.Email == auditlog.Redacted && ok(e.IPAddress) && ok(e.UserAgent)
}

// Covered reports whether seq lies in one of the ranges, ordered by First.
func Covered(ranges []SeqRange, seq int64) bool {
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i].Last >= seq })
	for ; i < len(ranges) && ranges[i].First <= seq; i++ {
		if seq <= ranges[i].Last {
			return true
		}
	}
	return false
}
