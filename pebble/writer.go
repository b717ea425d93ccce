package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/groupcommit"
	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// An appendOp is one AppendEvents call waiting for the writer: its events are
// validated and encoded; the writer assigns sequences and commits.
type appendOp struct {
	orgs   []uint32 // internal org id of each event
	events []auditlog.Event
	values [][]byte   // encoded values (codec.go), without key
	fresh  []bool     // the id was made by the server just now: no need to look it up
	leaves [][32]byte // nil without the tree (benchmarks)
	words  [][]uint64 // the hashes of each event's search words (eventWords), for the word index
}

// writer writes events on one goroutine. Concurrent AppendEvents calls
// queue for it and share one durable commit (group commit, see package
// groupcommit): it takes every op that is waiting, up to MaxCommitEvents
// events, assigns their sequences, and commits them with one fsync.
type writer struct {
	db *DB
	q  *groupcommit.Queue[*appendOp, *auditlog.AppendResult]

	// Owned by the queue's goroutine.
	next      map[uint32]int64     // next sequence of each org seen so far
	frontiers map[uint32]*frontier // right edge of each org's tree, as committed
}

func newWriter(db *DB) *writer {
	w := &writer{db: db, next: map[uint32]int64{}, frontiers: map[uint32]*frontier{}}
	w.q = groupcommit.New(db.MaxCommitEvents, func(op *appendOp) int { return len(op.events) }, errClosed, w.commit)
	return w
}

var errClosed = auditlog.Errorf(auditlog.EUNAVAILABLE, "the store is shutting down")

// submit queues op and waits for its commit. If ctx ends first the op may still
// be committed: the caller learns nothing, and a retry with the same ids is safe.
func (w *writer) submit(ctx context.Context, op *appendOp) (*auditlog.AppendResult, error) {
	return w.q.Submit(ctx, op)
}

func (w *writer) closed() bool { return w.q.Closed() }

// close stops taking ops, commits every op already queued, and waits for the goroutine.
func (w *writer) close() { w.q.Close() }

// commit writes a group of ops in one synced batch.
func (w *writer) commit(group []*appendOp) ([]*auditlog.AppendResult, error) {
	// Refused while the disk is short of space (diskspace.go): the ops
	// queued before it ran short fail with 503 rather than wait.
	if err := w.db.disk.check(); err != nil {
		return nil, err
	}
	start := time.Now()
	defer w.db.metrics.ObserveCommit(len(group), start)
	return w.write(group)
}

type idRef struct {
	org uint32
	id  string
}

type actorRef struct {
	org   uint32
	email string
}

type actionRef struct {
	org  uint32
	code int
}

func (w *writer) write(group []*appendOp) (results []*auditlog.AppendResult, err error) {
	b := w.db.db.NewBatch()
	defer b.Close()

	// Sequences handed out in this group, restored if the commit fails.
	saved := map[uint32]int64{}
	refs := map[uint32]auditlog.OrgRef{} // the organizations that grew, for DB.Committed
	defer func() {
		if err != nil {
			for org, next := range saved {
				w.next[org] = next
			}
		}
	}()
	pending := map[idRef]int64{}
	hashes := &pendingHashes{w: w, fr: map[uint32]*frontier{}}
	var words []wordFeed // for the word index, once committed
	var sets groupSets
	actors := map[actorRef][]posting{}   // the actor index's postings (postings.go)
	actions := map[actionRef][]posting{} // the action index's

	results = make([]*auditlog.AppendResult, len(group))
	for gi, op := range group {
		res := &auditlog.AppendResult{Events: make([]auditlog.Appended, len(op.events))}
		for i := range op.events {
			e, org := &op.events[i], op.orgs[i]
			var seq int64
			if !op.fresh[i] {
				var dup bool
				if seq, dup, err = w.lookupID(org, e.ID, pending); err != nil {
					return nil, err
				}
				if dup {
					res.Duplicates++
					res.Events[i] = auditlog.Appended{ID: e.ID, Sequence: seq}
					continue
				}
			}
			next, err := w.nextSeq(org)
			if err != nil {
				return nil, err
			}
			if _, ok := saved[org]; !ok {
				saved[org] = next
				refs[org] = e.Organization
			}
			seq = next
			w.next[org] = next + 1
			pending[idRef{org, e.ID}] = seq

			ts := e.Timestamp.UnixMilli()
			seqValue := appendU64(make([]byte, 0, 8+2*tlog.HashSize), uint64(ts))
			if !w.db.noTree {
				if seqValue, err = hashes.add(seqValue, org, seq, tlog.Hash(op.leaves[i])); err != nil {
					return nil, err
				}
			}
			code, _ := auditlog.ActionCode(e.Action)
			sets.add(famEvent, eventKey(org, ts, seq), op.values[i])
			sets.add(famSeq, seqKey(org, seq), seqValue)
			sets.add(famID, idKey(org, e.ID), appendUvarint(nil, uint64(seq)))
			actors[actorRef{org, e.Actor.Email}] = append(actors[actorRef{org, e.Actor.Email}], posting{ts, seq})
			actions[actionRef{org, code}] = append(actions[actionRef{org, code}], posting{ts, seq})
			if op.words != nil {
				words = append(words, wordFeed{org: org, seq: seq, ts: ts, words: op.words[i]})
			}
			res.Accepted++
			res.Events[i] = auditlog.Appended{ID: e.ID, Sequence: seq}
		}
		results[gi] = res
	}
	for a, list := range actors {
		appendPostings(&sets, famActor, actorPrefix(a.org, a.email), list)
	}
	for a, list := range actions {
		appendPostings(&sets, famAction, actionPrefix(a.org, a.code), list)
	}
	if sets.empty() {
		return results, nil
	}
	sets.apply(b)
	if err := b.Commit(pebble.Sync); err != nil {
		w.db.Logger.Error("commit events failed", "err", err, "events", b.Count())
		return nil, auditlog.Errorf(auditlog.EUNAVAILABLE, "storage is unavailable; nothing of this batch was stored")
	}
	hashes.committed()
	w.db.words.feed(words)
	for org := range saved {
		w.db.signer.grew(org, w.next[org])
		if w.db.Committed != nil {
			w.db.Committed(refs[org], w.next[org])
		}
	}
	return results, nil
}

// The key families an event writes, in key order.
const (
	famEvent  = iota // E
	famID            // I
	famSeq           // S
	famActor         // a
	famAction        // x
	families
)

// groupSets gathers the keys a group writes, by family, so that the batch
// holds them in key order: the memtable inserts each key next to the one
// before instead of searching its skiplist from the top (interleaved, one
// key of each family per event, the inserts took a fifth of the CPU of a
// sustained ingest).
type groupSets [families][]keyValue

type keyValue struct{ k, v []byte }

func (g *groupSets) add(family int, k, v []byte) { g[family] = append(g[family], keyValue{k, v}) }

func (g *groupSets) empty() bool {
	for _, f := range g {
		if len(f) > 0 {
			return false
		}
	}
	return true
}

// apply sets every key in b, in key order.
func (g *groupSets) apply(b *pebble.Batch) {
	for _, f := range g {
		slices.SortFunc(f, func(x, y keyValue) int { return bytes.Compare(x.k, y.k) })
		for _, kv := range f {
			_ = b.Set(kv.k, kv.v, nil)
		}
	}
}

// lookupID tells whether an event id was stored before, in the store or
// earlier in this group, and under which sequence.
func (w *writer) lookupID(org uint32, id string, pending map[idRef]int64) (int64, bool, error) {
	if seq, ok := pending[idRef{org, id}]; ok {
		return seq, true, nil
	}
	v, err := w.db.get(idKey(org, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, fmt.Errorf("look up event id: %w", err)
	}
	seq, n := uvarint(v)
	if n <= 0 {
		return 0, false, fmt.Errorf("corrupt id index entry for org %d", org)
	}
	return int64(seq), true, nil
}

// nextSeq returns the next sequence of org, reading the last one from the
// sequence index the first time an org is seen.
func (w *writer) nextSeq(org uint32) (int64, error) {
	if next, ok := w.next[org]; ok {
		return next, nil
	}
	it, err := w.db.db.NewIter(&pebble.IterOptions{LowerBound: seqKey(org, 0), UpperBound: seqKey(org, math.MaxInt64)})
	if err != nil {
		return 0, err
	}
	var next int64
	if it.Last() {
		_, seq := parseSeqKey(it.Key())
		next = seq + 1
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, err
	}
	w.next[org] = next
	return next, nil
}

// frontier is the right edge of an organization's tree: for each set bit l
// of its size, the hash of the complete subtree at level l to the left of the
// next leaf. It is exactly what appending the next leaf reads, so keeping it
// in memory spares the writer a lookup per event.
type frontier struct {
	size int64
	h    [64]tlog.Hash
}

// loadFrontier reads the frontier of org's tree of size leaves from the store.
func (db *DB) loadFrontier(org uint32, size int64) (*frontier, error) {
	f := &frontier{size: size}
	for l := 0; l < 63; l++ {
		if (size>>l)&1 == 1 {
			h, err := db.readHash(org, auditlog.OrgRef{}, tlog.StoredHashIndex(l, (size>>l)-1))
			if err != nil {
				return nil, err
			}
			f.h[l] = h
		}
	}
	return f, nil
}

func (f *frontier) read(idx int64) (tlog.Hash, bool) {
	level, n := tlog.SplitStoredHashIndex(idx)
	if level < 63 && (f.size>>level)&1 == 1 && n == (f.size>>level)-1 {
		return f.h[level], true
	}
	return tlog.Hash{}, false
}

// appended records that hs are the stored hashes of leaf f.size.
func (f *frontier) appended(hs []tlog.Hash) {
	k := len(hs) - 1 // the new complete subtree's level
	f.h[k] = hs[k]
	f.size++
}

// maxFrontiers bounds the frontiers the writer keeps (about 2 KiB each).
const maxFrontiers = 1 << 16

// pendingHashes computes the tlog stored hashes of one group's new leaves,
// from the organizations' frontiers.
type pendingHashes struct {
	w   *writer
	fr  map[uint32]*frontier // this group's frontiers; the writer's become these after the commit
	cur *frontier
}

// add appends to dst the stored hashes that leaf seq of org adds to its tree.
func (p *pendingHashes) add(dst []byte, org uint32, seq int64, leaf tlog.Hash) ([]byte, error) {
	f, ok := p.fr[org]
	if !ok {
		if c, ok := p.w.frontiers[org]; ok && c.size == seq {
			cp := *c
			f = &cp
		} else {
			var err error
			if f, err = p.w.db.loadFrontier(org, seq); err != nil {
				return nil, err
			}
		}
		p.fr[org] = f
	}
	if f.size != seq {
		return nil, fmt.Errorf("merkle tree of organization %d has %d leaves, appending %d", org, f.size, seq)
	}
	p.cur = f
	hs, err := tlog.StoredHashesForRecordHash(seq, leaf, p)
	if err != nil {
		return nil, fmt.Errorf("merkle hashes of %d/%d: %w", org, seq, err)
	}
	dst = appendStoredHashes(dst, hs) // seqvalue.go
	f.appended(hs)
	return dst, nil
}

// ReadHashes implements tlog.HashReader over the current frontier.
func (p *pendingHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		h, ok := p.cur.read(idx)
		if !ok {
			return nil, fmt.Errorf("stored hash %d is not on the tree's frontier", idx)
		}
		out[i] = h
	}
	return out, nil
}

// committed makes the group's frontiers the writer's.
func (p *pendingHashes) committed() {
	if len(p.w.frontiers)+len(p.fr) > maxFrontiers {
		clear(p.w.frontiers)
	}
	for org, f := range p.fr {
		p.w.frontiers[org] = f
	}
}
