package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditlog/auditlog/internal/dirsize"
)

// ingest sends cfg.Events events (or for cfg.Duration) as JSON batches of
// cfg.Batch from cfg.Clients clients, each sending its next batch when the
// last one is acknowledged, and samples throughput, memory and disk every
// cfg.Interval.
func (r *run) ingest(ctx context.Context) error {
	cfg := &r.cfg
	res := &IngestResult{Clients: cfg.Clients, Batch: cfg.Batch, Orgs: cfg.Orgs}
	r.rep.Ingest = res
	share := ""
	if cfg.Orgs > 1 {
		share = fmt.Sprintf(" (%.0f%% to the first)", cfg.BigShare*100)
	}
	cfg.progress("ingest: %d events, %d clients, batches of %d, %d organizations%s", cfg.Events, cfg.Clients, cfg.Batch, cfg.Orgs, share)
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var (
		claimed, acked, big atomic.Int64
		retries             atomic.Int64
		mu                  sync.Mutex
		lat                 []time.Duration
		errs                = make([]error, cfg.Clients)
		wg                  sync.WaitGroup
	)
	r.sent = make([]int64, cfg.Clients)
	start := time.Now()
	for c := range cfg.Clients {
		wg.Go(func() {
			g := NewGenerator(cfg.Seed+uint64(c), r.orgs, cfg.BigShare)
			var body []byte
			var mine []time.Duration
			for ctx.Err() == nil {
				n := min(int64(cfg.Batch), cfg.Events-claimed.Add(int64(cfg.Batch))+int64(cfg.Batch))
				if n <= 0 {
					break
				}
				now := time.Now()
				body = append(body[:0], '[')
				bigHere := 0
				for i := range n {
					e := g.Event(now)
					if e.Organization == r.orgs[0] {
						bigHere++
					}
					if i > 0 {
						body = append(body, ',')
					}
					body = AppendJSON(body, &e)
				}
				body = append(body, ']')
				t0 := time.Now()
				tries, err := r.postBatch(ctx, body, int(n))
				if err != nil {
					if ctx.Err() != nil && cfg.Duration > 0 {
						break // the duration is over: this batch does not count
					}
					errs[c] = err
					cancel()
					return
				}
				mine = append(mine, time.Since(t0))
				retries.Add(int64(tries - 1))
				acked.Add(n)
				big.Add(int64(bigHere))
				r.sent[c] += n
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}

	// The reporter: one interval at a time until the clients are done.
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	var last int64
	lastT := start
	var rates []float64
	for running := true; running; {
		select {
		case <-done:
			running = false
		case now := <-tick.C:
			n := acked.Load()
			iv := Interval{End: now.Sub(start).Seconds(), Events: n, EventsPerSec: float64(n-last) / now.Sub(lastT).Seconds()}
			if r.mem != nil {
				iv.RSSBytes = r.mem.now()
			}
			if r.srv.DataDir != "" {
				iv.DiskBytes, _ = dirsize.Total(r.srv.DataDir)
			}
			res.Intervals = append(res.Intervals, iv)
			rates = append(rates, iv.EventsPerSec)
			cfg.progress("ingest: %6.0fs %11d events %9.0f events/s  rss %s  disk %s",
				iv.End, n, iv.EventsPerSec, mb(iv.RSSBytes), mb(iv.DiskBytes))
			last, lastT = n, now
		}
	}
	elapsed := time.Since(start)
	if err := parent.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) { // the others were canceled after it
			return err
		}
	}
	res.Events, res.Seconds = acked.Load(), elapsed.Seconds()
	res.EventsPerSec = float64(res.Events) / res.Seconds
	res.BigOrgEvents = big.Load()
	res.Retries = int(retries.Load())
	if len(rates) == 0 { // shorter than one interval
		rates = []float64{res.EventsPerSec}
	}
	res.SustainedMin = rates[0]
	for _, v := range rates {
		res.SustainedMin = min(res.SustainedMin, v)
	}
	res.SustainedMedian = median(rates)
	res.BatchLatency = summarize(lat)
	r.rep.Server.StoredEvents += res.Events
	if r.srv.DataDir != "" {
		n, err := dirsize.Total(r.srv.DataDir)
		if err != nil {
			return err
		}
		r.rep.Server.DiskBytesAfterIngest = n
	}
	cfg.progress("ingest: %d events in %.1fs: %.0f events/s (intervals: median %.0f, min %.0f)",
		res.Events, res.Seconds, res.EventsPerSec, res.SustainedMedian, res.SustainedMin)
	return nil
}

// postBatch sends a batch until it is acknowledged: a 429, a 503 or a
// network error is retried (after Retry-After, if given), anything else
// fails. It returns the number of tries.
func (r *run) postBatch(ctx context.Context, body []byte, n int) (int, error) {
	want := []byte(`"accepted":` + strconv.Itoa(n) + `,`)
	for try := 1; ; try++ {
		status, answer, wait, err := r.post(ctx, body)
		switch {
		case err == nil && status == http.StatusOK:
			if !bytes.Contains(answer, want) {
				return try, fmt.Errorf("the server did not accept all %d events: %.300s", n, answer)
			}
			return try, nil
		case ctx.Err() != nil:
			return try, ctx.Err()
		case err == nil && status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable:
			return try, fmt.Errorf("POST /api/v1/events: %d %.300s", status, answer)
		case try == 100:
			return try, fmt.Errorf("POST /api/v1/events: still failing after %d tries: %d %v", try, status, err)
		}
		select {
		case <-ctx.Done():
			return try, ctx.Err()
		case <-time.After(max(wait, 50*time.Millisecond)):
		}
	}
}

// post sends one ingest request.
func (r *run) post(ctx context.Context, body []byte) (status int, answer []byte, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, "POST", r.srv.URL+"/api/v1/events", bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+r.srv.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(resp.Body)
	if s, e := strconv.Atoi(resp.Header.Get("Retry-After")); e == nil {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, answer, retryAfter, err
}

// mb writes bytes as megabytes, "-" for none.
func mb(n int64) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
