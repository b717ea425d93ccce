package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

var _ auditlog.LogService = (*DB)(nil)

var errNoCheckpoint = auditlog.Errorf(auditlog.ENOTFOUND, "no checkpoint has been signed for this organization yet")

// hashReader reads an organization's stored hashes (tlog.HashReader). The
// hashes that leaf n added to the tree (its leaf hash, then the hash of each
// subtree it completed) are its leaves row's hashes: the node at level l,
// index i, was completed by leaf (i+1)·2^l − 1, and is the l-th hash there.
type hashReader struct {
	ctx context.Context
	q   queryer
	org int32
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	seqs := make([]int64, len(indexes))
	for i, idx := range indexes {
		level, n := tlog.SplitStoredHashIndex(idx)
		seqs[i] = (n+1)<<level - 1
	}
	rows, err := r.q.Query(r.ctx, `SELECT seq, hashes FROM leaves WHERE org_id = $1 AND seq = ANY($2)`, r.org, seqs)
	if err != nil {
		return nil, fmt.Errorf("read tree hashes: %w", err)
	}
	stored := map[int64][]byte{}
	var (
		seq    int64
		hashes []byte
	)
	if _, err := pgx.ForEachRow(rows, []any{&seq, &hashes}, func() error {
		stored[seq] = append([]byte(nil), hashes...)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read tree hashes: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, _ := tlog.SplitStoredHashIndex(idx)
		v, ok := stored[seqs[i]]
		if !ok {
			return nil, fmt.Errorf("the tree hashes of event %d of organization %d are missing", seqs[i], r.org)
		}
		off := tlog.HashSize * level
		if len(v) < off+tlog.HashSize {
			return nil, fmt.Errorf("the tree hashes of event %d of organization %d are corrupt", seqs[i], r.org)
		}
		copy(out[i][:], v[off:])
	}
	return out, nil
}

// LatestCheckpoint returns the organization's newest signed checkpoint.
func (db *DB) LatestCheckpoint(ctx context.Context, ref auditlog.OrgRef) ([]byte, int64, error) {
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return nil, 0, err
	}
	return db.checkpointAt(ctx, org, 0)
}

// checkpointAt returns the signed checkpoint of the given size; 0 means the latest.
func (db *DB) checkpointAt(ctx context.Context, org int32, size int64) ([]byte, int64, error) {
	var (
		note string
		err  error
	)
	if size == 0 {
		err = db.pool.QueryRow(ctx, `SELECT size, note FROM checkpoints WHERE org_id = $1 ORDER BY size DESC LIMIT 1`, org).Scan(&size, &note)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, 0, errNoCheckpoint
		}
	} else {
		err = db.pool.QueryRow(ctx, `SELECT note FROM checkpoints WHERE org_id = $1 AND size = $2`, org, size).Scan(&note)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, 0, auditlog.Errorf(auditlog.ENOTFOUND, "no checkpoint of tree size %d was signed", size)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read checkpoint: %w", err)
	}
	return []byte(note), size, nil
}

// ProveInclusion proves event seq in the tree of a signed checkpoint.
func (db *DB) ProveInclusion(ctx context.Context, ref auditlog.OrgRef, seq, size int64) (*auditlog.InclusionProof, error) {
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return nil, err
	}
	note, size, err := db.checkpointAt(ctx, org, size)
	if err != nil {
		return nil, err
	}
	if seq < 0 || seq >= size {
		return nil, auditlog.Errorf(auditlog.ENOTFOUND, "event %d is not in the tree of size %d", seq, size)
	}
	r := hashReader{ctx, db.pool, org}
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
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return nil, err
	}
	toNote, to, err := db.checkpointAt(ctx, org, to)
	if err != nil {
		return nil, err
	}
	if from <= 0 || from > to {
		return nil, auditlog.Errorf(auditlog.EINVALID, "from must be between 1 and to (%d)", to)
	}
	fromNote, _, err := db.checkpointAt(ctx, org, from)
	if err != nil {
		return nil, err
	}
	p, err := tlog.ProveTree(to, from, hashReader{ctx, db.pool, org})
	if err != nil {
		return nil, fmt.Errorf("prove %s %d..%d: %w", ref, from, to, err)
	}
	return &auditlog.ConsistencyProof{From: from, To: to, Proof: merkle.ProofBytes(p), FromCheckpoint: string(fromNote), ToCheckpoint: string(toNote)}, nil
}

// LogEvents yields the events below size, ascending, with proofs; those
// that retention deleted without their content (Event nil).
func (db *DB) LogEvents(ctx context.Context, ref auditlog.OrgRef, size int64) iter.Seq2[*auditlog.ProvenEvent, error] {
	return func(yield func(*auditlog.ProvenEvent, error) bool) {
		org, err := db.orgID(ctx, ref)
		if err != nil {
			yield(nil, err)
			return
		}
		// Consecutive proofs share most of their hashes, and each chunk of the
		// log brings the hashes its own leaves added: keep the recent ones.
		// The hashes of the subtrees a little ahead are read a range at a time.
		r := merkle.NewHashCache(hashReader{ctx, db.pool, org})
		ahead := &hashesAhead{ctx: ctx, q: db.pool, org: org, size: size, c: r}
		r.Ahead = ahead.readTo
		for rec, err := range db.logRecords(ctx, org, ref, 0, size) {
			if err != nil {
				yield(nil, err)
				return
			}
			pe, err := r.Prove(size, rec.seq, rec.Event, rec.hashes)
			if err != nil {
				yield(nil, fmt.Errorf("%s: %w", ref, err))
				return
			}
			if !yield(pe, nil) {
				return
			}
		}
	}
}

// hashesAhead gives a HashCache the stored hashes of the leaves a little
// ahead of those being proved, a range of leaves rows per query: a complete
// export's proofs need about one hash per leaf of a subtree ahead, and a
// query for each costs a round trip. Those far ahead, few, are left to
// hashReader.
type hashesAhead struct {
	ctx  context.Context
	q    queryer
	org  int32
	size int64 // the tree's
	c    *merkle.HashCache
	next int64 // the first leaf not read yet
}

const (
	// hashesWindow is how far ahead of the leaf being proved hashesAhead reads.
	hashesWindow = 8192
	// hashesRange is the fewest leaves it reads per query.
	hashesRange = 1024
)

// readTo remembers the stored hashes of the leaves up to leaf (and a range
// beyond), if leaf is ahead of those read so far and within hashesWindow of
// the leaf being proved.
func (a *hashesAhead) readTo(leaf int64) error {
	at := a.c.At()
	if leaf < a.next || leaf >= at+hashesWindow || leaf >= a.size {
		return nil
	}
	from := max(a.next, at)
	to := min(a.size, max(leaf+1, from+hashesRange))
	rows, err := a.q.Query(a.ctx, `SELECT seq, hashes FROM leaves WHERE org_id = $1 AND seq >= $2 AND seq < $3`, a.org, from, to)
	if err != nil {
		return fmt.Errorf("read tree hashes: %w", err)
	}
	var (
		seq    int64
		hashes []byte
	)
	if _, err := pgx.ForEachRow(rows, []any{&seq, &hashes}, func() error {
		a.c.Remember(seq, hashes)
		return nil
	}); err != nil {
		return fmt.Errorf("read tree hashes: %w", err)
	}
	a.next = to
	return nil
}

// logRecord is one leaf of the log: its sequence, timestamp and stored
// hashes, and its event unless retention deleted it.
type logRecord struct {
	*auditlog.Event
	seq    int64
	ts     time.Time
	hashes []byte
}

// logChunk is how many leaves logRecords reads per query. A power of two,
// so that the chunks align with the tree's subtrees.
const logChunk = 1024

// logRecords yields the leaves of org with sequences in [from, to), ascending,
// with their events. It reads them in chunks, holding no connection while
// the caller iterates.
func (db *DB) logRecords(ctx context.Context, org int32, ref auditlog.OrgRef, from, to int64) iter.Seq2[logRecord, error] {
	return func(yield func(logRecord, error) bool) {
		for lo := from; lo < to; lo += logChunk {
			hi := min(to, lo+logChunk)
			recs, err := db.readLogChunk(ctx, org, ref, lo, hi)
			if err != nil {
				yield(logRecord{}, err)
				return
			}
			for _, rec := range recs {
				if !yield(rec, nil) {
					return
				}
			}
			if int64(len(recs)) < hi-lo {
				return // the log ends here
			}
		}
	}
}

func (db *DB) readLogChunk(ctx context.Context, org int32, ref auditlog.OrgRef, lo, hi int64) ([]logRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT l.seq, l.ts, l.hashes, e.seq IS NOT NULL,
		e.ts, e.seq, e.id, e.action, e.actor_email, e.actor_role, e.result, e.source, e.received_at,
		e.repository, e.entity, e.description, e.details, e.ip, e.user_agent, e.salt, e.personal_hash
		FROM leaves l LEFT JOIN events e ON e.org_id = l.org_id AND e.ts = l.ts AND e.seq = l.seq
		WHERE l.org_id = $1 AND l.seq >= $2 AND l.seq < $3 ORDER BY l.seq`, org, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read the log of %s: %w", ref, err)
	}
	defer rows.Close()
	out := make([]logRecord, 0, hi-lo)
	for rows.Next() {
		var (
			rec     logRecord
			present bool
			e       = &auditlog.Event{Organization: ref}
			cols    = eventScanTargets(e)
		)
		if err := rows.Scan(append([]any{&rec.seq, &rec.ts, &rec.hashes, &present}, cols.targets...)...); err != nil {
			return nil, fmt.Errorf("read the log of %s: %w", ref, err)
		}
		rec.ts = rec.ts.UTC()
		if present {
			cols.finish()
			rec.Event = e
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the log of %s: %w", ref, err)
	}
	return out, nil
}
