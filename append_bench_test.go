package auditlog_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/bench"
)

// benchEvents is n decoded events of auditlog bench's generator over 100
// organizations, as the ingest handler hands them to a store.
func benchEvents(n int) ([]auditlog.Event, []auditlog.OrgRef) {
	orgs := make([]auditlog.OrgRef, 100)
	for i := range orgs {
		orgs[i] = auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("org-%03d", i)}
	}
	g := bench.NewGenerator(1, orgs, 0.5)
	events := make([]auditlog.Event, n)
	now := time.Now()
	for i := range events {
		events[i] = g.Event(now)
		events[i].Details = json.RawMessage(string(events[i].Details))
	}
	return events, orgs
}

// BenchmarkPrepareAppend prepares batches of 1,000 events as both stores'
// writers do: normalization and validation, organizations resolved, ids,
// receipt time and salts given, and, with the tree, the leaf hashes (over
// every processor). Each op copies the batch first (PrepareAppend changes it).
func BenchmarkPrepareAppend(b *testing.B) {
	template, orgs := benchEvents(1000)
	ids := map[auditlog.OrgRef]int{}
	for i, o := range orgs {
		ids[o] = i
	}
	orgID := func(o auditlog.OrgRef) (int, error) { return ids[o], nil }
	for _, leaves := range []bool{true, false} {
		b.Run(map[bool]string{true: "tree", false: "notree"}[leaves], func(b *testing.B) {
			events := make([]auditlog.Event, len(template))
			b.ReportAllocs()
			for b.Loop() {
				copy(events, template)
				if _, err := auditlog.PrepareAppend(events, time.Now(), orgID, leaves, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(template))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
