package postgres_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	nethttp "net/http"
	"sync"
	"testing"
	"time"

	ahttp "github.com/auditlog/auditlog/http"
	"github.com/auditlog/auditlog/merkle"
)

// BenchmarkIngestHTTP is the embedded store's benchmark of the same name on
// PostgreSQL: 4 clients POST JSON batches of 1,000 events over 1,000
// organizations to the real HTTP server on loopback (decoding, validation,
// group commit, Merkle tree, commit).
func BenchmarkIngestHTTP(b *testing.B) {
	const orgs, batch, clients = 1000, 1000, 4
	db := openBenchDB(b, orgs)
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
			e := benchEvent(rng, orgs, now)
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
	for range clients {
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
