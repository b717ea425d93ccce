package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// purgeBatch is how many events one retention transaction deletes row by
// row: appends never wait long behind one.
const purgeBatch = 1000

// maxRangesPerNote bounds the sequence ranges of one purge note.
const maxRangesPerNote = 1000

// PurgeExpired deletes the events whose timestamp is older than their
// organization's retention period, except in organizations on legal hold, and
// reports how many it deleted. A month partition whose every organization is
// past retention for the whole month is dropped whole (detached concurrently,
// so appends do not wait); the other expired events are deleted row by row,
// in batches. The leaves (sequence, id, tree hashes) stay: the remaining
// events still prove against every checkpoint. A purge note signed with the
// log key names every sequence deleted, written before (or with) the
// deletion. One server purges at a time; the others skip the round.
func (db *DB) PurgeExpired(ctx context.Context) (int64, error) {
	if db.SigningKey == nil {
		return 0, errors.New("retention needs the signing key, to sign its purge notes")
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	const key = `hashtextextended('auditlog retention ' || current_schema(), 0)`
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`).Scan(&locked); err != nil {
		return 0, fmt.Errorf("retention lock: %w", err)
	}
	if !locked {
		return 0, nil
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			conn.Conn().Close(context.Background()) // a session lock must not outlive the round
		}
	}()
	n, err := db.purge(ctx, conn, db.now())
	if n > 0 {
		db.metrics.Purged.Add(float64(n))
		db.Logger.Info("retention deleted expired events", "events", n)
	}
	return n, err
}

// expiry is an organization not on legal hold, and the instant before which its events are expired.
type expiry struct {
	ref    auditlog.OrgRef
	cutoff time.Time
}

func (db *DB) purge(ctx context.Context, conn *pgxpool.Conn, now time.Time) (int64, error) {
	rows, err := conn.Query(ctx, `SELECT id, provider, name, retention_days FROM organizations WHERE NOT legal_hold`)
	if err != nil {
		return 0, fmt.Errorf("read retention periods: %w", err)
	}
	expiries := map[int32]expiry{}
	var (
		org  int32
		ref  auditlog.OrgRef
		days int
	)
	if _, err := pgx.ForEachRow(rows, []any{&org, &ref.Provider, &ref.Name, &days}, func() error {
		expiries[org] = expiry{ref, now.AddDate(0, 0, -days)}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("read retention periods: %w", err)
	}
	if len(expiries) == 0 {
		return 0, nil
	}

	var deleted int64
	months, err := listPartitions(ctx, conn)
	if err != nil {
		return 0, err
	}
	sorted := make([]int32, 0, len(months))
	for m := range months {
		sorted = append(sorted, m)
	}
	slices.Sort(sorted)
	for _, m := range sorted {
		if monthStart(m + 1).After(now) {
			break
		}
		n, err := db.dropIfExpired(ctx, conn, m, expiries)
		if err != nil {
			db.Logger.Warn("retention could not drop a partition; deleting its expired rows instead", "partition", partitionName(m), "err", err)
		}
		deleted += n
	}
	ids := make([]int32, 0, len(expiries))
	for org := range expiries {
		ids = append(ids, org)
	}
	slices.Sort(ids)
	for _, org := range ids {
		for {
			n, err := db.purgeRows(ctx, conn, org, expiries[org])
			deleted += n
			if err != nil {
				return deleted, err
			}
			if n < purgeBatch {
				break
			}
		}
	}
	return deleted, nil
}

// purgeRows deletes up to purgeBatch expired events of org, oldest first,
// with their purge note, in one transaction.
func (db *DB) purgeRows(ctx context.Context, conn *pgxpool.Conn, org int32, x expiry) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM events WHERE org_id = $1 AND (ts, seq) IN
			(SELECT ts, seq FROM events WHERE org_id = $1 AND ts < $2 ORDER BY ts, seq LIMIT $3) RETURNING seq`, org, x.cutoff, purgeBatch)
		if err != nil {
			return err
		}
		seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		n = int64(len(seqs))
		return db.insertPurgeNotes(ctx, tx, org, x.ref, seqs)
	})
	if err != nil {
		return 0, fmt.Errorf("retention: delete expired events of %s: %w", x.ref, err)
	}
	return n, nil
}

// insertPurgeNotes signs and stores the purge notes of seqs.
func (db *DB) insertPurgeNotes(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, org int32, ref auditlog.OrgRef, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	slices.Sort(seqs)
	ranges := merkle.Ranges(seqs)
	for len(ranges) > 0 {
		chunk := ranges[:min(len(ranges), maxRangesPerNote)]
		ranges = ranges[len(chunk):]
		note, err := merkle.SignPurge(db.SigningKey, merkle.Origin(db.OriginPrefix, ref), chunk)
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO purge_notes (org_id, note, purged_at) VALUES ($1, $2, $3)`, org, string(note), db.now()); err != nil {
			return fmt.Errorf("store purge note: %w", err)
		}
	}
	return nil
}

// dropIfExpired drops the partition of month m if every organization with
// events in it is past retention for the whole month, after storing the
// purge notes of its events, and reports how many events it held.
func (db *DB) dropIfExpired(ctx context.Context, conn *pgxpool.Conn, m int32, expiries map[int32]expiry) (int64, error) {
	name := pgx.Identifier{partitionName(m)}.Sanitize()
	end := monthStart(m + 1)
	// The organizations present, by a loose scan of the primary key (one descent per organization).
	rows, err := conn.Query(ctx, `WITH RECURSIVE o AS (
			SELECT min(org_id) AS id FROM `+name+`
			UNION ALL
			SELECT (SELECT min(org_id) FROM `+name+` WHERE org_id > o.id) FROM o WHERE o.id IS NOT NULL)
		SELECT id FROM o WHERE id IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	present, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, err
	}
	for _, org := range present {
		if x, ok := expiries[org]; !ok || x.cutoff.Before(end) {
			return 0, nil // on legal hold, or some of its events of that month are still retained
		}
	}
	// The purge notes first, in one transaction: a crash before the drop
	// leaves notes of events that still exist, which verification ignores.
	var n int64
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, org := range present {
			rows, err := tx.Query(ctx, `SELECT seq FROM `+name+` WHERE org_id = $1`, org)
			if err != nil {
				return err
			}
			seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			n += int64(len(seqs))
			if err := db.insertPurgeNotes(ctx, tx, org, expiries[org].ref, seqs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if _, err := conn.Exec(ctx, `ALTER TABLE events DETACH PARTITION `+name+` CONCURRENTLY`); err != nil {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "55000" { // 55000: an earlier detach was interrupted: finalize it
			return 0, err
		}
		if _, err := conn.Exec(ctx, `ALTER TABLE events DETACH PARTITION `+name+` FINALIZE`); err != nil {
			return 0, err
		}
	}
	if _, err := conn.Exec(ctx, `DROP TABLE `+name); err != nil {
		return 0, err
	}
	db.parts.forget(m)
	db.Logger.Info("retention dropped a partition", "partition", partitionName(m), "events", n)
	return n, nil
}

// purgeRanges returns the sequence ranges that org's purge notes, verified
// with v, cover, in order.
func (db *DB) purgeRanges(ctx context.Context, org int32, origin string, v interface {
	Name() string
	KeyHash() uint32
	Verify(msg, sig []byte) bool
}) ([]merkle.SeqRange, error) {
	rows, err := db.pool.Query(ctx, `SELECT note FROM purge_notes WHERE org_id = $1`, org)
	if err != nil {
		return nil, err
	}
	notes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var out []merkle.SeqRange
	for _, n := range notes {
		rs, err := merkle.OpenPurge([]byte(n), v, origin)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First < out[j].First })
	return out, nil
}
