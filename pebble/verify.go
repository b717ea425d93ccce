package pebble

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"
)

// VerifyReport and VerifyError are the domain's: a store audit's results.
type (
	VerifyReport = auditlog.VerifyReport
	VerifyError  = auditlog.VerifyError
)

// Verify audits the whole store: for every organization it recomputes the
// tree from the stored events and checks every stored hash and every signed
// checkpoint (its signature by v, its origin, its root). It returns a
// *VerifyError naming the first event or hash that differs. progress, if
// not nil, is called now and then with the number of events verified.
func (db *DB) Verify(ctx context.Context, v note.Verifier, progress func(events int64)) (*VerifyReport, error) {
	rep := &VerifyReport{}
	known := map[uint32]bool{}
	err := db.forEachOrg(func(org uint32) error {
		o, err := db.orgByID(org)
		if err != nil {
			return err
		}
		known[org] = true
		rep.Organizations++
		return db.verifyOrg(ctx, org, o.OrgRef, v, rep, progress)
	})
	if err != nil {
		return rep, err
	}
	return rep, db.verifyNoOrphans(known)
}

// verifyNoOrphans checks that every log in the store (events, sequence
// index, tree hashes, checkpoints) belongs to an organization that Verify
// audited: deleting an organization's record must not hide its log from
// the audit.
func (db *DB) verifyNoOrphans(known map[uint32]bool) error {
	for _, prefix := range []byte{prefixEvent, prefixSeq, prefixCheckpt} {
		it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
		if err != nil {
			return err
		}
		for valid := it.First(); valid; valid = it.SeekGE(orgPrefixEnd(prefix, beUint32(it.Key()[1:5]))) {
			if len(it.Key()) < 5 {
				break
			}
			if org := beUint32(it.Key()[1:5]); !known[org] {
				it.Close()
				return &VerifyError{Org: auditlog.OrgRef{Provider: "?", Name: fmt.Sprintf("#%d", org)}, Sequence: -1,
					Problem: fmt.Sprintf("the store holds the log of internal organization %d (%c keys), which has no organization record: it was not audited", org, prefix)}
			}
		}
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) verifyOrg(ctx context.Context, org uint32, ref auditlog.OrgRef, v note.Verifier, rep *VerifyReport, progress func(int64)) error {
	fail := func(seq int64, format string, args ...any) error {
		return &VerifyError{Org: ref, Sequence: seq, Problem: fmt.Sprintf(format, args...)}
	}
	checkpoints, err := db.checkpoints(org, ref, v, fail)
	if err != nil {
		return err
	}
	rep.Checkpoints += len(checkpoints)
	size, err := db.logSize(org)
	if err != nil {
		return err
	}
	if n := len(checkpoints); n > 0 && checkpoints[n-1].Size > size {
		return fail(size, "missing: the signed checkpoint has %d events but the store's log ends at %d", checkpoints[n-1].Size, size)
	}

	purges, err := db.purgeRanges(org, merkle.Origin(db.OriginPrefix, ref), v)
	if err != nil {
		return fail(-1, "%v", err)
	}
	a := merkle.NewLogAuditor(checkpoints, purges)
	failed := func(p *merkle.AuditProblem) error { return fail(p.Sequence, "%s", p.Problem) }
	for rec, err := range db.eventsBySequence(ctx, org, ref, 0, math.MaxInt64) {
		if err != nil {
			return fail(a.Size(), "%v", err)
		}
		// The store keeps only the leading bytes of a stored event's leaf
		// hash (seqvalue.go): checking them names an event changed in place.
		hashes, err := rec.treeHashes()
		if err != nil && rec.seq == a.Size() {
			return fail(rec.seq, "%v", err)
		}
		// A stored event's leaf hash leads its tree hashes, recomputed from the event.
		var leaf *[32]byte
		if err == nil && rec.Event != nil {
			leaf = (*[32]byte)(hashes[:32])
		}
		if p := a.AddHashed(rec.seq, rec.Event, leaf, hashes); p != nil {
			return failed(p)
		}
		if progress != nil && (rep.Events+a.Events)%100_000 == 0 {
			progress(rep.Events + a.Events)
		}
	}
	if p := a.End(); p != nil {
		return failed(p)
	}
	rep.Events += a.Events
	rep.Purged += a.Purged
	return db.verifyIndexes(org, ref, a.Size()-a.Purged, fail)
}

// checkpoints reads and verifies every stored checkpoint of org, by size.
func (db *DB) checkpoints(org uint32, ref auditlog.OrgRef, v note.Verifier, fail func(int64, string, ...any) error) ([]*merkle.Checkpoint, error) {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: checkpointKey(org, 0), UpperBound: orgPrefixEnd(prefixCheckpt, org)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*merkle.Checkpoint
	for valid := it.First(); valid; valid = it.Next() {
		_, size := parseSeqKey(it.Key())
		cp, err := merkle.OpenCheckpoint(append([]byte(nil), it.Value()...), v, merkle.Origin(db.OriginPrefix, ref))
		if err != nil {
			return nil, fail(-1, "checkpoint of size %d: %v", size, err)
		}
		if cp.Size != size {
			return nil, fail(-1, "checkpoint stored under size %d says size %d", size, cp.Size)
		}
		out = append(out, cp)
	}
	return out, it.Error()
}

// verifyIndexes checks that the event keys and the sequence index agree in
// number, so that no event was added beside the log.
func (db *DB) verifyIndexes(org uint32, ref auditlog.OrgRef, logged int64, fail func(int64, string, ...any) error) error {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: eventKey(org, 0, 0), UpperBound: orgPrefixEnd(prefixEvent, org)})
	if err != nil {
		return err
	}
	defer it.Close()
	var n int64
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	if err := it.Error(); err != nil {
		return err
	}
	if n != logged {
		return fail(-1, "the store holds %d event records but the log has %d: events were added beside the log", n, logged)
	}
	return nil
}
