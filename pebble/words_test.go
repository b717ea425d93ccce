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
			got := pagedIDs(t, db, ref, auditlog.EventFilter{Query: parsed}, limit)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("q=%q limit %d: pages differ from the full scan (-want +got):\n%s", q, limit, diff)
			}
		}
	}
}

// pagedIDs returns the ids of the events f matches, read limit at a time,
// each page after the last event of the page before; limit 0 reads them in
// one call.
func pagedIDs(t *testing.T, db *pebble.DB, ref auditlog.OrgRef, f auditlog.EventFilter, limit int) []string {
	t.Helper()
	f.Limit = limit
	var ids []string
	for {
		n := 0
		for e, err := range db.FindEvents(context.Background(), ref, f) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
			f.After = &auditlog.Position{Timestamp: e.Timestamp, Sequence: e.Sequence}
			n++
		}
		if limit == 0 || n < limit {
			return ids
		}
		if len(ids) > 1_000_000 {
			t.Fatalf("paging %d at a time does not end", limit)
		}
	}
}

// waitIndexed waits until ref has blocks indexed word blocks.
func waitIndexed(t *testing.T, db *pebble.DB, ref auditlog.OrgRef, blocks int) map[string][]byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		f, err := pebble.WordFilters(db, ref)
		if err != nil {
			t.Fatal(err)
		}
		if len(f) >= blocks {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d word blocks indexed after 20s, want %d", len(f), blocks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWordIndexFeed: the background indexer files each complete block from
// the words the writer hands it, reading no event back, and the filters are
// those an index built from the store has; when the feed drops events (the
// worker behind), their blocks are indexed from the store instead.
func TestWordIndexFeed(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("drop=%v", drop), func(t *testing.T) {
			db, ref := openWordsDB(t, 8)
			if drop {
				pebble.SetWordFeedMax(db, 0)
			}
			rng := rand.New(rand.NewPCG(7, 8))
			const n = 203 // 25 complete blocks and a tail
			for i := 0; i < n; {
				batch := min(1+rng.IntN(20), n-i)
				events := make([]auditlog.Event, batch)
				for j := range events {
					e := storetest.NewEvent(ref, "")
					e.Timestamp = storetest.T0.Add(-time.Duration(rng.IntN(5000)) * time.Minute)
					e.Details = json.RawMessage(fmt.Sprintf(`{"note":"word%d and w%d","n":%d}`, rng.IntN(50), i+j, i+j))
					events[j] = e
				}
				storetest.MustAppend(t, db, events...)
				i += batch
			}
			fed := waitIndexed(t, db, ref, n/8)
			if got := len(fed); got != n/8 {
				t.Fatalf("%d blocks indexed, want %d", got, n/8)
			}
			read := pebble.WordBlocksRead(db)
			if dropped := pebble.WordFeedDropped(db); drop && (dropped != n || read != n/8) {
				t.Errorf("feed dropped %d events and %d blocks were read from the store, want %d and %d", dropped, read, n, n/8)
			} else if !drop && (dropped != 0 || read != 0) {
				t.Errorf("feed dropped %d events and %d blocks were read from the store, want none: the indexer files what the writer hands it", dropped, read)
			}

			if err := pebble.DropWordFilters(db, ref); err != nil {
				t.Fatal(err)
			}
			if err := pebble.IndexWords(db); err != nil {
				t.Fatal(err)
			}
			stored, err := pebble.WordFilters(db, ref)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(stored, fed); diff != "" {
				t.Errorf("filters from the feed differ from those built from the store (-store +feed):\n%s", diff)
			}
		})
	}
}
