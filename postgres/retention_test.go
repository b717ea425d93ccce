package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/postgres"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t.Add(12 * time.Hour)
}

// mustPartitions lists the event partitions of the store's schema.
func mustPartitions(tb testing.TB, dsn string) []string {
	tb.Helper()
	rows, err := mustConnect(tb, dsn).Query(context.Background(), `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass ORDER BY 1`)
	if err != nil {
		tb.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

// TestRetention checks that retention drops the partitions in which every
// organization is past retention, deletes the other expired events row by
// row, keeps what is on legal hold, and leaves a log that still proves and
// verifies, with a missing recent event still found.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	key := MustNewKey(t)
	db := MustOpenSignedDB(t, key, 0) // the clock is at storetest.T0, 2025-06-28
	other := MustOpenAgain(t, db, key, 0)
	a, b, c, d := acme, beta, gamma, auditlog.OrgRef{Provider: "gh", Name: "delta"}
	for ref, upd := range map[auditlog.OrgRef]auditlog.OrganizationUpdate{
		a: {RetentionDays: ptr(30)}, b: {RetentionDays: ptr(60)}, c: {RetentionDays: ptr(1), LegalHold: ptr(true)}, d: {RetentionDays: ptr(1)},
	} {
		if _, _, err := db.PutOrganization(ctx, ref, upd); err != nil {
			t.Fatal(err)
		}
	}
	at := func(ref auditlog.OrgRef, id, date string) auditlog.Event {
		e := storetest.NewEvent(ref, id)
		e.Timestamp = day(date)
		return e
	}
	// History imports: the store creates the partitions of these months on demand.
	storetest.MustAppend(t, db,
		at(a, "a0", "2025-01-15"), at(a, "a1", "2025-02-15"), at(a, "a2", "2025-03-15"), at(a, "a3", "2025-04-15"),
		at(a, "a4", "2025-05-15"), at(a, "a5", "2025-05-30"), at(a, "a6", "2025-06-20"),
		at(b, "b0", "2025-01-20"), at(b, "b1", "2025-03-20"), at(b, "b2", "2025-04-10"), at(b, "b3", "2025-04-30"), at(b, "b4", "2025-06-21"),
		at(c, "c0", "2025-03-25"), at(c, "c1", "2025-06-22"))
	storetest.MustAppend(t, other, at(d, "d0", "2025-01-25")) // the other server now knows January's partition
	if err := db.SignCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"events_p202501", "events_p202502", "events_p202503", "events_p202504", "events_p202505", "events_p202506", "events_p202507", "events_p202508"}
	if diff := cmp.Diff(want, mustPartitions(t, db.DSN)); diff != "" {
		t.Fatalf("partitions before retention (-want +got):\n%s", diff)
	}

	n, err := db.PurgeExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 9 {
		t.Errorf("purged %d events, want 9", n)
	}
	// January (a, b, d) and February (a) are dropped whole; March has c's event on
	// legal hold, April b's retained one: they stay, without their expired rows.
	if diff := cmp.Diff(want[2:], mustPartitions(t, db.DSN)); diff != "" {
		t.Errorf("partitions after retention (-want +got):\n%s", diff)
	}
	kept := map[auditlog.OrgRef][]string{a: {"a6", "a5"}, b: {"b4", "b3"}, c: {"c1", "c0"}, d: nil}
	for ref, ids := range kept {
		var got []string
		for _, e := range storetest.MustFindEvents(t, db, ref, auditlog.EventFilter{}) {
			got = append(got, e.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("%s after retention: %v, want %v", ref, got, ids)
		}
	}
	if n, err := db.PurgeExpired(ctx); err != nil || n != 0 {
		t.Errorf("second purge: %d, %v", n, err)
	}

	// What remains proves against the checkpoints signed before the purge.
	for pe, err := range db.LogEvents(ctx, a, 7) {
		if err != nil {
			t.Fatal(err)
		}
		if (pe.Event == nil) != (pe.Sequence < 5) {
			t.Errorf("LogEvents yields event %d with content %v", pe.Sequence, pe.Event != nil)
		}
		note, _, err := db.LatestCheckpoint(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		cp := storetest.MustOpenNote(t, key, a, note)
		leaf := pe.LeafHash
		if pe.Event != nil {
			if leaf, _ = pe.Event.LeafHash(); leaf != pe.LeafHash {
				t.Errorf("event %d: LogEvents gives another leaf hash than its content's", pe.Sequence)
			}
		}
		p := make([][]byte, len(pe.Proof))
		for i := range pe.Proof {
			p[i] = pe.Proof[i][:]
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(pe.Sequence), uint64(cp.Size), leaf[:], p, cp.Root[:]); err != nil {
			t.Errorf("event %d after retention: %v", pe.Sequence, err)
		}
	}
	if _, err := db.ProveConsistency(ctx, a, 7, 0); err != nil {
		t.Error(err)
	}
	rep, err := db.Verify(ctx, key.Verifier, nil)
	if err != nil || rep.Events != 15 || rep.Purged != 9 {
		t.Errorf("verify after retention: %+v, %v; want 15 events, 9 purged", rep, err)
	}

	// An old event imported after its month was dropped: the partition comes
	// back, through the server that still believed it existed too.
	storetest.MustAppend(t, other, at(d, "d1", "2025-01-26"))
	storetest.MustAppend(t, db, at(d, "d2", "2025-01-27"))
	if got := len(storetest.MustFindEvents(t, db, d, auditlog.EventFilter{})); got != 2 {
		t.Errorf("delta holds %d events after the late import, want 2", got)
	}

	// A retained event deleted by hand is still found.
	mustExec(t, db.DSN, `DELETE FROM events WHERE id = 'b3'`)
	if err := db.SignCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = db.Verify(ctx, key.Verifier, nil)
	wantVerifyError(t, err, b, 3, "no signed purge note covers it")
}

// TestRetention_Worker checks that the background worker purges on its own.
func TestRetention_Worker(t *testing.T) {
	ctx := context.Background()
	key := MustNewKey(t)
	db := MustOpenSignedDB(t, key, 0)
	if _, _, err := db.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{RetentionDays: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	old := storetest.NewEvent(acme, "old")
	old.Timestamp = storetest.T0.Add(-48 * time.Hour)
	storetest.MustAppend(t, db, old, storetest.NewEvent(acme, "new"))
	w := MustOpenAgainWith(t, db, func(s *postgres.DB) { s.RetentionInterval, s.SigningKey = 10*time.Millisecond, key })
	deadline := time.Now().Add(10 * time.Second)
	for len(storetest.MustFindEvents(t, w, acme, auditlog.EventFilter{})) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the retention worker did not purge the old event within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPartitions_Pruning shows that a query with a time range reads only the
// partitions of that range (the plan names no other), and that the newest
// page of an organization is an ordered scan that stops after its limit.
func TestPartitions_Pruning(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	var batch []auditlog.Event
	for m := 1; m <= 6; m++ {
		e := storetest.NewEvent(acme, "")
		e.Timestamp = time.Date(2025, time.Month(m), 10, 0, 0, 0, 0, time.UTC)
		batch = append(batch, e)
	}
	storetest.MustAppend(t, db, batch...)
	conn := mustConnect(t, db.DSN)
	plan := func(f auditlog.EventFilter) string {
		sql, args, ok := postgres.FindSQL(1, f)
		if !ok {
			t.Fatal("the filter selects nothing")
		}
		rows, err := conn.Query(ctx, "EXPLAIN "+sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	for _, tc := range []struct {
		name string
		f    auditlog.EventFilter
		want []string
	}{
		{"a range in March", auditlog.EventFilter{From: day("2025-03-02"), To: day("2025-03-20"), Limit: 100}, []string{"events_p202503"}},
		{"a range over April and May", auditlog.EventFilter{From: day("2025-04-20"), To: day("2025-05-02"), Limit: 100}, []string{"events_p202504", "events_p202505"}},
		{"a page after a position in February", auditlog.EventFilter{After: &auditlog.Position{Timestamp: day("2025-02-10"), Sequence: 1}, From: day("2025-01-05"), Limit: 100}, []string{"events_p202501", "events_p202502"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(tc.f)
			t.Logf("plan:\n%s", p)
			for _, part := range mustPartitions(t, db.DSN) {
				if got, want := strings.Contains(p, part+" "), slices.Contains(tc.want, part); got != want {
					t.Errorf("plan reads %s: %v, want %v\n%s", part, got, want, p)
				}
			}
		})
	}
	// The newest page: one ordered Append of backward index scans under the limit, no sort.
	p := plan(auditlog.EventFilter{Limit: 100})
	if !strings.Contains(p, "Limit") || !strings.Contains(p, "Index Scan Backward") || strings.Contains(p, "Sort") {
		t.Errorf("the newest page's plan:\n%s", p)
	}
	t.Logf("newest page:\n%s", p)
}

func ptr[T any](v T) *T { return &v }

// TestPartitions_ActorIndex checks that past months get the actor index and
// the current month does not (ingest does not pay for it), and that erasure
// finds the user's events in both.
func TestPartitions_ActorIndex(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t) // the clock is at storetest.T0, 2025-06-28
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	old, recent := storetest.NewEvent(acme, "old"), storetest.NewEvent(acme, "recent")
	old.Timestamp = day("2025-04-10")
	storetest.MustAppend(t, db, old, recent)
	for range 2 { // again: nothing more to do
		if err := db.IndexClosedMonths(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := mustConnect(t, db.DSN).Query(ctx, `SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE '%actor' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"events_p202504_actor"}; !slices.Equal(got, want) {
		t.Errorf("actor indexes %v, want %v", got, want)
	}
	if n, err := db.EraseUser(ctx, "alice@example.com"); err != nil || n != 2 {
		t.Errorf("erase: %d, %v; want 2", n, err)
	}
}
