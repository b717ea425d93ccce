package postgres

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/jackc/pgx/v5"
)

// FindSQL returns the SQL, and its arguments, of the first chunk FindEvents reads for f in organization org.
func FindSQL(org int32, f auditlog.EventFilter) (string, []any, bool) {
	q, ok := findQuery(org, f)
	if !ok {
		return "", nil, false
	}
	limit := findChunk
	if f.Limit > 0 && q.exact {
		limit = min(limit, f.Limit)
	}
	sql, args := q.chunkSQL(f.After, limit)
	return sql, args, true
}

// RawCopy writes a batch as rows of the events table with one COPY in one
// transaction, and nothing else: no log heads, no id lookups, no leaves, no
// tree. It is the baseline of the ingest benchmarks: the same rows, without
// integrity. next holds each organization's next sequence, which RawCopy
// advances.
func RawCopy(ctx context.Context, db *DB, events []auditlog.Event, next map[auditlog.OrgRef]int64) error {
	now := db.Now().UTC()
	if err := auditlog.PrepareBatch(events, now); err != nil {
		return err
	}
	rows := make([][]any, len(events))
	months := map[int32]bool{}
	salts := make([]byte, auditlog.SaltSize*len(events))
	_, _ = rand.Read(salts)
	for i := range events {
		e := &events[i]
		org, err := db.orgID(ctx, e.Organization)
		if err != nil {
			return err
		}
		e.ID = auditlog.NewEventID(now)
		e.ReceivedAt = now.Truncate(time.Millisecond)
		e.Salt = salts[i*auditlog.SaltSize : (i+1)*auditlog.SaltSize]
		e.Sequence = next[e.Organization]
		next[e.Organization]++
		months[monthOf(e.Timestamp)] = true
		rows[i] = eventRow(org, e)
	}
	if err := db.parts.ensure(ctx, months); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns, pgx.CopyFromRows(rows))
		return err
	})
}

// EnsurePartitions creates the partitions of the months from start to end.
func EnsurePartitions(ctx context.Context, db *DB, start, end time.Time) error {
	months := map[int32]bool{}
	for m := monthOf(start); m <= monthOf(end); m++ {
		months[m] = true
	}
	return db.parts.ensure(ctx, months)
}

// DSN returns the store's DSN.
func DSN(db *DB) string { return db.dsn }
