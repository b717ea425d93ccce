package pebble_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/pebble"
	"github.com/auditlog/auditlog/query"
	"github.com/google/go-cmp/cmp"
)

// TestIndexPostings: actor and action searches, read from postings (a key
// per actor or action per group commit), page exactly as a full scan finds
// the matches: batches whose timestamps overlap each other's, a batch of
// history spread over days (its postings cut into spans), time bounds and
// cursors, several actions at once; and once retention purged the oldest
// events, the postings that listed only those are gone and the pages are
// still those of a full scan.
func TestIndexPostings(t *testing.T) {
	clock := storetest.T0
	db := mustOpenManualDB(t, &clock)
	ctx := context.Background()
	ref := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	storetest.MustCreateOrg(t, db, ref, auditlog.PlanBusiness)

	rng := rand.New(rand.NewPCG(11, 12))
	actors := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	actions := []string{"user.login", "user.tokens.create", "user.tokens.delete", "organizations.create", "organizations.join"}
	for _, a := range actions {
		if _, ok := auditlog.LookupAction(a); !ok {
			t.Fatalf("action %s is not in the catalog", a)
		}
	}
	now := clock.Add(-2 * time.Hour)
	for b := 0; b < 40; b++ {
		events := make([]auditlog.Event, 1+rng.IntN(30))
		for j := range events {
			e := storetest.NewEvent(ref, "")
			e.Actor.Email = actors[rng.IntN(len(actors))]
			e.Action = actions[rng.IntN(len(actions))]
			e.Timestamp = now.Add(-time.Duration(rng.IntN(3000)) * time.Millisecond) // overlapping batches
			if b == 20 {
				e.Timestamp = now.Add(-time.Duration(rng.IntN(5*24*3600)) * time.Second) // history: days apart
			}
			events[j] = e
		}
		storetest.MustAppend(t, db, events...)
		now = now.Add(time.Second)
	}
	check := func(t *testing.T) {
		t.Helper()
		all := storetest.MustFindEvents(t, db, ref, auditlog.EventFilter{})
		for _, q := range []string{"actor:alice@example.com", "actor:bob@example.com result:succeed", "action:user.login", "action:organizations.*",
			"action:user.* actor:carol@example.com", "action:organizations.join created:>=" + clock.Add(-90*time.Minute).Format(time.RFC3339),
			"actor:nobody@example.com", "action:user.tokens.* created:<" + clock.Add(-24*time.Hour).Format(time.RFC3339)} {
			parsed, err := query.Parse(q, clock)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, e := range all {
				if parsed.Match(&e) {
					want = append(want, e.ID)
				}
			}
			for _, limit := range []int{0, 1, 7, 50} {
				got := pagedIDs(t, db, ref, auditlog.EventFilter{Query: parsed}, limit)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("q=%q limit %d: pages differ from the full scan (-want +got):\n%s", q, limit, diff)
				}
			}
		}
	}
	check(t)

	keys := func() int {
		n, err := pebble.IndexKeys(db, 'x')
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := keys()
	days := 2
	if _, _, err := db.PutOrganization(ctx, ref, auditlog.OrganizationUpdate{RetentionDays: &days}); err != nil {
		t.Fatal(err)
	}
	n, err := db.PurgeExpired(ctx)
	if err != nil || n == 0 {
		t.Fatalf("purged %d, %v; want the history batch's older events", n, err)
	}
	if after := keys(); after >= before {
		t.Errorf("action index keys: %d before the purge, %d after; want fewer", before, after)
	}
	t.Run(fmt.Sprintf("after purging %d", n), check)
}
