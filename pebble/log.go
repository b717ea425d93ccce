package pebble

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

var _ auditlog.LogService = (*DB)(nil)

var errNoCheckpoint = auditlog.Errorf(auditlog.ENOTFOUND, "no checkpoint has been signed for this organization yet")

// LatestCheckpoint returns the organization's newest signed checkpoint.
func (db *DB) LatestCheckpoint(ctx context.Context, ref auditlog.OrgRef) ([]byte, int64, error) {
	org, err := db.orgID(ref)
	if err != nil {
		return nil, 0, err
	}
	return db.latestCheckpoint(org)
}

func (db *DB) latestCheckpoint(org uint32) ([]byte, int64, error) {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: checkpointKey(org, 0), UpperBound: orgPrefixEnd(prefixCheckpt, org)})
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return nil, 0, err
		}
		return nil, 0, errNoCheckpoint
	}
	_, size := parseSeqKey(it.Key())
	return append([]byte(nil), it.Value()...), size, nil
}

// checkpointAt returns the signed checkpoint of the given size; 0 means the latest.
func (db *DB) checkpointAt(org uint32, size int64) ([]byte, int64, error) {
	if size == 0 {
		return db.latestCheckpoint(org)
	}
	v, err := db.get(checkpointKey(org, size))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, 0, auditlog.Errorf(auditlog.ENOTFOUND, "no checkpoint of tree size %d was signed", size)
	}
	return v, size, err
}

// ProveInclusion proves event seq in the tree of a signed checkpoint.
func (db *DB) ProveInclusion(ctx context.Context, ref auditlog.OrgRef, seq, size int64) (*auditlog.InclusionProof, error) {
	org, err := db.orgID(ref)
	if err != nil {
		return nil, err
	}
	note, size, err := db.checkpointAt(org, size)
	if err != nil {
		return nil, err
	}
	if seq < 0 || seq >= size {
		return nil, auditlog.Errorf(auditlog.ENOTFOUND, "event %d is not in the tree of size %d", seq, size)
	}
	r := hashReader{db, org, ref}
	leaf, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
	if err != nil {
		return nil, err
	}
	p, err := tlog.ProveRecord(size, seq, r)
	if err != nil {
		return nil, fmt.Errorf("prove %s/%d in %d: %w", ref, seq, size, err)
	}
	return &auditlog.InclusionProof{Sequence: seq, TreeSize: size, LeafHash: leaf[0][:], Proof: merkle.ProofBytes(p), Checkpoint: string(note)}, nil
}

// ProveConsistency proves two signed checkpoints consistent.
func (db *DB) ProveConsistency(ctx context.Context, ref auditlog.OrgRef, from, to int64) (*auditlog.ConsistencyProof, error) {
	org, err := db.orgID(ref)
	if err != nil {
		return nil, err
	}
	toNote, to, err := db.checkpointAt(org, to)
	if err != nil {
		return nil, err
	}
	if from <= 0 || from > to {
		return nil, auditlog.Errorf(auditlog.EINVALID, "from must be between 1 and to (%d)", to)
	}
	fromNote, _, err := db.checkpointAt(org, from)
	if err != nil {
		return nil, err
	}
	p, err := tlog.ProveTree(to, from, hashReader{db, org, ref})
	if err != nil {
		return nil, fmt.Errorf("prove %s %d..%d: %w", ref, from, to, err)
	}
	return &auditlog.ConsistencyProof{From: from, To: to, Proof: merkle.ProofBytes(p), FromCheckpoint: string(fromNote), ToCheckpoint: string(toNote)}, nil
}

// LogEvents yields the events below size, ascending, with proofs; those
// purged by retention without their content.
func (db *DB) LogEvents(ctx context.Context, ref auditlog.OrgRef, size int64) iter.Seq2[*auditlog.ProvenEvent, error] {
	return func(yield func(*auditlog.ProvenEvent, error) bool) {
		org, err := db.orgID(ref)
		if err != nil {
			yield(nil, err)
			return
		}
		// Consecutive proofs share most of their hashes: keep the recent ones.
		// The proof of an even leaf holds the next leaf's hash, which the
		// store recomputes from its event: read one record ahead, so that
		// it is computed once, from the event at hand. The hashes of the
		// subtrees further ahead are read in order by a second iterator.
		r := merkle.NewHashCache(hashReader{db, org, ref})
		ahead, err := db.newHashesAhead(org, size, r)
		if err != nil {
			yield(nil, err)
			return
		}
		defer ahead.close()
		r.Ahead = ahead.readTo
		var (
			prev       logRecord
			prevHashes []byte
		)
		prove := func(rec logRecord, hashes []byte) bool {
			pe, err := r.Prove(size, rec.seq, rec.Event, hashes)
			if err != nil {
				yield(nil, fmt.Errorf("%s: %w", ref, err))
				return false
			}
			return yield(pe, nil)
		}
		for rec, err := range db.eventsBySequence(ctx, org, ref, 0, size) {
			if err != nil {
				yield(nil, err)
				return
			}
			hashes, err := rec.treeHashes()
			if err != nil {
				yield(nil, fmt.Errorf("event %s/%d: %w", ref, rec.seq, err))
				return
			}
			r.Remember(rec.seq, hashes)
			if prevHashes != nil && !prove(prev, prevHashes) {
				return
			}
			prev, prevHashes = rec, hashes
		}
		if prevHashes != nil {
			prove(prev, prevHashes)
		}
	}
}

// hashesAhead gives a HashCache the stored hashes of the subtrees that the
// leaves just ahead of those being proved complete, by reading their
// sequence keys in order: a complete export's proofs need about one such
// hash per leaf, and a point read of each costs many times more. Those far
// ahead, few and each read once, are left to point reads.
type hashesAhead struct {
	it   *pebble.Iterator
	org  uint32
	c    *merkle.HashCache
	next int64 // the leaf whose sequence key the iterator is at; -1 before the first read
}

// hashesWindow is how far ahead of the leaf being proved hashesAhead reads.
const hashesWindow = 8192

func (db *DB) newHashesAhead(org uint32, size int64, c *merkle.HashCache) (*hashesAhead, error) {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: seqKey(org, 0), UpperBound: seqKey(org, size)})
	if err != nil {
		return nil, err
	}
	return &hashesAhead{it: it, org: org, c: c, next: -1}, nil
}

// readTo remembers the stored hashes of levels 1 and up of the leaves up to
// leaf, if leaf is ahead of those read so far and within hashesWindow of the
// leaf being proved.
func (a *hashesAhead) readTo(leaf int64) error {
	at := a.c.At()
	if leaf < a.next || leaf >= at+hashesWindow {
		return nil
	}
	valid := a.it.Valid()
	if from := max(at, 0); a.next < from { // behind the proofs: skip to them
		valid = a.it.SeekGE(seqKey(a.org, from))
	}
	for ; valid; valid = a.it.Next() {
		_, seq := parseSeqKey(a.it.Key())
		a.next = seq
		if seq > leaf {
			return nil
		}
		if v, ok := parseSeqValue(a.it.Value()); ok && len(v.upper) > 0 {
			a.c.RememberFrom(seq, 1, v.upper)
		}
	}
	a.next = math.MaxInt64 // the log's end
	return a.it.Error()
}

func (a *hashesAhead) close() { _ = a.it.Close() }

// logRecord is one event of the log with its sequence key's value (a
// copy). An event purged by retention has no Event: only its sequence and
// tree hashes remain.
type logRecord struct {
	*auditlog.Event
	seq int64
	sv  seqValue
}

// treeHashes returns the stored hashes the record's leaf added to the tree,
// leaf hash first: for a stored event, its leaf hash is recomputed and
// checked against the stored leading bytes (errLeafMissing, errLeafDiffers).
func (rec logRecord) treeHashes() ([]byte, error) {
	leaf, err := rec.sv.leafHash(rec.Event)
	if err != nil {
		return nil, err
	}
	return rec.sv.treeHashes(leaf), nil
}

// eventsBySequence yields an organization's events with sequences in [from,
// to), ascending; an event purged by retention as a record without Event.
func (db *DB) eventsBySequence(ctx context.Context, org uint32, ref auditlog.OrgRef, from, to int64) iter.Seq2[logRecord, error] {
	return db.eventsBySequenceWhere(ctx, org, ref, from, to, nil)
}

// seqChunk is how many sequences eventsBySequenceWhere reads in key order at once.
const seqChunk = 512

// eventsBySequenceWhere is eventsBySequence that skips, without decoding
// them, the events whose encoded value keep rejects.
//
// Events are keyed by (timestamp, sequence), and timestamps need not follow
// sequences (concurrent hosts, clocks apart): read one by one in sequence
// order, each event could cost a seek into another data block. So the
// sequences are taken seqChunk at a time and their events read in key
// order, each block of the table once, then yielded in sequence order.
func (db *DB) eventsBySequenceWhere(ctx context.Context, org uint32, ref auditlog.OrgRef, from, to int64, keep func(value []byte) bool) iter.Seq2[logRecord, error] {
	return func(yield func(logRecord, error) bool) {
		if to <= 0 {
			to = math.MaxInt64
		}
		it, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: seqKey(org, from), UpperBound: seqKey(org, to)})
		if err != nil {
			yield(logRecord{}, err)
			return
		}
		defer it.Close()
		ev, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: eventKey(org, 0, 0), UpperBound: orgPrefixEnd(prefixEvent, org)})
		if err != nil {
			yield(logRecord{}, err)
			return
		}
		defer func() {
			db.eventBlockBytes.Add(int64(ev.Stats().InternalStats.BlockBytes))
			ev.Close()
		}()
		type slot struct {
			rec  logRecord
			skip bool  // rejected by keep
			err  error // reading it: yielded in its place, last
		}
		chunk := make([]slot, 0, seqChunk)
		order := make([]int, 0, seqChunk)
		for valid := it.First(); valid; {
			if err := ctx.Err(); err != nil {
				yield(logRecord{}, err)
				return
			}
			chunk, order = chunk[:0], order[:0]
			for ; valid && len(chunk) < seqChunk; valid = it.Next() {
				_, seq := parseSeqKey(it.Key())
				sv, ok := parseSeqValue(bytes.Clone(it.Value()))
				if !ok {
					chunk = append(chunk, slot{err: fmt.Errorf("event %s/%d: corrupt sequence index", ref, seq)})
					valid = false
					break
				}
				if !sv.purged {
					order = append(order, len(chunk))
				}
				chunk = append(chunk, slot{rec: logRecord{seq: seq, sv: sv}})
			}
			if err := it.Error(); err != nil {
				chunk = append(chunk, slot{err: err})
			}
			slices.SortFunc(order, func(a, b int) int {
				x, y := &chunk[a].rec, &chunk[b].rec
				if c := cmp.Compare(x.sv.ts, y.sv.ts); c != 0 {
					return c
				}
				return cmp.Compare(x.seq, y.seq)
			})
			for _, i := range order {
				s := &chunk[i]
				want := eventKey(org, s.rec.sv.ts, s.rec.seq)
				// Keys in order: the next event is mostly the next key or near it.
				if !(ev.Valid() && ev.Next() && bytes.Equal(ev.Key(), want)) && !(ev.SeekGE(want) && bytes.Equal(ev.Key(), want)) {
					if s.err = ev.Error(); s.err == nil {
						s.err = fmt.Errorf("event %s/%d is missing", ref, s.rec.seq)
					}
					continue
				}
				v := ev.Value()
				if keep != nil && !keep(v) {
					s.skip = true
					continue
				}
				e := &auditlog.Event{Organization: ref}
				if err := decodeEvent(e, s.rec.sv.ts, s.rec.seq, v); err != nil {
					s.err = fmt.Errorf("event %s/%d: %w", ref, s.rec.seq, err)
					continue
				}
				s.rec.Event = e
			}
			for i := range chunk {
				s := &chunk[i]
				switch {
				case s.err != nil:
					yield(logRecord{}, s.err)
					return
				case s.skip:
				case !yield(s.rec, nil):
					return
				}
			}
		}
	}
}
