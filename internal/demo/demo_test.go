package demo_test

import (
	"context"
	"encoding/json"
	"iter"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/demo"
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
	st := newFakeStore()
	s := demo.Services{Directory: st, Tokens: st, Events: st}

	token, err := demo.Seed(ctx, s, now, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if token == "" || st.tokens[token] != demo.AdminEmail {
		t.Fatalf("token %q is not a token of %s", token, demo.AdminEmail)
	}
	if got, want := st.plan, auditlog.PlanBusiness; got != want {
		t.Errorf("plan %q, want %q", got, want)
	}
	if m := st.members[demo.AdminEmail]; m.Role != auditlog.RoleOrganizationAdmin {
		t.Errorf("admin's role %q, want %q", m.Role, auditlog.RoleOrganizationAdmin)
	}
	managers := 0
	for _, m := range st.members {
		if m.Manager {
			managers++
			if m.Role != auditlog.RoleOrganizationMember {
				t.Errorf("manager %s has role %q, want %q", m.Email, m.Role, auditlog.RoleOrganizationMember)
			}
		}
	}
	if managers != 1 || len(st.members) < 6 {
		t.Errorf("%d members, %d managers: want several members and one manager", len(st.members), managers)
	}
	want := len(demo.Events(now, rand.New(rand.NewPCG(1, 0))))
	if len(st.events) != want {
		t.Fatalf("stored %d events, want %d", len(st.events), want)
	}
	for _, n := range st.batches {
		if n > 1000 {
			t.Errorf("a batch of %d events", n)
		}
	}
	// Every member that acts is a member, with the role it acts with.
	for _, ev := range st.events {
		m, ok := st.members[ev.Actor.Email]
		if !ok {
			t.Fatalf("actor %s is not a member", ev.Actor.Email)
		}
		if ev.Actor.Role != m.Role && !(m.Manager && ev.Actor.Role == auditlog.RoleOrganizationManager) {
			t.Fatalf("%s acts as %s but is a %s", ev.Actor.Email, ev.Actor.Role, m.Role)
		}
	}

	// A restart, a day later: a new token, no new events.
	token2, err := demo.Seed(ctx, s, now.Add(24*time.Hour), rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if token2 == token || st.tokens[token2] != demo.AdminEmail {
		t.Errorf("restart: token %q, want a fresh token of %s", token2, demo.AdminEmail)
	}
	if len(st.events) != want {
		t.Errorf("restart: %d events, want still %d", len(st.events), want)
	}
}

// fakeStore is just enough of a store for Seed.
type fakeStore struct {
	plan    string
	members map[string]auditlog.Member
	tokens  map[string]string // secret to email
	events  []auditlog.Event
	batches []int
}

func newFakeStore() *fakeStore {
	return &fakeStore{members: map[string]auditlog.Member{}, tokens: map[string]string{}}
}

func (f *fakeStore) PutOrganization(_ context.Context, ref auditlog.OrgRef, upd auditlog.OrganizationUpdate) (*auditlog.Organization, bool, error) {
	created := f.plan == ""
	o := &auditlog.Organization{OrgRef: ref, Plan: f.plan}
	upd.Apply(o, created)
	f.plan = o.Plan
	return o, created, nil
}

func (f *fakeStore) FindOrganization(context.Context, auditlog.OrgRef) (*auditlog.Organization, error) {
	panic("not used")
}

func (f *fakeStore) PutMember(_ context.Context, ref auditlog.OrgRef, email string, upd auditlog.MemberUpdate) (*auditlog.Member, bool, error) {
	m, ok := f.members[email]
	m.Org, m.Email = ref, email
	if upd.Role != nil {
		m.Role = *upd.Role
	}
	if upd.Manager != nil {
		m.Manager = *upd.Manager
	}
	if !auditlog.ValidMemberRole(m.Role) {
		return nil, false, auditlog.Errorf(auditlog.EUNPROCESSABLE, "invalid role %q", m.Role)
	}
	f.members[email] = m
	return &m, !ok, nil
}

func (f *fakeStore) FindMember(context.Context, auditlog.OrgRef, string) (*auditlog.Member, error) {
	panic("not used")
}

func (f *fakeStore) DeleteMember(context.Context, auditlog.OrgRef, string) error { panic("not used") }

func (f *fakeStore) Memberships(context.Context, string) ([]auditlog.Membership, error) {
	panic("not used")
}

func (f *fakeStore) CreateToken(_ context.Context, email string, _ *time.Time) (*auditlog.Token, error) {
	secret, _ := auditlog.NewTokenSecret()
	f.tokens[secret] = email
	return &auditlog.Token{ID: auditlog.NewID(8), Email: email, Secret: secret}, nil
}

func (f *fakeStore) Authenticate(context.Context, string) (*auditlog.Token, error) { panic("not used") }

func (f *fakeStore) Tokens(context.Context, string) ([]auditlog.Token, error) { panic("not used") }

func (f *fakeStore) DeleteToken(context.Context, string, string) error { panic("not used") }

func (f *fakeStore) AppendEvents(_ context.Context, events []auditlog.Event) (*auditlog.AppendResult, error) {
	if err := auditlog.PrepareBatch(events, now); err != nil {
		return nil, err
	}
	f.batches = append(f.batches, len(events))
	f.events = append(f.events, events...)
	return &auditlog.AppendResult{Accepted: len(events)}, nil
}

func (f *fakeStore) FindEvents(_ context.Context, ref auditlog.OrgRef, filter auditlog.EventFilter) iter.Seq2[*auditlog.Event, error] {
	return func(yield func(*auditlog.Event, error) bool) {
		for i := len(f.events) - 1; i >= 0; i-- {
			if f.events[i].Organization != ref || !yield(&f.events[i], nil) {
				return
			}
		}
	}
}
