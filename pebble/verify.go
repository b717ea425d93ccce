package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/cockroachdb/pebble/v2"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
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

	// Recompute the tree leaf by leaf. Appending leaf n completes exactly the
	// nodes whose stored hashes leaf n added (kept with its sequence key, in
	// that order): each must be there and equal.
	var (
		stored   error
		recorded []byte // the stored hashes of the leaf being appended
	)
	visit := func(id compact.NodeID, hash []byte) {
		if stored != nil {
			return
		}
		switch {
		case len(recorded) < len(hash) && id.Level == 0:
			stored = fail(int64(id.Index), "its stored leaf hash is missing")
		case len(recorded) < len(hash):
			stored = fail(-1, "stored tree hash at level %d, index %d is missing", id.Level, id.Index)
		case !bytes.Equal(recorded[:len(hash)], hash) && id.Level == 0:
			stored = fail(int64(id.Index), "its content differs from what was logged (the recomputed leaf hash does not match the stored one)")
		case !bytes.Equal(recorded[:len(hash)], hash):
			stored = fail(-1, "stored tree hash at level %d, index %d differs from the one recomputed from the events", id.Level, id.Index)
		default:
			recorded = recorded[len(hash):]
		}
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	rng := rf.NewEmptyRange(0)
	next := 0 // the next checkpoint to compare
	purges, err := db.purgeRanges(org, merkle.Origin(db.OriginPrefix, ref), v)
	if err != nil {
		return fail(-1, "%v", err)
	}
	var purged int64
	for rec, err := range db.eventsBySequence(ctx, org, ref, 0, math.MaxInt64) {
		if err != nil {
			var ve *VerifyError
			if errors.As(err, &ve) {
				return err
			}
			return fail(int64(rng.End()), "%v", err)
		}
		if rec.seq != int64(rng.End()) {
			return fail(int64(rng.End()), "missing: the log jumps from event %d to %d", int64(rng.End())-1, rec.seq)
		}
		var leaf [32]byte
		switch e := rec.Event; {
		case rec.purged:
			// Its content is gone; its stored leaf hash stands in, if retention signed its purge.
			if !covered(purges, rec.seq) {
				return fail(rec.seq, "missing: its content is gone and no signed purge note covers it")
			}
			if len(rec.hashes) < 32 {
				return fail(rec.seq, "its stored leaf hash is missing")
			}
			leaf = [32]byte(rec.hashes[:32])
			purged++
			rep.Purged++
		case e.Erased() && !showsRedacted(e):
			// The leaf holds only the personal hash of an erased event: nothing commits to these values.
			return fail(e.Sequence, "it is erased, yet its actor email, IP address or user agent reads other than %q", auditlog.Redacted)
		default:
			if leaf, err = e.LeafHash(); err != nil {
				return fail(e.Sequence, "%v", err)
			}
		}
		recorded = rec.hashes
		if err := rng.Append(leaf[:], visit); err != nil {
			return err
		}
		if stored != nil {
			return stored
		}
		if len(recorded) != 0 {
			return fail(rec.seq, "its sequence record holds %d bytes of tree hashes that its leaf did not add", len(recorded))
		}
		rep.Events++
		if progress != nil && rep.Events%100_000 == 0 {
			progress(rep.Events)
		}
		for next < len(checkpoints) && checkpoints[next].Size == int64(rng.End()) {
			root, err := rng.GetRootHash(nil)
			if err != nil {
				return err
			}
			if !bytes.Equal(root, checkpoints[next].Root[:]) {
				return fail(-1, "the tree of the first %d events does not match its signed checkpoint: an event before %d was changed, removed or added", checkpoints[next].Size, checkpoints[next].Size)
			}
			next++
		}
	}
	if next < len(checkpoints) {
		return fail(int64(rng.End()), "missing: the signed checkpoint of size %d covers events the store no longer has", checkpoints[next].Size)
	}
	// Events no checkpoint covers are not proven: a server signs them within
	// a second, and on a clean shutdown, so they are left by a crash (start
	// the server once to sign them) or were added, or their checkpoints removed, beside it.
	signed := int64(0)
	if len(checkpoints) > 0 {
		signed = checkpoints[len(checkpoints)-1].Size
	}
	if end := int64(rng.End()); end > signed {
		return fail(signed, "events %d to %d are not covered by any signed checkpoint: if the server crashed, start it once to sign them; otherwise they or their checkpoints were tampered with", signed, end-1)
	}
	return db.verifyIndexes(org, ref, int64(rng.End())-purged, fail)
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

// showsRedacted reports whether an erased event shows nothing but "redacted"
// (or, for an IP address or user agent it never had, "") in its personal fields.
func showsRedacted(e *auditlog.Event) bool {
	ok := func(v string) bool { return v == auditlog.Redacted || v == "" }
	return e.Actor.Email == auditlog.Redacted && ok(e.IPAddress) && ok(e.UserAgent)
}
