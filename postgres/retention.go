package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PurgeExpired deletes the events whose timestamp is older than their
// organization's retention period, except in organizations on legal hold, and
// reports how many it deleted. A month partition whose every organization is
// past retention for the whole month is dropped whole (detached
// concurrently, so appends do not wait); the other expired events are
// deleted row by row. The leaves (sequence, id, tree hashes) stay: the
// remaining events still prove against every checkpoint. One server purges
// at a time; the others skip the round.
func (db *DB) PurgeExpired(ctx context.Context) (int64, error) {
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
			conn.Conn().Close(context.Background()) // a session lock must not outlive its holder's intent
		}
	}()
	return db.purge(ctx, conn, db.now())
}

func (db *DB) purge(ctx context.Context, conn *pgxpool.Conn, now time.Time) (int64, error) {
	cutoffs, err := retentionCutoffs(ctx, conn, now)
	if err != nil || len(cutoffs) == 0 {
		return 0, err
	}
	// Mark first: whatever a crash leaves half-deleted is then known to be retention's.
	orgs, befores := make([]int32, 0, len(cutoffs)), make([]time.Time, 0, len(cutoffs))
	for org, c := range cutoffs {
		orgs, befores = append(orgs, org), append(befores, c)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO retention_marks (org_id, purged_before)
		SELECT * FROM unnest($1::integer[], $2::timestamptz[])
		ON CONFLICT (org_id) DO UPDATE SET purged_before = greatest(retention_marks.purged_before, excluded.purged_before)`, orgs, befores); err != nil {
		return 0, fmt.Errorf("retention marks: %w", err)
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
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	for _, m := range sorted {
		end := monthStart(m + 1)
		if end.After(now) {
			break
		}
		n, dropped, err := db.dropIfExpired(ctx, conn, m, end, cutoffs)
		if err != nil {
			db.Logger.Warn("retention could not drop a partition; deleting its expired rows instead", "partition", partitionName(m), "err", err)
		}
		if dropped {
			deleted += n
		}
	}
	for org, cutoff := range cutoffs {
		tag, err := conn.Exec(ctx, `DELETE FROM events WHERE org_id = $1 AND ts < $2`, org, cutoff)
		if err != nil {
			return deleted, fmt.Errorf("delete expired events: %w", err)
		}
		deleted += tag.RowsAffected()
	}
	return deleted, nil
}

// retentionCutoffs returns, for each organization not on legal hold, the
// instant before which its events are expired.
func retentionCutoffs(ctx context.Context, conn *pgxpool.Conn, now time.Time) (map[int32]time.Time, error) {
	rows, err := conn.Query(ctx, `SELECT id, retention_days FROM organizations WHERE NOT legal_hold`)
	if err != nil {
		return nil, fmt.Errorf("read retention periods: %w", err)
	}
	out := map[int32]time.Time{}
	var (
		org  int32
		days int
	)
	_, err = pgx.ForEachRow(rows, []any{&org, &days}, func() error {
		out[org] = now.Add(-time.Duration(days) * 24 * time.Hour)
		return nil
	})
	return out, err
}

// dropIfExpired drops the partition of month m (ending at end) if every
// organization with events in it is past retention for the whole month.
func (db *DB) dropIfExpired(ctx context.Context, conn *pgxpool.Conn, m int32, end time.Time, cutoffs map[int32]time.Time) (int64, bool, error) {
	name := pgx.Identifier{partitionName(m)}.Sanitize()
	// The organizations present, by a loose scan of the primary key (one descent per organization).
	rows, err := conn.Query(ctx, `WITH RECURSIVE o AS (
			SELECT min(org_id) AS id FROM `+name+`
			UNION ALL
			SELECT (SELECT min(org_id) FROM `+name+` WHERE org_id > o.id) FROM o WHERE o.id IS NOT NULL)
		SELECT id FROM o WHERE id IS NOT NULL`)
	if err != nil {
		return 0, false, err
	}
	present, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, false, err
	}
	for _, org := range present {
		if c, ok := cutoffs[org]; !ok || c.Before(end) {
			return 0, false, nil // on legal hold, or some of its events of that month are still retained
		}
	}
	var n int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+name).Scan(&n); err != nil {
		return 0, false, err
	}
	if _, err := conn.Exec(ctx, `ALTER TABLE events DETACH PARTITION `+name+` CONCURRENTLY`); err != nil {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "55000" { // 55000: an earlier detach was interrupted: finalize it
			return 0, false, err
		}
		if _, err := conn.Exec(ctx, `ALTER TABLE events DETACH PARTITION `+name+` FINALIZE`); err != nil {
			return 0, false, err
		}
	}
	if _, err := conn.Exec(ctx, `DROP TABLE `+name); err != nil {
		return 0, false, err
	}
	db.parts.forget(m)
	db.Logger.Info("retention dropped a partition", "partition", partitionName(m), "events", n)
	return n, true, nil
}
