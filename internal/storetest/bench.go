package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	nethttp "net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	ahttp "github.com/auditlog/auditlog/http"
	"github.com/auditlog/auditlog/merkle"
)

// BenchOrgs is how many organizations the stores' ingest benchmarks spread
// their events over; each store's benchmark creates gh/org-0000 and up.
const BenchOrgs = 1000

// BenchEvents returns the number of events a store benchmark writes:
// AUDITLOG_BENCH_EVENTS, or def when it is not set. A value that is not a
// positive integer fails the benchmark rather than run it on nothing.
func BenchEvents(tb testing.TB, def int) int {
	v := os.Getenv("AUDITLOG_BENCH_EVENTS")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("AUDITLOG_BENCH_EVENTS=%q: want a positive integer", v)
	}
	return n
}

// BenchEvent is a realistic ~320-byte event of one of orgs organizations,
// the event of every store's benchmarks.
func BenchEvent(rng *rand.Rand, orgs int, now time.Time) auditlog.Event {
	actions := auditlog.Actions()
	a := actions[rng.IntN(len(actions))]
	return auditlog.Event{
		Organization:   auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("org-%04d", rng.IntN(orgs))},
		Action:         a.Name,
		Actor:          auditlog.Actor{Email: fmt.Sprintf("user%03d@example.com", rng.IntN(500)), Role: auditlog.RoleOrganizationAdmin},
		Timestamp:      now.Add(-time.Duration(rng.IntN(3600000)) * time.Millisecond),
		RepositoryName: fmt.Sprintf("repo-%02d", rng.IntN(40)),
		EntityID:       fmt.Sprintf("ent-%d", rng.IntN(100000)),
		Details:        json.RawMessage(fmt.Sprintf(`{"branch":"main","enabled":%v,"count":%d}`, rng.IntN(2) == 0, rng.IntN(1000))),
		IPAddress:      fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256)),
		UserAgent:      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
	}
}

// BenchIngestHTTP posts batches of 1,000 JSON events over BenchOrgs
// organizations (which db must have) from 4 concurrent clients to a real
// HTTP server on loopback over db, and reports events/s.
func BenchIngestHTTP(b *testing.B, db LogStore) {
	const batch, clients = 1000, 4
	skey, _, _ := merkle.GenerateKey("bench")
	key, _ := merkle.ParseKey(skey)
	srv := ahttp.NewServer()
	srv.Addr, srv.AdminToken, srv.CursorKey = "127.0.0.1:0", "bench-admin-token-0123456789", key.DeriveSecret("cursors")
	srv.Events, srv.Directory, srv.Tokens, srv.Log, srv.LogKey = db, db, db, db, key.VKey
	srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := srv.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close(b.Context()) })

	// Bodies are prepared before the clock starts.
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	bodies := make([][]byte, b.N)
	for i := range bodies {
		events := make([]json.RawMessage, batch)
		for j := range events {
			e := BenchEvent(rng, BenchOrgs, now)
			events[j], _ = json.Marshal(e)
		}
		bodies[i], _ = json.Marshal(events)
	}
	client := &nethttp.Client{Transport: &nethttp.Transport{MaxIdleConnsPerHost: clients}}
	next := make(chan []byte, len(bodies))
	for _, body := range bodies {
		next <- body
	}
	close(next)
	b.ResetTimer()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				req, _ := nethttp.NewRequest("POST", srv.URL()+"/api/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer bench-admin-token-0123456789")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Error(fmt.Sprint("status ", resp.StatusCode))
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchLogOrg is the organization AppendBenchLog fills.
var BenchLogOrg = auditlog.OrgRef{Provider: "gh", Name: "org-0000"}

// AppendBenchLog appends n events (in thousands) of BenchEvent to
// BenchLogOrg, which must exist, in timestamp order as events mostly
// arrive, in durable batches of 1,000, and signs its checkpoint.
func AppendBenchLog(b *testing.B, s LogStore, n int) {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	for i := 0; i < n/1000; i++ {
		events := make([]auditlog.Event, 1000)
		for j := range events {
			events[j] = BenchEvent(rng, 1, now)
			events[j].Timestamp = now.Add(time.Duration(i*1000+j-n) * time.Millisecond)
		}
		if _, err := s.AppendEvents(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.SignCheckpoints(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchLogEvents reads BenchLogOrg's n events with their inclusion proofs,
// as a complete bundle export does, on one goroutine, b.N times.
func BenchLogEvents(b *testing.B, s LogStore, n int) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got := 0
		for pe, err := range s.LogEvents(context.Background(), BenchLogOrg, int64(n)) {
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
