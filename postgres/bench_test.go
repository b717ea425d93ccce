package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/pgtest"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/postgres"
	"github.com/jackc/pgx/v5"
)

func openBenchDB(b *testing.B, orgs int) *postgres.DB {
	b.Helper()
	dsn, _ := pgtest.MustSchema(b)
	db := newQuietDB(dsn)
	if err := db.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	business := auditlog.PlanBusiness
	for i := 0; i < orgs; i++ {
		ref := auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("org-%04d", i)}
		if _, _, err := db.PutOrganization(context.Background(), ref, auditlog.OrganizationUpdate{Plan: &business}); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkAppendBatch1000 appends durable batches of 1,000 events spread over
// 1,000 organizations, one batch after another: with integrity (AppendEvents:
// log-head locks, id lookups, the leaves rows with the tree's hashes, the
// events rows) and as a raw COPY of the same events rows (baseline).
func BenchmarkAppendBatch1000(b *testing.B) {
	b.Run("integrity", func(b *testing.B) { benchAppend(b, 1, false) })
	b.Run("rawcopy", func(b *testing.B) { benchAppend(b, 1, true) })
}

// BenchmarkAppendParallel4 is BenchmarkAppendBatch1000 with 4 clients
// sending batches at once: their batches share transactions (group commit).
func BenchmarkAppendParallel4(b *testing.B) {
	b.Run("integrity", func(b *testing.B) { benchAppend(b, 4, false) })
	b.Run("rawcopy", func(b *testing.B) { benchAppend(b, 4, true) })
}

func benchAppend(b *testing.B, clients int, raw bool) {
	const orgs, batch = 1000, 1000
	db := openBenchDB(b, orgs)
	now := time.Now()
	ctx := context.Background()
	// Batches are made ahead, so that the clock measures only the store.
	batches := make([][]auditlog.Event, b.N)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range batches {
		batches[i] = make([]auditlog.Event, batch)
		for j := range batches[i] {
			batches[i][j] = storetest.BenchEvent(rng, orgs, now)
		}
	}
	var (
		mu   sync.Mutex
		next = map[auditlog.OrgRef]int64{}
		wg   sync.WaitGroup
		work = make(chan []auditlog.Event, len(batches))
	)
	for _, bt := range batches {
		work <- bt
	}
	close(work)
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for events := range work {
				var err error
				if raw {
					mu.Lock() // the raw baseline has no log to keep sequences apart
					err = postgres.RawCopy(ctx, db, events, next)
					mu.Unlock()
				} else {
					_, err = db.AppendEvents(ctx, events)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// queryBench is the store of BenchmarkQuery, built once per process and
// dropped by TestMain.
var queryBench struct {
	sync.Once
	db     *postgres.DB
	ref    auditlog.OrgRef
	end    time.Time
	err    error
	base   string // the database's DSN
	schema string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if queryBench.schema != "" {
		queryBench.db.Close()
		if conn, err := pgx.Connect(context.Background(), queryBench.base); err == nil {
			_, _ = conn.Exec(context.Background(), `DROP SCHEMA `+pgx.Identifier{queryBench.schema}.Sanitize()+` CASCADE`)
			conn.Close(context.Background())
		}
	}
	os.Exit(code)
}

// BenchmarkQuery reads pages of 100 events of one organization of
// AUDITLOG_BENCH_EVENTS events (default 1,000,000; BENCHMARKS.md uses
// 10,000,000) over the past year (13 monthly partitions), and reports the
// median and p99 latency of each kind of query. 1% of the events have the
// action organizations.gatepolicies.setcodacydefault and 0.1% the word
// "zebra" in their details. The events are written with SQL (INSERT ...
// SELECT), not through AppendEvents: queries read only the events table.
func BenchmarkQuery(b *testing.B) {
	n := storetest.BenchEvents(b, 1_000_000)
	ctx := context.Background()
	queryBench.Do(func() {
		queryBench.db, queryBench.ref, queryBench.end, queryBench.err = buildQueryStore(b, n)
	})
	if queryBench.err != nil {
		b.Fatal(queryBench.err)
	}
	db, ref, end := queryBench.db, queryBench.ref, queryBench.end
	day := end.AddDate(0, -6, 0).Truncate(24 * time.Hour)
	for _, tc := range []struct {
		name string
		f    auditlog.EventFilter
	}{
		{"newest", auditlog.EventFilter{Limit: 100}},
		{"action1pct", auditlog.EventFilter{Limit: 100, Query: &auditlog.Query{Terms: []auditlog.Term{{Field: auditlog.FieldAction, Value: "organizations.gatepolicies.setcodacydefault"}}}}},
		{"day", auditlog.EventFilter{Limit: 100, Query: &auditlog.Query{Terms: []auditlog.Term{{Field: auditlog.FieldCreated, From: day, To: day.Add(24 * time.Hour)}}}}},
		{"word0.1pct", auditlog.EventFilter{Limit: 100, Query: &auditlog.Query{Terms: []auditlog.Term{{Field: auditlog.FieldWord, Value: "zebra"}}}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t := time.Now()
				got := 0
				for _, err := range db.FindEvents(ctx, ref, tc.f) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				lat = append(lat, time.Since(t))
				if got != 100 {
					b.Fatalf("got %d events", got)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// buildQueryStore writes n events of one organization over the past year,
// and a tenth as many of another, with SQL, in a schema of its own that
// TestMain drops when the process ends.
func buildQueryStore(b *testing.B, n int) (*postgres.DB, auditlog.OrgRef, time.Time, error) {
	ctx := context.Background()
	base := pgtest.DSN(b)
	schema := fmt.Sprintf("auditlog_bench_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, auditlog.OrgRef{}, time.Time{}, err
	}
	_, err = admin.Exec(ctx, `CREATE SCHEMA `+schema)
	admin.Close(ctx)
	if err != nil {
		return nil, auditlog.OrgRef{}, time.Time{}, err
	}
	queryBench.base, queryBench.schema = base, schema
	dsn := pgtest.WithSearchPath(base, schema)
	db := newQuietDB(dsn)
	if err := db.Open(ctx); err != nil {
		return nil, auditlog.OrgRef{}, time.Time{}, err
	}
	business := auditlog.PlanBusiness
	for i := 0; i < 2; i++ {
		ref := auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("org-%04d", i)}
		if _, _, err := db.PutOrganization(ctx, ref, auditlog.OrganizationUpdate{Plan: &business}); err != nil {
			return nil, ref, time.Time{}, err
		}
	}
	end := time.Now().UTC().Truncate(time.Millisecond)
	start := end.AddDate(-1, 0, 0)
	if err := postgres.EnsurePartitions(ctx, db, start, end); err != nil {
		return nil, auditlog.OrgRef{}, end, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, auditlog.OrgRef{}, end, err
	}
	defer conn.Close(ctx)
	t0 := time.Now()
	for org, count := range map[int]int{1: n, 2: max(n/10, 1)} {
		if _, err := conn.Exec(ctx, `INSERT INTO events (org_id, ts, seq, id, action, actor_email, actor_role, result, source, received_at,
				repository, entity, description, details, ip, user_agent, salt)
			SELECT $1, $2::timestamptz + (i * $4::bigint) * interval '1 microsecond', i, convert_to(md5(i::text), 'UTF8'),
				CASE WHEN i % 100 = 0 THEN 'organizations.gatepolicies.setcodacydefault'
					ELSE (ARRAY['user.login', 'organizations.gatepolicies.update', 'repositories.tools.update'])[1 + i % 3] END,
				'user' || (i % 500) || '@example.com', 'organizationAdmin', 'succeed', 'UI',
				$2::timestamptz + (i * $4::bigint) * interval '1 microsecond',
				convert_to('repo-' || (i % 40), 'UTF8'), convert_to('ent-' || i, 'UTF8'), convert_to('Tool settings updated', 'UTF8'),
				CASE WHEN i % 1000 = 7 THEN '{"note":"zebra crossing","count":' || (i % 1000) || '}'
					ELSE '{"branch":"main","enabled":true,"count":' || (i % 1000) || '}' END,
				'10.0.' || (i % 256) || '.1',
				convert_to('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36', 'UTF8'),
				decode(md5('salt' || i), 'hex')
			FROM generate_series(0, $3::bigint - 1) AS i`, org, start, count, end.Sub(start).Microseconds()/int64(count)); err != nil {
			return nil, auditlog.OrgRef{}, end, err
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE events`); err != nil {
		return nil, auditlog.OrgRef{}, end, err
	}
	if err := db.IndexClosedMonths(ctx); err != nil {
		return nil, auditlog.OrgRef{}, end, err
	}
	fmt.Fprintf(os.Stderr, "BenchmarkQuery: wrote %d events in %s\n", n+max(n/10, 1), time.Since(t0).Round(time.Second))
	return db, auditlog.OrgRef{Provider: "gh", Name: "org-0000"}, end, nil
}
