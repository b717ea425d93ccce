package postgres_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/google/go-cmp/cmp"
)

// TestFindEvents_Query checks the terms FindEvents turns into SQL, and the
// list positions, against Query.Match over every event: for random queries
// (each field, negated or not, prefixes, created ranges, bare words, and
// combinations), with limits and pages, the store returns exactly the
// matching events in list order.
func TestFindEvents_Query(t *testing.T) {
	db := MustOpenDB(t)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustCreateOrg(t, db, beta, auditlog.PlanBusiness)
	rng := rand.New(rand.NewPCG(4, 2))
	actions := auditlog.Actions()
	var batch []auditlog.Event
	for i := range 600 {
		e := storetest.NewEvent(acme, "")
		if i%10 == 9 {
			e.Organization = beta
		}
		e.Action = actions[rng.IntN(len(actions))].Name
		e.Actor = auditlog.Actor{Email: fmt.Sprintf("user%d@example.com", rng.IntN(4)), Role: auditlog.MemberRoles[rng.IntN(len(auditlog.MemberRoles))]}
		e.Result = []string{auditlog.ResultSucceed, auditlog.ResultFailed, auditlog.ResultRejected}[rng.IntN(3)]
		e.Source = []string{auditlog.SourceUI, auditlog.SourceAPI}[rng.IntN(2)]
		e.RepositoryName = []string{"", "api", "web", "a\x00b"}[rng.IntN(4)]
		e.EntityID = fmt.Sprintf("ent-%d", rng.IntN(3))
		e.Details = json.RawMessage(fmt.Sprintf(`{"branch":%q}`, []string{"main", "develop", "release-1"}[rng.IntN(3)]))
		// Timestamps over three months, some equal, not in sequence order.
		e.Timestamp = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(85*24)) * time.Hour)
		batch = append(batch, e)
	}
	// Words that only escapes, non-ASCII letters or another case show: the
	// SQL prefilter of bare words must let them through to Match.
	for i, tc := range []struct{ desc, details string }{
		{"plain", `{"note":"\u0041bc \u00e9t\u00e9"}`},          // abc, été
		{"KELVIN \u212Abc", `{}`},                               // a Kelvin sign lower-cases to k: kbc
		{"nul\x00byte Abc", `{"x":"y"}`},                        // abc after a NUL
		{"caf\u00e9 ABC-DEF", `{"n":["ZEBRA"]}`},                // café, abc, def, zebra
		{"release notes", `{"deep":{"list":["Rel\u0065ase"]}}`}, // release
	} {
		e := storetest.NewEvent(acme, fmt.Sprintf("special-%d", i))
		e.Description, e.Details = tc.desc, json.RawMessage(tc.details)
		e.Timestamp = time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
		batch = append(batch, e)
	}
	storetest.MustAppend(t, db, batch...)
	all := storetest.MustFindEvents(t, db, acme, auditlog.EventFilter{})

	day := func(d int) time.Time { return time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
	terms := []auditlog.Term{
		{Field: auditlog.FieldAction, Value: "user.login"},
		{Field: auditlog.FieldAction, Value: "organizations.gatepolicies.", Prefix: true},
		{Field: auditlog.FieldAction, Value: "repositories.", Prefix: true},
		{Field: auditlog.FieldActor, Value: "user1@example.com"},
		{Field: auditlog.FieldRepo, Value: "api"},
		{Field: auditlog.FieldRepo, Value: "a\x00b"},
		{Field: auditlog.FieldResult, Value: auditlog.ResultFailed},
		{Field: auditlog.FieldSource, Value: auditlog.SourceAPI},
		{Field: auditlog.FieldRole, Value: auditlog.RoleOrganizationAdmin},
		{Field: auditlog.FieldEntity, Value: "ent-2"},
		{Field: auditlog.FieldLevel, Value: string(auditlog.LevelRepository)},
		{Field: auditlog.FieldLevel, Value: string(auditlog.LevelUser)},
		{Field: auditlog.FieldCreated, From: day(10), To: day(40)},
		{Field: auditlog.FieldCreated, From: day(60)},
		{Field: auditlog.FieldCreated, To: day(20).Add(time.Millisecond / 2)},
		{Field: auditlog.FieldWord, Value: "develop"},
		{Field: auditlog.FieldWord, Value: "rel", Prefix: true},
		{Field: auditlog.FieldWord, Value: "codacy"},
		{Field: auditlog.FieldWord, Value: "abc"},
		{Field: auditlog.FieldWord, Value: "kbc"},
		{Field: auditlog.FieldWord, Value: "zebra"},
		{Field: auditlog.FieldWord, Value: "rel", Prefix: true},
		{Field: auditlog.FieldWord, Value: "café"},
		{Field: auditlog.FieldWord, Value: "été"},
	}
	for i := range 300 {
		q := &auditlog.Query{}
		for range 1 + rng.IntN(3) {
			term := terms[rng.IntN(len(terms))]
			term.Negate = rng.IntN(3) == 0
			q.Terms = append(q.Terms, term)
		}
		f := auditlog.EventFilter{Query: q}
		if rng.IntN(2) == 0 {
			f.From = day(rng.IntN(90))
		}
		if rng.IntN(2) == 0 {
			f.To = day(rng.IntN(90))
		}
		var want []string
		for _, e := range all {
			if q.Match(&e) && (f.From.IsZero() || !e.Timestamp.Before(f.From)) && (f.To.IsZero() || !e.Timestamp.After(f.To)) {
				want = append(want, e.ID)
			}
		}
		got := ids(storetest.MustFindEvents(t, db, acme, f))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("query %d %+v, from %s to %s (-want +got):\n%s", i, q.Terms, f.From, f.To, diff)
		}
		// The same, in pages that continue from the last event of the one before.
		f.Limit = 1 + rng.IntN(40)
		var paged []string
		for {
			page := storetest.MustFindEvents(t, db, acme, f)
			paged = append(paged, ids(page)...)
			if len(page) < f.Limit {
				break
			}
			last := page[len(page)-1]
			f.After = &auditlog.Position{Timestamp: last.Timestamp, Sequence: last.Sequence}
		}
		if !slices.Equal(want, paged) {
			t.Fatalf("query %d in pages of %d: %d events, want %d", i, f.Limit, len(paged), len(want))
		}
	}
}

func ids(events []auditlog.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}
