package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/pebble"
	"github.com/auditlog/auditlog/stream"
	"github.com/auditlog/auditlog/webhook"
)

// BenchmarkWebhookStream measures whether a webhook stream keeps pace with
// ingest: 4 clients append batches of 1,000 events to one organization as
// fast as the store takes them, while one webhook stream delivers them (100
// per signed POST) to a receiver on 127.0.0.1 that checks each signature.
// It reports the ingest rate, the delivery rate (events over the time from
// the first append to the last acknowledgement) and the lag at the end.
//
// The Paced variant appends at 20,000 events a second (a batch of 1,000
// every 50 ms, from one client) and reports the largest lag seen at a batch.
//
//	go test ./stream -run '^$' -bench WebhookStream -benchtime 200000x
func BenchmarkWebhookStream(b *testing.B) { benchmarkWebhookStream(b, 4, 0) }

func BenchmarkWebhookStreamPaced(b *testing.B) { benchmarkWebhookStream(b, 1, 50*time.Millisecond) }

func benchmarkWebhookStream(b *testing.B, clients int, every time.Duration) {
	const batch = 1000
	total := max(b.N/batch, clients) * batch

	var received atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if client.VerifyWebhook("bench-secret", r.Header.Get(client.WebhookSignatureHeader), body, time.Minute) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if received.Add(int64(bytes.Count(body, []byte(`{"organization":`)))) == int64(total) {
			close(done)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	w := stream.NewWorker(nil)
	w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	w.Deliverers[auditlog.StreamWebhook] = webhook.NewDeliverer(30 * time.Second)
	db := pebble.NewDB(b.TempDir())
	db.Logger = w.Logger
	db.StreamKey = storetest.MustStreamKey(b, 1)
	db.Committed = w.Notify
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w.Store = db
	if err := w.Open(); err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	storetest.MustCreateOrg(b, db, acme, auditlog.PlanBusiness)
	storetest.MustCreateStream(b, w, auditlog.Stream{Org: acme, Type: auditlog.StreamWebhook, URL: srv.URL},
		auditlog.StreamSecrets{URL: srv.URL, Secret: []byte("bench-secret")})

	b.ResetTimer()
	start := time.Now()
	var maxLag atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < total/batch; i += clients {
				if every > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
					if lag := int64(i*batch) - received.Load(); lag > maxLag.Load() {
						maxLag.Store(lag)
					}
				}
				events := make([]auditlog.Event, batch)
				for j := range events {
					events[j] = storetest.NewEvent(acme, "")
					events[j].Details = []byte(fmt.Sprintf(`{"ip":"10.0.%d.%d","request":"r-%d"}`, i%256, j%256, i*batch+j))
				}
				if _, err := db.AppendEvents(context.Background(), events); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ingested := time.Since(start)
	lagEvents := int64(total) - received.Load()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("delivered %d of %d events", received.Load(), total)
	}
	delivered := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(total)/ingested.Seconds(), "ingest-events/s")
	b.ReportMetric(float64(total)/delivered.Seconds(), "delivered-events/s")
	b.ReportMetric(float64(lagEvents), "lag-events-at-ingest-end")
	b.ReportMetric((delivered - ingested).Seconds(), "catch-up-s")
	if every > 0 {
		b.ReportMetric(float64(maxLag.Load()), "max-lag-events")
	}
	b.ReportMetric(0, "ns/op")
}
