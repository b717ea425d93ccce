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
)

func openBenchDB(b *testing.B, orgs int) *pebble.DB {
	b.Helper()
	db := pebble.NewDB(b.TempDir())
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	business := auditlog.PlanBusiness
	for i := 0; i < orgs; i++ {
		ref := auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("org-%04d", i)}
		if _, _, err := db.PutOrganization(context.Background(), ref, auditlog.OrganizationUpdate{Plan: &business}); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkAppendBatch1000 appends durable batches of 1,000 events spread over
// 1,000 organizations, one batch after another, with the Merkle tree (tree)
// and without it (notree), to measure what the tree costs.
func BenchmarkAppendBatch1000(b *testing.B) {
	b.Run("tree", func(b *testing.B) { benchAppendBatch(b, false) })
	b.Run("notree", func(b *testing.B) { benchAppendBatch(b, true) })
}

func benchAppendBatch(b *testing.B, noTree bool) {
	const orgs, batch = 1000, 1000
	db := openBenchDB(b, orgs)
	if noTree {
		pebble.WithoutTree(db)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		events := make([]auditlog.Event, batch)
		for j := range events {
			events[j] = storetest.BenchEvent(rng, orgs, now)
		}
		b.StartTimer()
		if _, err := db.AppendEvents(context.Background(), events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendConcurrentSingle appends one event per call from many
// goroutines: the group commit shares fsyncs between them.
func BenchmarkAppendConcurrentSingle(b *testing.B) {
	const orgs = 100
	db := openBenchDB(b, orgs)
	now := time.Now()
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
		for pb.Next() {
			if _, err := db.AppendEvents(context.Background(), []auditlog.Event{storetest.BenchEvent(rng, orgs, now)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkFindNewest100 reads the newest 100 events of one organization of 200,000.
func BenchmarkFindNewest100(b *testing.B) {
	db := openBenchDB(b, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	for i := 0; i < 200; i++ {
		events := make([]auditlog.Event, 1000)
		for j := range events {
			events[j] = storetest.BenchEvent(rng, 1, now)
		}
		if _, err := db.AppendEvents(context.Background(), events); err != nil {
			b.Fatal(err)
		}
	}
	ref := auditlog.OrgRef{Provider: "gh", Name: "org-0000"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for _, err := range db.FindEvents(context.Background(), ref, auditlog.EventFilter{Limit: 100}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100 {
			b.Fatalf("got %d events", n)
		}
	}
}

// BenchmarkVerify audits a store of one organization with 200,000 events.
func BenchmarkVerify(b *testing.B) {
	const n = 200_000
	db, key := benchLog(b, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := db.Verify(context.Background(), key.Verifier, nil)
		if err != nil || rep.Events != n {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
