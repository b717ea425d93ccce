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

// TestFindByWords_TimestampsOutOfSequence: with events shaped like those of
// `auditlog bench` (four hosts sending batches whose timestamps lie up to a
// second back, so that each block's time range overlaps dozens of others'),
// a page of a rare word loads less than half the table blocks a full scan
// does, not a table block per event of each candidate block; and it is the
// page a full scan finds, also past a cursor and with a late event that
// widens one block's range (read by sequence).
func TestFindByWords_TimestampsOutOfSequence(t *testing.T) {
	db, ref := openWordsDB(t, 16)
	ctx := context.Background()

	const n, batch = 8000, 100
	rng := rand.New(rand.NewPCG(5, 6))
	now := storetest.T0.Add(-time.Hour)
	for i := 0; i < n; i += batch {
		events := make([]auditlog.Event, batch)
		for j := range events {
			k := i + j
			e := storetest.NewEvent(ref, fmt.Sprint("e", k))
			e.Timestamp = now.Add(-time.Duration(rng.IntN(1000)) * time.Millisecond)
			if k == n-40*16 { // a late event: its block's range spans days
				e.Timestamp = now.Add(-72 * time.Hour)
			}
			word := "plain"
			if k%97 == 0 || k == n-40*16 || k == n-40*16+1 {
				word = "zebra"
			}
			e.Details = json.RawMessage(fmt.Sprintf(`{"note":"a %s thing","n":%d}`, word, k))
			events[j] = e
		}
		storetest.MustAppend(t, db, events...)
		now = now.Add(100 * time.Millisecond) // 1,000 events a second, each up to a second late
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
	var all []int64 // every match, newest first, by a full scan (no limit)
	var positions []auditlog.Position
	for e, err := range db.FindEvents(ctx, ref, auditlog.EventFilter{Query: parsed}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, e.Sequence)
		positions = append(positions, auditlog.Position{Timestamp: e.Timestamp, Sequence: e.Sequence})
	}
	if len(all) < 60 {
		t.Fatalf("%d matches, want the test's ~83", len(all))
	}
	for _, c := range []struct {
		name  string
		after int // -1: no cursor
	}{{"first page", -1}, {"after a cursor", 25}, {"last pages", len(all) - 5}} {
		f := auditlog.EventFilter{Query: parsed, Limit: 10}
		want := all[:min(10, len(all))]
		if c.after >= 0 {
			f.After = &positions[c.after]
			want = all[c.after+1 : min(c.after+11, len(all))]
		}
		before := pebble.EventBlockBytes(db)
		var got []int64
		for e, err := range db.FindEvents(ctx, ref, f) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e.Sequence)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: page differs from the full scan's (-want +got):\n%s", c.name, diff)
		}
		read := pebble.EventBlockBytes(db) - before
		t.Logf("%s: %d bytes of table blocks read; a full scan reads %d", c.name, read, full)
		if read > full/2 {
			t.Errorf("%s: read %d bytes of table blocks, more than half of a full scan's %d", c.name, read, full)
		}
	}
}
