package pebble_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/dirsize"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
)

// BenchmarkDiskBytesPerEvent appends AUDITLOG_BENCH_EVENTS events (default
// 200,000; the figures in docs/adr/0001-embedded-storage.md use 1,000,000
// and 10,000,000) of the shared benchmark generator over 1,000
// organizations, in durable batches of 1,000, with the checkpoint signer and
// the word indexer running as in the server. It then signs the last
// checkpoints, indexes the last word blocks, flushes and compacts the whole
// key space, closes the store and reports the bytes of its directory per
// event: disk-B/event (every file), sst-B/event (the tables alone), and,
// from Pebble's estimates, each key family's share (<prefix>-B/event).
// Run it once: -benchtime 1x.
func BenchmarkDiskBytesPerEvent(b *testing.B) {
	n := storetest.BenchEvents(b, 200_000)
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(b.TempDir(), "db")
		db := pebble.NewDB(dir)
		skey, _, _ := merkle.GenerateKey("bench")
		db.SigningKey, _ = merkle.ParseKey(skey)
		db.RetentionInterval = 0
		if err := db.Open(); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		business := auditlog.PlanBusiness
		for o := 0; o < storetest.BenchOrgs; o++ {
			ref := auditlog.OrgRef{Provider: "gh", Name: "org-" + strconv.Itoa(10000 + o)[1:]}
			if _, _, err := db.PutOrganization(ctx, ref, auditlog.OrganizationUpdate{Plan: &business}); err != nil {
				b.Fatal(err)
			}
		}
		rng := rand.New(rand.NewPCG(1, 1))
		now := time.Now()
		start := time.Now()
		for done := 0; done < n; done += 1000 {
			events := make([]auditlog.Event, min(1000, n-done))
			for j := range events {
				events[j] = storetest.BenchEvent(rng, storetest.BenchOrgs, now)
			}
			if _, err := db.AppendEvents(ctx, events); err != nil {
				b.Fatal(err)
			}
		}
		ingest := time.Since(start)
		if err := db.SignCheckpoints(ctx); err != nil {
			b.Fatal(err)
		}
		if err := pebble.IndexWords(db); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if err := pebble.Settle(db); err != nil {
			b.Fatal(err)
		}
		settle := time.Since(start)
		families, err := pebble.DiskUsageByFamily(db)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		files, err := dirsize.ByExt(dir)
		if err != nil {
			b.Fatal(err)
		}
		var all int64
		for _, n := range files {
			all += n
		}
		sst := files[".sst"]
		perEvent := func(v int64) float64 { return float64(v) / float64(n) }
		b.ReportMetric(perEvent(all), "disk-B/event")
		b.ReportMetric(perEvent(sst), "sst-B/event")
		b.ReportMetric(float64(n)/ingest.Seconds(), "ingest-events/s")
		b.ReportMetric(settle.Seconds(), "compact-s")
		for _, f := range families {
			if perEvent(f.EstimatedDisk) >= 0.05 {
				b.ReportMetric(perEvent(f.EstimatedDisk), familyName(f.Prefix)+"-B/event")
			}
			b.Logf("family %s: %d keys, raw key %.1f B/event, raw value %.1f B/event, on disk (estimate) %.1f B/event",
				familyName(f.Prefix), f.Keys, perEvent(f.KeyBytes), perEvent(f.ValueBytes), perEvent(f.EstimatedDisk))
		}
	}
}

func familyName(p byte) string {
	if p >= '0' && p <= 'z' {
		return string(rune(p))
	}
	return "0x" + strconv.FormatUint(uint64(p), 16)
}
