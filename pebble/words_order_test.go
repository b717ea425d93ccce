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

// lateEvents is a stream of events shaped like those of `auditlog bench`:
// hosts sending batches whose timestamps lie up to a second back, so that
// each word block's time range overlaps others'. Every 97th event holds the
// rare word "zebra".
type lateEvents struct {
	n, batch int
	step     time.Duration // between batches
	seed     uint64
	late     int // if > 0: this event is days late, and it and the next hold "zebra"
}

// appendLateEvents appends s's events to ref, indexes and settles the
// store, and returns the bytes of table blocks a full scan of ref reads.
func appendLateEvents(t *testing.T, db *pebble.DB, ref auditlog.OrgRef, s lateEvents) int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, s.seed+1))
	now := storetest.T0.Add(-time.Hour)
	for i := 0; i < s.n; i += s.batch {
		events := make([]auditlog.Event, s.batch)
		for j := range events {
			k := i + j
			e := storetest.NewEvent(ref, fmt.Sprint("e", k))
			e.Timestamp = now.Add(-time.Duration(rng.IntN(1000)) * time.Millisecond)
			word := "plain"
			if k%97 == 0 || s.late > 0 && (k == s.late || k == s.late+1) {
				word = "zebra"
			}
			if s.late > 0 && k == s.late { // its block's range spans days
				e.Timestamp = now.Add(-72 * time.Hour)
			}
			e.Details = json.RawMessage(fmt.Sprintf(`{"note":"a %s thing","n":%d}`, word, k))
			events[j] = e
		}
		storetest.MustAppend(t, db, events...)
		now = now.Add(s.step)
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
	return full
}

// findSequences returns the sequences FindEvents yields for f, and the bytes
// of table blocks it read.
func findSequences(t *testing.T, db *pebble.DB, ref auditlog.OrgRef, f auditlog.EventFilter) ([]int64, []auditlog.Position, int64) {
	t.Helper()
	before := pebble.EventBlockBytes(db)
	var seqs []int64
	var positions []auditlog.Position
	for e, err := range db.FindEvents(context.Background(), ref, f) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Sequence)
		positions = append(positions, auditlog.Position{Timestamp: e.Timestamp, Sequence: e.Sequence})
	}
	return seqs, positions, pebble.EventBlockBytes(db) - before
}

// TestFindByWords_TimestampsOutOfSequence: with late events (see
// lateEvents), a page of a rare word loads less than half the table blocks
// a full scan does, not a table block per event of each candidate block;
// and it is the page a full scan finds, past a cursor too. Two streams: a
// thousand events a second with one event days late, which widens one
// block's range (read by sequence); and twenty thousand a second, at which
// every block's time range overlaps hundreds of others alike.
func TestFindByWords_TimestampsOutOfSequence(t *testing.T) {
	parsed, err := query.Parse("zebra", storetest.T0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name string
		lateEvents
	}{
		{"1,000 a second, one days late", lateEvents{n: 8000, batch: 100, step: 100 * time.Millisecond, seed: 5, late: 8000 - 40*16}},
		{"20,000 a second", lateEvents{n: 16000, batch: 200, step: 10 * time.Millisecond, seed: 7}},
	} {
		t.Run(s.name, func(t *testing.T) {
			db, ref := openWordsDB(t, 16)
			full := appendLateEvents(t, db, ref, s.lateEvents)
			all, positions, _ := findSequences(t, db, ref, auditlog.EventFilter{Query: parsed}) // every match, newest first
			if len(all) < 60 {
				t.Fatalf("%d matches, want the test's 80 and more", len(all))
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
				got, _, read := findSequences(t, db, ref, f)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: page differs from the full scan's (-want +got):\n%s", c.name, diff)
				}
				t.Logf("%s: %d bytes of table blocks read; a full scan reads %d", c.name, read, full)
				if read > full/2 {
					t.Errorf("%s: read %d bytes of table blocks, more than half of a full scan's %d", c.name, read, full)
				}
			}
		})
	}
}
