package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/pgtest"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/jackc/pgx/v5"
)

// TestDB_Replicas runs three stores (as three servers would) on one schema,
// each with its background signer, and appends into the same organizations
// through all of them at once, retrying every batch, some through another
// server: sequences stay gapless and unique, ids idempotent, every
// checkpoint is the tree of the stored events (no fork), and the store verifies.
func TestDB_Replicas(t *testing.T) {
	ctx := context.Background()
	key := MustNewKey(t)
	a := MustOpenSignedDB(t, key, 20*time.Millisecond)
	servers := []*DB{a, MustOpenAgain(t, a, key, 20*time.Millisecond), MustOpenAgain(t, a, key, 20*time.Millisecond)}
	orgs := []auditlog.OrgRef{acme, beta, gamma}
	for _, ref := range orgs {
		storetest.MustCreateOrg(t, a, ref, auditlog.PlanBusiness)
	}

	const writers, batches, batchSize = 4, 8, 25
	var (
		mu       sync.Mutex
		answered = map[auditlog.OrgRef]map[string]int64{}
		wg       sync.WaitGroup
		errs     = make(chan error, 3*writers*batches*3)
	)
	for _, ref := range orgs {
		answered[ref] = map[string]int64{}
	}
	record := func(batch []auditlog.Event, res *auditlog.AppendResult) error {
		mu.Lock()
		defer mu.Unlock()
		for i, ap := range res.Events {
			ref := batch[i].Organization
			if seq, ok := answered[ref][ap.ID]; ok && seq != ap.Sequence {
				return fmt.Errorf("%s id %s answered at %d and at %d", ref, ap.ID, seq, ap.Sequence)
			}
			answered[ref][ap.ID] = ap.Sequence
		}
		return nil
	}
	for si, s := range servers {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					batch := make([]auditlog.Event, batchSize)
					for i := range batch {
						ref := orgs[(si+w+b+i)%len(orgs)]
						id := fmt.Sprintf("s%d-w%d-b%d-%d", si, w, b, i)
						if i%5 == 4 {
							id = "" // the server assigns it
						}
						batch[i] = storetest.NewEvent(ref, id)
						batch[i].Timestamp = storetest.T0.Add(-time.Duration(b*batchSize+i) * time.Second)
					}
					retry := append([]auditlog.Event(nil), batch...)
					res, err := s.AppendEvents(ctx, batch)
					if err != nil {
						errs <- err
						return
					}
					if err := record(batch, res); err != nil {
						errs <- err
						return
					}
					// The same batch again, with the ids the server gave, through this
					// server or the next one, while the others keep appending.
					for i := range retry {
						retry[i].ID = res.Events[i].ID
					}
					other := servers[(si+b)%len(servers)]
					again, err := other.AppendEvents(ctx, retry)
					if err != nil {
						errs <- err
						return
					}
					if again.Accepted != 0 || again.Duplicates != batchSize {
						errs <- fmt.Errorf("retry of a stored batch: accepted %d, duplicates %d", again.Accepted, again.Duplicates)
						return
					}
					if err := record(retry, again); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	total := 0
	for _, ref := range orgs {
		events := storetest.MustLogEvents(t, a, ref) // fails unless sequences are 0..n-1
		total += len(events)
		for _, e := range events {
			if seq, ok := answered[ref][e.ID]; !ok || seq != e.Sequence {
				t.Errorf("%s: stored %s at %d, answered %d (%v)", ref, e.ID, e.Sequence, seq, ok)
			}
		}
		if len(events) != len(answered[ref]) {
			t.Errorf("%s: %d events stored, %d ids answered", ref, len(events), len(answered[ref]))
		}
	}
	if want := len(servers) * writers * batches * batchSize; total != want {
		t.Errorf("stored %d events, want %d", total, want)
	}

	// Every checkpoint any server signed is the tree of the first events: no fork.
	for _, s := range servers {
		if err := s.SignCheckpoints(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, ref := range orgs {
		leaves := storetest.MustLeaves(t, storetest.MustLogEvents(t, a, ref))
		n := 0
		for note, err := range mustCheckpoints(t, a.DSN, ref) {
			if err != nil {
				t.Fatal(err)
			}
			cp := storetest.MustOpenNote(t, key, ref, note)
			if cp.Root != storetest.MTH(leaves[:cp.Size]) {
				t.Errorf("%s: the checkpoint of %d events is not the tree of the first %d events", ref, cp.Size, cp.Size)
			}
			n++
		}
		if _, size, err := servers[2].LatestCheckpoint(ctx, ref); err != nil || size != int64(len(leaves)) {
			t.Errorf("%s: latest checkpoint %d, %v; want %d", ref, size, err, len(leaves))
		}
		t.Logf("%s: %d events, %d checkpoints", ref, len(leaves), n)
	}
	rep, err := servers[1].Verify(ctx, key.Verifier, nil)
	if err != nil || rep.Events != int64(total) {
		t.Errorf("verify: %+v, %v", rep, err)
	}

	// The same new id through every server at once: stored once, the same answer everywhere.
	var (
		race    sync.WaitGroup
		results = make([]*auditlog.AppendResult, 3*len(servers))
		raceErr = make([]error, len(results))
	)
	for i := range results {
		race.Add(1)
		go func() {
			defer race.Done()
			results[i], raceErr[i] = servers[i%len(servers)].AppendEvents(ctx, []auditlog.Event{storetest.NewEvent(acme, "contested")})
		}()
	}
	race.Wait()
	accepted := 0
	for i, res := range results {
		if raceErr[i] != nil {
			t.Fatal(raceErr[i])
		}
		accepted += res.Accepted
		if res.Events[0].Sequence != results[0].Events[0].Sequence {
			t.Errorf("contested id answered at %d and at %d", res.Events[0].Sequence, results[0].Events[0].Sequence)
		}
	}
	if accepted != 1 {
		t.Errorf("the contested id was stored %d times", accepted)
	}

	// A token deleted through one server is refused by every server at once.
	tok, err := servers[0].CreateToken(ctx, "alice@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range servers {
		if _, err := s.Authenticate(ctx, tok.Secret); err != nil {
			t.Fatalf("server %d: the new token: %v", i, err)
		}
	}
	if err := servers[1].DeleteToken(ctx, "alice@example.com", tok.ID); err != nil {
		t.Fatal(err)
	}
	for i, s := range servers {
		if _, err := s.Authenticate(ctx, tok.Secret); auditlog.ErrorCode(err) != auditlog.EUNAUTHORIZED {
			t.Errorf("server %d: the deleted token: %v, want refused", i, err)
		}
	}
}

// mustCheckpoints yields every stored checkpoint note of ref, by size.
func mustCheckpoints(tb testing.TB, dsn string, ref auditlog.OrgRef) func(func([]byte, error) bool) {
	tb.Helper()
	conn := mustConnect(tb, dsn)
	rows, err := conn.Query(context.Background(), `SELECT c.note FROM checkpoints c JOIN organizations o ON o.id = c.org_id
		WHERE o.provider = $1 AND o.name = $2 ORDER BY c.size`, ref.Provider, ref.Name)
	if err != nil {
		tb.Fatal(err)
	}
	notes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return func(yield func([]byte, error) bool) {
		for _, n := range notes {
			if !yield([]byte(n), nil) {
				return
			}
		}
	}
}

// mustConnect opens a connection to dsn, closed when tb ends.
func mustConnect(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// mustExec runs SQL on the store's schema, as someone with database access would.
func mustExec(tb testing.TB, dsn, sql string, args ...any) int64 {
	tb.Helper()
	conn := mustConnect(tb, dsn)
	tag, err := conn.Exec(context.Background(), sql, args...)
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// TestDB_ConcurrentMigrations opens several stores on one new schema at once:
// each migration is applied once, and every store opens.
func TestDB_ConcurrentMigrations(t *testing.T) {
	dsn, _ := pgtest.MustSchema(t)
	const n = 5
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := newQuietDB(dsn)
			if errs[i] = db.Open(context.Background()); errs[i] == nil {
				errs[i] = db.Close()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
	var applied, versions int
	if err := mustConnect(t, dsn).QueryRow(context.Background(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&applied, &versions); err != nil {
		t.Fatal(err)
	}
	if applied != versions || applied == 0 {
		t.Errorf("schema_migrations holds %d rows of %d versions", applied, versions)
	}
}
