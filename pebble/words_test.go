package pebble_test

import (
	"context"
	"encoding/json"
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

// openWordsDB opens a store of word-index blocks of block events, with
// organization gh/acme, closed at the end of the test.
func openWordsDB(t *testing.T, block int64) (*pebble.DB, auditlog.OrgRef) {
	t.Helper()
	db := pebble.NewDB(t.TempDir())
	db.Now = func() time.Time { return storetest.T0 }
	pebble.SetWordBlock(db, block)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ref := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	storetest.MustCreateOrg(t, db, ref, auditlog.PlanBusiness)
	return db, ref
}

// TestFindByWords: a bare-word page read through the word index (small
// blocks, out-of-order timestamps, an unindexed tail) is exactly the page a
// full scan finds, for rare and common words, with and without cursors.
func TestFindByWords(t *testing.T) {
	db, ref := openWordsDB(t, 8)
	ctx := context.Background()

	rng := rand.New(rand.NewPCG(3, 4))
	var events []auditlog.Event
	for i := 0; i < 203; i++ {
		e := storetest.NewEvent(ref, fmt.Sprint("e", i))
		e.Timestamp = storetest.T0.Add(-time.Duration(rng.IntN(5000)) * time.Minute) // out of order
		word := "common"
		switch {
		case i == 5 || i == 77 || i == 190:
			word = "zebra"
		case i%10 == 0:
			word = "tenth"
		}
		e.Details = json.RawMessage(fmt.Sprintf(`{"note":"a %s thing","n":%d}`, word, i))
		events = append(events, e)
	}
	storetest.MustAppend(t, db, events...)
	if err := pebble.IndexWords(db); err != nil {
		t.Fatal(err)
	}

	for _, q := range []string{"zebra", "tenth", "common", "tenth thing", "zebra -thing", "absent", "zebra created:>=2026-01-01", "thing result:succeed",
		"logged tenth", "codacy zebra", "logged"} { // words of the catalog description with words of details
		parsed, err := query.Parse(q, storetest.T0)
		if err != nil {
			t.Fatal(err)
		}
		// The full scan: every match, newest first.
		var want []string
		for e, err := range db.FindEvents(ctx, ref, auditlog.EventFilter{Query: parsed}) {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, e.ID)
		}
		for _, limit := range []int{1, 2, 7, 100, 1000} {
			var got []string
			var after *auditlog.Position
			for page := 0; page < 300; page++ {
				n := 0
				for e, err := range db.FindEvents(ctx, ref, auditlog.EventFilter{Query: parsed, Limit: limit, After: after}) {
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, e.ID)
					after = &auditlog.Position{Timestamp: e.Timestamp, Sequence: e.Sequence}
					n++
				}
				if n < limit {
					break
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("q=%q limit %d: pages differ from the full scan (-want +got):\n%s", q, limit, diff)
			}
		}
	}
}
