package demo_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/demo"
	"github.com/auditlog/auditlog/pebble"
)

var now = time.Date(2025, 6, 28, 14, 29, 13, 430_123_456, time.UTC)

func mustEvents(tb testing.TB, seed uint64) []auditlog.Event {
	tb.Helper()
	return demo.Events(now, rand.New(rand.NewPCG(seed, 0)))
}

func TestEvents(t *testing.T) {
	events := mustEvents(t, 1)
	if n := len(events); n < 15_000 || n > 25_000 {
		t.Fatalf("got %d events, want 15,000 to 25,000", n)
	}

	start := now.Add(-365 * 24 * time.Hour)
	ids := make(map[string]bool)
	counts := make(map[string]int)
	actors := make(map[string]bool)
	var weekday, weekend, failed, rejected int
	for i, ev := range events {
		if !ev.Timestamp.After(start) || ev.Timestamp.After(now) {
			t.Errorf("event %d: timestamp %s outside (%s, %s]", i, ev.Timestamp, start, now)
		}
		if i > 0 && ev.Timestamp.Before(events[i-1].Timestamp) {
			t.Errorf("event %d: not in chronological order", i)
		}
		if ids[ev.ID] {
			t.Errorf("event %d: duplicate id %q", i, ev.ID)
		}
		ids[ev.ID] = true
		if !strings.HasPrefix(ev.ID, "demo-") {
			t.Errorf("event %d: id %q, want demo-NNNNNN", i, ev.ID)
		}
		if ev.Organization != demo.Org {
			t.Errorf("event %d: organization %v", i, ev.Organization)
		}

		stored := ev
		stored.Normalize(now)
		if err := stored.Validate(now); err != nil {
			t.Errorf("event %d (%s): %v", i, ev.Action, err)
		}
		if stored.Details != nil && !json.Valid(stored.Details) {
			t.Errorf("event %d: invalid details %s", i, stored.Details)
		}

		switch level := ev.Level(); {
		case level == auditlog.LevelRepository && ev.RepositoryName == "":
			t.Errorf("event %d (%s): repository action without repositoryName", i, ev.Action)
		case level != auditlog.LevelRepository && ev.RepositoryName != "":
			t.Errorf("event %d (%s): %s action with repositoryName %q", i, ev.Action, level, ev.RepositoryName)
		}
		if ev.Actor.Role == auditlog.RoleOrganizationManager && ev.Level() != auditlog.LevelOrganization {
			t.Errorf("event %d (%s): organizationManager acting on a %s action", i, ev.Action, ev.Level())
		}
		if ev.Result == auditlog.ResultSucceed && ev.Level() == auditlog.LevelOrganization && ev.Action != "organizations.join" &&
			ev.Actor.Role != auditlog.RoleOrganizationAdmin && ev.Actor.Role != auditlog.RoleOrganizationManager {
			t.Errorf("event %d (%s): succeeded for a %s", i, ev.Action, ev.Actor.Role)
		}

		counts[ev.Action]++
		actors[ev.Actor.Email] = true
		if wd := ev.Timestamp.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekend++
		} else {
			weekday++
		}
		switch ev.Result {
		case auditlog.ResultFailed:
			failed++
		case auditlog.ResultRejected:
			rejected++
		}
	}

	for _, a := range auditlog.Actions() {
		if counts[a.Name] == 0 {
			t.Errorf("action %s never appears", a.Name)
		}
	}
	if counts["organizations.create"] != 1 {
		t.Errorf("organizations.create appears %d times, want once", counts["organizations.create"])
	}
	for action, n := range counts {
		if action != "user.login" && n >= counts["user.login"] {
			t.Errorf("%s (%d) is at least as frequent as user.login (%d)", action, n, counts["user.login"])
		}
	}
	if n := len(actors); n < 6 || n > 10 {
		t.Errorf("got %d actors, want 6 to 10", n)
	}
	// 5 weekdays for 2 weekend days: at 3 times the weekend's daily rate, weekdays hold > 7.5x as many.
	if weekday < 5*weekend {
		t.Errorf("weekday events %d, weekend events %d: want weekdays much busier", weekday, weekend)
	}
	if failed == 0 || rejected == 0 || failed+rejected > len(events)/10 {
		t.Errorf("failed %d, rejected %d of %d: want a few of each", failed, rejected, len(events))
	}
}

func TestEvents_Deterministic(t *testing.T) {
	a, b := mustEvents(t, 7), mustEvents(t, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different events")
	}
	if c := mustEvents(t, 8); reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same events")
	}
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenStore(t, dir, now)
	rec := &batchRecorder{EventService: db}
	s := demo.Services{Directory: db, Tokens: db, Events: rec}

	token, err := demo.Seed(ctx, s, now, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := db.Authenticate(ctx, token); err != nil || tok.Email != demo.AdminEmail {
		t.Fatalf("token %q is not a token of %s: %v, %v", token, demo.AdminEmail, tok, err)
	}
	org, err := db.FindOrganization(ctx, demo.Org)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := org.Plan, auditlog.PlanBusiness; got != want {
		t.Errorf("plan %q, want %q", got, want)
	}

	generated := demo.Events(now, rand.New(rand.NewPCG(1, 0)))
	want := len(generated)
	stored := mustFindEvents(t, db)
	if len(stored) != want {
		t.Fatalf("stored %d events, want %d", len(stored), want)
	}
	ids := make(map[string]bool, len(stored))
	for _, ev := range stored {
		ids[ev.ID] = true
	}
	for _, ev := range generated {
		if !ids[ev.ID] {
			t.Fatalf("event %s was not stored", ev.ID)
		}
	}
	if len(rec.batches) == 0 {
		t.Error("no AppendEvents call")
	}
	for _, n := range rec.batches {
		if n > 1000 {
			t.Errorf("a batch of %d events", n)
		}
	}

	admin, err := db.FindMember(ctx, demo.Org, demo.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	if admin.Role != auditlog.RoleOrganizationAdmin {
		t.Errorf("admin's role %q, want %q", admin.Role, auditlog.RoleOrganizationAdmin)
	}

	// Every member that acts is a member, with the role it acts with.
	members := map[string]*auditlog.Member{demo.AdminEmail: admin}
	for _, ev := range stored {
		m, ok := members[ev.Actor.Email]
		if !ok {
			m, err = db.FindMember(ctx, demo.Org, ev.Actor.Email)
			if err != nil {
				t.Fatalf("actor %s is not a member: %v", ev.Actor.Email, err)
			}
			members[ev.Actor.Email] = m
		}
		if ev.Actor.Role != m.Role && !(m.Manager && ev.Actor.Role == auditlog.RoleOrganizationManager) {
			t.Fatalf("%s acts as %s but is a %s", ev.Actor.Email, ev.Actor.Role, m.Role)
		}
	}
	managers := 0
	for _, m := range members {
		if m.Manager {
			managers++
			if m.Role != auditlog.RoleOrganizationMember {
				t.Errorf("manager %s has role %q, want %q", m.Email, m.Role, auditlog.RoleOrganizationMember)
			}
		}
	}
	if managers != 1 || len(members) < 6 {
		t.Errorf("%d members, %d managers: want several members and one manager", len(members), managers)
	}
	if got, err := db.Memberships(ctx, demo.AdminEmail); err != nil || len(got) != 1 || got[0].OrgRef != demo.Org {
		t.Errorf("admin's memberships: %+v, %v; want %s", got, err, demo.Org)
	}

	// A restart, a day later: a new token, no new events.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenStore(t, dir, now.Add(24*time.Hour))
	rec = &batchRecorder{EventService: db}
	s = demo.Services{Directory: db, Tokens: db, Events: rec}
	token2, err := demo.Seed(ctx, s, now.Add(24*time.Hour), rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := db.Authenticate(ctx, token2); token2 == token || err != nil || tok.Email != demo.AdminEmail {
		t.Errorf("restart: token %q (%v, %v), want a fresh token of %s", token2, tok, err, demo.AdminEmail)
	}
	if n := len(mustFindEvents(t, db)); n != want {
		t.Errorf("restart: %d events, want still %d", n, want)
	}
	if len(rec.batches) != 0 {
		t.Errorf("restart: appended %d batches, want none", len(rec.batches))
	}
}

// mustOpenStore opens the Pebble store in dir, its clock stopped at now; it is closed when tb ends.
func mustOpenStore(tb testing.TB, dir string, now time.Time) *pebble.DB {
	tb.Helper()
	db := pebble.NewDB(dir)
	db.Now = func() time.Time { return now }
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

func mustFindEvents(tb testing.TB, events auditlog.EventService) []*auditlog.Event {
	tb.Helper()
	var out []*auditlog.Event
	for ev, err := range events.FindEvents(context.Background(), demo.Org, auditlog.EventFilter{}) {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// batchRecorder hands AppendEvents to the real store and records the size of each batch.
type batchRecorder struct {
	auditlog.EventService
	batches []int
}

func (r *batchRecorder) AppendEvents(ctx context.Context, events []auditlog.Event) (*auditlog.AppendResult, error) {
	r.batches = append(r.batches, len(events))
	return r.EventService.AppendEvents(ctx, events)
}
