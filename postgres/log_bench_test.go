package postgres_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
)

// BenchmarkLogEvents reads one organization's 100,000 events with their
// inclusion proofs, as a complete bundle export does, on one goroutine.
func BenchmarkLogEvents(b *testing.B) {
	const n = 100_000
	db := openBenchDB(b, 1)
	skey, _, _ := merkle.GenerateKey("bench")
	key, _ := merkle.ParseKey(skey)
	db.SigningKey = key
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	for i := 0; i < n/1000; i++ {
		events := make([]auditlog.Event, 1000)
		for j := range events {
			events[j] = storetest.BenchEvent(rng, 1, now)
			events[j].Timestamp = now.Add(time.Duration(i*1000+j-n) * time.Millisecond)
		}
		if _, err := db.AppendEvents(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.SignCheckpoints(ctx); err != nil {
		b.Fatal(err)
	}
	ref := auditlog.OrgRef{Provider: "gh", Name: "org-0000"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got := 0
		for pe, err := range db.LogEvents(ctx, ref, n) {
			if err != nil {
				b.Fatal(err)
			}
			if pe.Event == nil || len(pe.Proof) == 0 {
				b.Fatalf("event %d without content or proof", pe.Sequence)
			}
			got++
		}
		if got != n {
			b.Fatalf("read %d events", got)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
