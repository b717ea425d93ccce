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

// TestFindByWords_FastIngest: when events arrive so fast that every block's
// time range (as wide as the events' lateness) overlaps hundreds of others
// alike, a page of a rare word still scans the candidate blocks' time
// ranges, newest first, and loads less than half the table blocks a full
// scan does, not a table block per event of each candidate block; and it
// is the page a full scan finds.
func TestFindByWords_FastIngest(t *testing.T) {
	db, ref := openWordsDB(t, 16)
	ctx := context.Background()

	const n, batch = 16000, 200
	rng := rand.New(rand.NewPCG(7, 9))
	now := storetest.T0.Add(-time.Hour)
	for i := 0; i < n; i += batch {
		events := make([]auditlog.Event, batch)
		for j := range events {
			k := i + j
			e := storetest.NewEvent(ref, fmt.Sprint("e", k))
			e.Timestamp = now.Add(-time.Duration(rng.IntN(1000)) * time.Millisecond)
			word := "plain"
			if k%97 == 0 {
				word = "zebra"
			}
			e.Details = json.RawMessage(fmt.Sprintf(`{"note":"a %s thing","n":%d}`, word, k))
			events[j] = e
		}
		storetest.MustAppend(t, db, events...)
		now = now.Add(10 * time.Millisecond) // 20,000 events a second, each up to a second late
	}
	if err := pebble.IndexWords(db); err != nil {
		t.Fatal(err)
	}
	if err := pebble.Settle(db); err != nil {
		t.Fatal(err)
	}
	full, err := pebble.ScanEventBlockBytes(db, ref)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := query.Parse("zebra", storetest.T0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for e, err := range db.FindEvents(ctx, ref, auditlog.EventFilter{Query: parsed}) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, e.ID)
	}
	before := pebble.EventBlockBytes(db)
	var got []string
	for e, err := range db.FindEvents(ctx, ref, auditlog.EventFilter{Query: parsed, Limit: 20}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.ID)
	}
	read := pebble.EventBlockBytes(db) - before
	t.Logf("first page: %d bytes of table blocks read; a full scan reads %d", read, full)
	if diff := cmp.Diff(want[:20], got); diff != "" {
		t.Errorf("first page differs from the full scan (-want +got):\n%s", diff)
	}
	if read > full/2 {
		t.Errorf("first page read %d bytes of table blocks, a full scan %d: want less than half", read, full)
	}
}
