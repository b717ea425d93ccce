package pebble_test

import (
	"context"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/pebble"
	"github.com/google/go-cmp/cmp"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(tb testing.TB, now func() time.Time) auditlog.Store {
		return mustOpenDBAt(tb, tb.TempDir(), now)
	})
}

// DB is a test store: a pebble.DB on a temporary directory with a clock the
// test sets.
type DB struct {
	*pebble.DB
	Dir   string
	Clock *storetest.Clock
}

// MustOpenDB opens a new store in tb.TempDir(), with its clock at storetest.T0.
// It is closed when tb ends.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	clock := storetest.NewClock(storetest.T0)
	dir := tb.TempDir()
	return &DB{DB: mustOpenDBAt(tb, dir, clock.Now), Dir: dir, Clock: clock}
}

// MustReopenDB closes db and opens its directory again, with the same clock.
func MustReopenDB(tb testing.TB, db *DB) *DB {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatalf("close: %v", err)
	}
	return &DB{DB: mustOpenDBAt(tb, db.Dir, db.Clock.Now), Dir: db.Dir, Clock: db.Clock}
}

func mustOpenDBAt(tb testing.TB, dir string, now func() time.Time) *pebble.DB {
	tb.Helper()
	db := pebble.NewDB(dir)
	db.Now = now
	if err := db.Open(); err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close %s: %v", dir, err)
		}
	})
	return db
}

var (
	acme = auditlog.OrgRef{Provider: "gh", Name: "acme"}
	beta = auditlog.OrgRef{Provider: "gl", Name: "beta"}
)

func TestDB_Restart(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustPutMember(t, db, acme, "alice@example.com", auditlog.RoleOrganizationAdmin, true)
	tok, err := db.CreateToken(ctx, "alice@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAppend(t, db, storetest.NewEvent(acme, "a"), storetest.NewEvent(acme, ""), storetest.NewEvent(acme, "c"))
	before := storetest.MustFindEvents(t, db, acme, auditlog.EventFilter{})
	org, err := db.FindOrganization(ctx, acme)
	if err != nil {
		t.Fatal(err)
	}

	db.Clock.Advance(time.Hour)
	db = MustReopenDB(t, db)

	// The directory, the tokens and the events are all still there.
	got, err := db.FindOrganization(ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(org, got); diff != "" {
		t.Errorf("organization after restart (-before +after):\n%s", diff)
	}
	m, err := db.FindMember(ctx, acme, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m.Role != auditlog.RoleOrganizationAdmin || !m.Manager {
		t.Errorf("member after restart: %+v", m)
	}
	if _, err := db.Authenticate(ctx, tok.Secret); err != nil {
		t.Errorf("token after restart: %v", err)
	}
	if diff := cmp.Diff(before, storetest.MustFindEvents(t, db, acme, auditlog.EventFilter{})); diff != "" {
		t.Errorf("events after restart (-before +after):\n%s", diff)
	}

	// The next append continues the sequence, and ids stored before the
	// restart, client's and server's, are still recognized.
	res := storetest.MustAppend(t, db, storetest.NewEvent(acme, "d"), storetest.NewEvent(acme, "a"), storetest.NewEvent(acme, before[1].ID))
	want := &auditlog.AppendResult{Accepted: 1, Duplicates: 2, Events: []auditlog.Appended{{ID: "d", Sequence: 3}, {ID: "a", Sequence: 0}, {ID: before[1].ID, Sequence: 1}}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("append after restart (-want +got):\n%s", diff)
	}
	res = storetest.MustAppend(t, db, storetest.NewEvent(acme, ""))
	if got := res.Events[0].Sequence; got != 4 {
		t.Errorf("second append after restart: sequence %d, want 4", got)
	}
	if n := len(storetest.MustFindEvents(t, db, acme, auditlog.EventFilter{})); n != 5 {
		t.Errorf("%d events, want 5", n)
	}
}

func TestDB_RestartNewOrganization(t *testing.T) {
	// An organization created after a restart is a new one: its events do not
	// mix with those of organizations created before.
	db := MustOpenDB(t)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustAppend(t, db, storetest.NewEvent(acme, "a0"), storetest.NewEvent(acme, "a1"))
	db = MustReopenDB(t, db)

	storetest.MustCreateOrg(t, db, beta, auditlog.PlanBusiness)
	res := storetest.MustAppend(t, db, storetest.NewEvent(beta, "b0"), storetest.NewEvent(acme, "a2"), storetest.NewEvent(beta, "a0"))
	want := &auditlog.AppendResult{Accepted: 3, Events: []auditlog.Appended{{ID: "b0", Sequence: 0}, {ID: "a2", Sequence: 2}, {ID: "a0", Sequence: 1}}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("append (-want +got):\n%s", diff)
	}
	for ref, n := range map[auditlog.OrgRef]int{acme: 3, beta: 2} {
		if got := len(storetest.MustFindEvents(t, db, ref, auditlog.EventFilter{})); got != n {
			t.Errorf("%s: %d events, want %d", ref, got, n)
		}
	}
}

func TestDB_ReopenTwice(t *testing.T) {
	// Many restarts, each adding events: no gap, no duplicate.
	db := MustOpenDB(t)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	for i := range 5 {
		res := storetest.MustAppend(t, db, storetest.NewEvent(acme, ""), storetest.NewEvent(acme, ""))
		if got, want := res.Events[1].Sequence, int64(2*i+1); got != want {
			t.Fatalf("round %d: sequence %d, want %d", i, got, want)
		}
		db = MustReopenDB(t, db)
	}
}

func TestDB_Closed(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); auditlog.ErrorCode(err) != auditlog.EUNAVAILABLE {
		t.Errorf("ready after close: %v, want %s", err, auditlog.EUNAVAILABLE)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}
