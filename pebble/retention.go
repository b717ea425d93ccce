package pebble

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/cockroachdb/pebble/v2"
)

// Retention deletes the content of events whose timestamp is older than
// their organization's retentionDays, unless it is under legal hold. The
// tree keeps their leaves (the sequence key keeps its hashes and, in place
// of the leading bytes of the leaf hash, the whole of it, marked purgedMark:
// seqvalue.go), so the remaining events still prove; a purge note signed
// with the log key names the sequences purged, so that an audit can tell
// retention from an event deleted by hand.
//
//	R|org|first(8) -> signed purge note (merkle.SignPurge)
const (
	prefixPurge    = 'R'
	purgeBatchSize = 1000 // events per commit: ingest never waits long behind one
)

func purgeKey(org uint32, first int64) []byte {
	return appendU64(appendU32([]byte{prefixPurge}, org), uint64(first))
}

// PurgeExpired purges every organization's expired events now and reports how many.
func (db *DB) PurgeExpired(ctx context.Context) (int, error) {
	if db.SigningKey == nil {
		return 0, errors.New("retention needs the signing key, to sign its purge notes")
	}
	db.purgeMu.Lock()
	defer db.purgeMu.Unlock()
	total := 0
	err := db.forEachOrg(func(org uint32) error {
		n, err := db.purgeOrg(ctx, org)
		total += n
		return err
	})
	return total, err
}

func (db *DB) purgeOrg(ctx context.Context, org uint32) (int, error) {
	o, err := db.orgByID(org)
	if err != nil || o.LegalHold {
		return 0, err
	}
	cutoff := db.now().AddDate(0, 0, -o.RetentionDays).UnixMilli()
	total := 0
	for {
		n, err := db.purgeBatch(ctx, org, o, cutoff)
		total += n
		if err != nil || n < purgeBatchSize {
			if total > 0 {
				db.metrics.Purged.Add(float64(total))
				db.Logger.Info("retention purged events", "org", o.OrgRef.String(), "events", total, "before", time.UnixMilli(cutoff).UTC())
			}
			return total, err
		}
	}
}

// purgeBatch purges up to purgeBatchSize events of org older than cutoff in one commit.
func (db *DB) purgeBatch(ctx context.Context, org uint32, o *auditlog.Organization, cutoff int64) (int, error) {
	// One snapshot for the events and the postings: an event committed
	// meanwhile (an old timestamp, imported) is in neither, so its posting
	// stays.
	snap := db.db.NewSnapshot()
	defer snap.Close()
	if db.afterPurgeSnapshot != nil {
		db.afterPurgeSnapshot()
	}
	it, err := snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: eventKey(org, 0, 0), UpperBound: eventKey(org, cutoff, 0)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	b := db.db.NewBatch()
	defer b.Close()
	var (
		seqs    []int64
		last    int64               // the timestamp of the last event purged
		indexes = map[string]bool{} // the actor and action index prefixes of the events purged
	)
	for valid := it.First(); valid && len(seqs) < purgeBatchSize; valid = it.Next() {
		ts, seq := parseEventKey(it.Key())
		var e auditlog.Event
		if err := decodeEvent(&e, ts, seq, it.Value()); err != nil {
			return 0, fmt.Errorf("retention: event %s/%d: %w", o.OrgRef, seq, err)
		}
		v, err := db.get(seqKey(org, seq))
		if err != nil {
			return 0, fmt.Errorf("retention: sequence record %s/%d: %w", o.OrgRef, seq, err)
		}
		sv, ok := parseSeqValue(v)
		if !ok || sv.purged {
			return 0, fmt.Errorf("retention: sequence record %s/%d is corrupt", o.OrgRef, seq)
		}
		// The leaf hash, recomputed from the event until now, is kept in its place.
		e.Organization = o.OrgRef
		leaf, err := sv.leafHash(&e)
		if err != nil {
			return 0, fmt.Errorf("retention: event %s/%d: %w", o.OrgRef, seq, err)
		}
		code, _ := auditlog.ActionCode(e.Action)
		_ = b.Delete(it.Key(), nil)
		indexes[string(actorPrefix(org, e.Actor.Email))] = true
		indexes[string(actionPrefix(org, code))] = true
		_ = b.Set(seqKey(org, seq), purgedSeqValue(sv, leaf), nil)
		seqs = append(seqs, seq)
		last = ts
	}
	if err := it.Error(); err != nil {
		return 0, err
	}
	// The index postings (postings.go) of the snapshot whose newest entry
	// is older than the last event purged list only purged events: events
	// are purged in (ts, seq) order. Others keep entries of purged events,
	// which readers skip, until a later purge.
	for p := range indexes {
		if err := deleteKeys(snap, b, appendU64([]byte(p), 0), appendU64([]byte(p), uint64(last))); err != nil {
			return 0, err
		}
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	slices.Sort(seqs)
	note, err := merkle.SignPurge(db.SigningKey, merkle.Origin(db.OriginPrefix, o.OrgRef), merkle.Ranges(seqs))
	if err != nil {
		return 0, err
	}
	_ = b.Set(purgeKey(org, seqs[0]), note, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	return len(seqs), nil
}

// deleteKeys adds to b the deletion of each key of r in [lo, hi).
func deleteKeys(r pebble.Reader, b *pebble.Batch, lo, hi []byte) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		_ = b.Delete(it.Key(), nil)
	}
	if err := it.Error(); err != nil {
		_ = it.Close()
		return err
	}
	return it.Close()
}

// purgeRanges returns the sequence ranges that org's purge notes, verified
// with v, cover.
func (db *DB) purgeRanges(org uint32, origin string, v interface {
	Name() string
	KeyHash() uint32
	Verify(msg, sig []byte) bool
}) ([]merkle.SeqRange, error) {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: purgeKey(org, 0), UpperBound: orgPrefixEnd(prefixPurge, org)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []merkle.SeqRange
	for valid := it.First(); valid; valid = it.Next() {
		rs, err := merkle.OpenPurge(append([]byte(nil), it.Value()...), v, origin)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	slices.SortFunc(out, func(a, b merkle.SeqRange) int { return cmp.Compare(a.First, b.First) })
	return out, it.Error()
}

// retainer runs PurgeExpired every DB.RetentionInterval.
type retainer struct {
	db     *DB
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startRetainer(db *DB) *retainer {
	r := &retainer{db: db}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if db.RetentionInterval <= 0 || db.SigningKey == nil {
		return r // off
	}
	r.wg.Add(1)
	go r.run()
	return r
}

func (r *retainer) run() {
	defer r.wg.Done()
	wait := min(time.Minute, r.db.RetentionInterval) // the first run soon after start
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(wait):
		}
		if _, err := r.db.PurgeExpired(r.ctx); err != nil && r.ctx.Err() == nil {
			r.db.Logger.Error("retention failed; retrying", "err", err)
			wait = min(2*wait, r.db.RetentionInterval)
			continue
		}
		wait = r.db.RetentionInterval
	}
}

func (r *retainer) stop() {
	r.cancel()
	r.wg.Wait()
}
