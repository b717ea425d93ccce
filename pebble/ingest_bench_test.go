package pebble_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
)

// BenchmarkIngestOneOrg is the store's side of a sustained ingest into one
// organization, as auditlog bench --orgs 1 drives the server: 4 goroutines
// append durable batches of 1,000 events, timestamped within the last
// second of the clock, until AUDITLOG_BENCH_EVENTS events (default
// 1,000,000), with the checkpoint signer and the word indexer running. It
// reports events/s, the process's CPU time per event (the generator's
// included, about 3 µs), the same once compactions caught up with the
// ingest (cpu+debt), and logs Pebble's metrics at the end (compactions, write
// amplification per level). Run it once: -benchtime 1x; add -cpuprofile to
// see where the time goes.
func BenchmarkIngestOneOrg(b *testing.B) {
	n := storetest.BenchEvents(b, 1_000_000)
	const clients, batch = 4, 1000
	for i := 0; i < b.N; i++ {
		db := pebble.NewDB(filepath.Join(b.TempDir(), "db"))
		skey, _, _ := merkle.GenerateKey("bench")
		db.SigningKey, _ = merkle.ParseKey(skey)
		db.RetentionInterval = 0
		if err := db.Open(); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		business := auditlog.PlanBusiness
		ref := auditlog.OrgRef{Provider: "gh", Name: "org-0000"}
		if _, _, err := db.PutOrganization(ctx, ref, auditlog.OrganizationUpdate{Plan: &business}); err != nil {
			b.Fatal(err)
		}
		var (
			left atomic.Int64
			wg   sync.WaitGroup
		)
		left.Store(int64(n))
		cpu0 := cpuTime()
		start := time.Now()
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(c), 1))
				for left.Add(-batch) > -batch {
					now := time.Now()
					events := make([]auditlog.Event, batch)
					for j := range events {
						events[j] = storetest.BenchEvent(rng, 1, now)
						events[j].Timestamp = now.Add(-time.Duration(rng.IntN(1000)) * time.Millisecond)
					}
					if _, err := db.AppendEvents(ctx, events); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/event")
		b.Logf("after %d events in %v:\n%s", n, elapsed, pebble.PebbleMetrics(db))
		// The compactions the ingest left to do are part of its cost.
		// Pebble's debt estimate need not reach 0 (L0 below its compaction
		// threshold): it is done when nothing ran for a second.
		for idle, deadline := 0, time.Now().Add(5*time.Minute); idle < 10 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if _, running := pebble.CompactionDebt(db); running == 0 {
				idle++
			} else {
				idle = 0
			}
		}
		debt, _ := pebble.CompactionDebt(db)
		b.Logf("compactions caught up after %v; debt estimate %d MB", time.Since(start)-elapsed, debt>>20)
		b.ReportMetric(time.Since(start).Seconds()-elapsed.Seconds(), "debt-s")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu+debt-µs/event")
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
