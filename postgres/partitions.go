package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Events are partitioned by month of their timestamp (UTC). A month is
// numbered year*12 + month-1. The partition of month m is events_pYYYYMM and
// holds timestamps in [first instant of m, first instant of m+1).
//
// Partitions are created ahead of time (PartitionsAhead months after the
// current one, at start and by the maintenance worker), and on demand for
// the months of old events that a history import brings. They are created
// as plain tables and then attached: ATTACH PARTITION takes a lock that
// does not wait for, nor block, concurrent appends, where CREATE TABLE ...
// PARTITION OF would stop every writer of the events table.
type partitions struct {
	db *DB

	mu    sync.Mutex
	known map[int32]bool // months whose partition exists
}

func newPartitions(db *DB) *partitions {
	return &partitions{db: db, known: map[int32]bool{}}
}

func monthOf(t time.Time) int32 {
	t = t.UTC()
	return int32(t.Year()*12 + int(t.Month()) - 1)
}

func monthStart(m int32) time.Time {
	return time.Date(int(m/12), time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC)
}

func partitionName(m int32) string {
	return fmt.Sprintf("events_p%04d%02d", m/12, m%12+1)
}

var partitionNameRE = regexp.MustCompile(`^events_p(\d{4})(\d{2})$`)

// ensureAhead makes sure the partitions of the current month and the
// PartitionsAhead months after it exist.
func (p *partitions) ensureAhead(ctx context.Context, now time.Time) error {
	months := map[int32]bool{}
	for i := 0; i <= max(p.db.PartitionsAhead, 0); i++ {
		months[monthOf(now)+int32(i)] = true
	}
	// An event may be up to 5 minutes in the future: near a month's end that is the next month.
	months[monthOf(now.Add(10*time.Minute))] = true
	return p.ensure(ctx, months)
}

// ensure makes sure the partitions of months exist.
func (p *partitions) ensure(ctx context.Context, months map[int32]bool) error {
	missing := p.missing(months)
	if len(missing) == 0 {
		return nil
	}
	if err := p.load(ctx, p.db.pool); err != nil {
		return err
	}
	if missing = p.missing(months); len(missing) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, p.db.pool, func(tx pgx.Tx) error {
		// One creator at a time, across every server of this schema.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('auditlog partitions ' || current_schema(), 0))`); err != nil {
			return err
		}
		existing, err := listPartitions(ctx, tx)
		if err != nil {
			return err
		}
		for _, m := range missing {
			if existing[m] {
				continue
			}
			name := pgx.Identifier{partitionName(m)}.Sanitize()
			from, to := monthStart(m).Format(time.RFC3339), monthStart(m+1).Format(time.RFC3339)
			if _, err := tx.Exec(ctx, `CREATE TABLE `+name+` (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`); err != nil {
				return fmt.Errorf("create partition %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `ALTER TABLE events ATTACH PARTITION `+name+` FOR VALUES FROM ('`+from+`') TO ('`+to+`')`); err != nil {
				return fmt.Errorf("attach partition %s: %w", name, err)
			}
			p.db.Logger.Info("created events partition", "partition", partitionName(m))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create partitions: %w", err)
	}
	p.mu.Lock()
	for _, m := range missing {
		p.known[m] = true
	}
	p.mu.Unlock()
	return nil
}

func (p *partitions) missing(months map[int32]bool) []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int32
	for m := range months {
		if !p.known[m] {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// load reads which partitions exist: others may have been created, or dropped, by other servers.
func (p *partitions) load(ctx context.Context, q queryer) error {
	existing, err := listPartitions(ctx, q)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.known = existing
	p.mu.Unlock()
	return nil
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// listPartitions returns the months whose partitions are attached to events.
func listPartitions(ctx context.Context, q queryer) (map[int32]bool, error) {
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	out := map[int32]bool{}
	for _, n := range names {
		if m := partitionNameRE.FindStringSubmatch(n); m != nil {
			y, _ := strconv.Atoi(m[1])
			mo, _ := strconv.Atoi(m[2])
			out[int32(y*12+mo-1)] = true
		}
	}
	return out, nil
}

// forget records that the partition of month m was dropped.
func (p *partitions) forget(m int32) {
	p.mu.Lock()
	delete(p.known, m)
	p.mu.Unlock()
}

// isNoPartition reports whether err is PostgreSQL's "no partition of relation
// found for row": a partition this server thought existed was dropped by another.
func isNoPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514"
}

// actorIndexName is the name of the actor index of month m's partition.
func actorIndexName(m int32) string { return partitionName(m) + "_actor" }

// IndexClosedMonths builds the actor index (org_id, actor_email, ts) of every
// partition whose month ended at least an hour before now and lacks it
// (CREATE INDEX CONCURRENTLY: appends do not wait), and rebuilds one that an
// interrupted build left invalid. The current month's partition has none, so
// ingest does not pay for it; erasure and actor: search scan that month's
// rows of the organization instead. One server builds at a time.
func (db *DB) IndexClosedMonths(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	const key = `hashtextextended('auditlog indexes ' || current_schema(), 0)`
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`).Scan(&locked); err != nil {
		return fmt.Errorf("index lock: %w", err)
	}
	if !locked {
		return nil
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			conn.Conn().Close(context.Background())
		}
	}()
	months, err := listPartitions(ctx, conn)
	if err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT c.relname::text, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'events'::regclass) AND c.relname LIKE 'events\_p%\_actor'`)
	if err != nil {
		return fmt.Errorf("list actor indexes: %w", err)
	}
	valid := map[string]bool{}
	var (
		name string
		ok   bool
	)
	if _, err := pgx.ForEachRow(rows, []any{&name, &ok}, func() error {
		valid[name] = ok
		return nil
	}); err != nil {
		return fmt.Errorf("list actor indexes: %w", err)
	}
	closed := monthOf(db.now().Add(-time.Hour))
	for m := range months {
		if m >= closed {
			continue
		}
		idx := actorIndexName(m)
		isValid, exists := valid[idx]
		if exists && isValid {
			continue
		}
		if exists {
			if _, err := conn.Exec(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+pgx.Identifier{idx}.Sanitize()); err != nil {
				return fmt.Errorf("drop invalid index %s: %w", idx, err)
			}
		}
		if _, err := conn.Exec(ctx, `CREATE INDEX CONCURRENTLY IF NOT EXISTS `+pgx.Identifier{idx}.Sanitize()+
			` ON `+pgx.Identifier{partitionName(m)}.Sanitize()+` (org_id, actor_email, ts)`); err != nil {
			return fmt.Errorf("build index %s: %w", idx, err)
		}
		db.Logger.Info("built the actor index of a past month", "partition", partitionName(m))
	}
	return nil
}
