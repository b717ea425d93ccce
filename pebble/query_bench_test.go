package pebble_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/pebble"
	"github.com/auditlog/auditlog/query"
)

// BenchmarkQuery measures list queries on one organization of
// AUDITLOG_BENCH_EVENTS events (default 200,000; the figures in BENCHMARKS.md
// use 10,000,000) spread over a year in time order: 1% of them have the action
// organizations.gatepolicies.setcodacydefault and 0.1% the word "zebra" in
// their details. The store is built once under the temp directory and reused.
// Each sub-benchmark reports the median and p99 latency of a 100-event page.
func BenchmarkQuery(b *testing.B) {
	n := storetest.BenchEvents(b, 200_000)
	db, end := openQueryBenchDB(b, n)
	ref := auditlog.OrgRef{Provider: "gh", Name: "big"}
	mid := end.Add(-182 * 24 * time.Hour).Format("2006-01-02")
	for _, tc := range []struct{ name, q string }{
		{"newest", ""},
		{"action1pct", "action:organizations.gatepolicies.setcodacydefault"},
		{"oneday", "created:" + mid},
		{"word", "zebra"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			parsed, err := query.Parse(tc.q, end)
			if err != nil {
				b.Fatal(err)
			}
			f := auditlog.EventFilter{Limit: 100}
			if tc.q != "" {
				f.Query = parsed
			}
			var lat []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				got := 0
				for _, err := range db.FindEvents(context.Background(), ref, f) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				lat = append(lat, time.Since(start))
				if got == 0 {
					b.Fatal("no events")
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func openQueryBenchDB(b *testing.B, n int) (*pebble.DB, time.Time) {
	b.Helper()
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("auditlog-querybench-%d", n))
	_, err := os.Stat(filepath.Join(dir, "complete"))
	fresh := err != nil
	if fresh {
		_ = os.RemoveAll(dir)
	}
	db := pebble.NewDB(filepath.Join(dir, "db"))
	db.Now = func() time.Time { return end }
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if !fresh {
		return db, end
	}
	ctx := context.Background()
	ref := auditlog.OrgRef{Provider: "gh", Name: "big"}
	business := auditlog.PlanBusiness
	if _, _, err := db.PutOrganization(ctx, ref, auditlog.OrganizationUpdate{Plan: &business}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	actions := auditlog.Actions()[:49]
	step := 365 * 24 * time.Hour / time.Duration(n)
	start := end.Add(-365 * 24 * time.Hour)
	for i := 0; i < n; i += 1000 {
		batch := make([]auditlog.Event, min(1000, n-i))
		for j := range batch {
			k := i + j
			e := storetest.BenchEvent(rng, 1, end)
			e.Organization = ref
			e.Timestamp = start.Add(time.Duration(k) * step)
			e.Action = actions[rng.IntN(len(actions))].Name
			if e.Action == "organizations.gatepolicies.setcodacydefault" {
				e.Action = "user.login"
			}
			if k%100 == 0 {
				e.Action = "organizations.gatepolicies.setcodacydefault"
			}
			if k%1000 == 500 {
				e.Details = json.RawMessage(`{"note":"a zebra was seen"}`)
			}
			e.Description = ""
			batch[j] = e
		}
		if _, err := db.AppendEvents(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := pebble.IndexWords(db); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return db, end
}
