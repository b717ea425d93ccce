package bench

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxInFlight bounds the open-loop load's concurrent requests; a request
// waiting for a slot still counts its wait in its latency.
const maxInFlight = 512

// single sends one-event requests at cfg.SingleRate per second for
// cfg.SingleDuration, on a fixed schedule whatever the answers (open loop).
// Each latency runs from the request's scheduled time to its answer.
func (r *run) single(ctx context.Context) error {
	cfg := &r.cfg
	n := int(cfg.SingleRate * cfg.SingleDuration.Seconds())
	cfg.progress("single events: %d requests at %.0f/s", n, cfg.SingleRate)
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	var firstErr atomic.Value
	slots := make(chan struct{}, maxInFlight)
	g := NewGenerator(cfg.Seed+1000, r.orgs, cfg.BigShare)
	var genMu sync.Mutex
	var wg sync.WaitGroup
	period := time.Duration(float64(time.Second) / cfg.SingleRate)
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * period)
		if d := time.Until(at); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			genMu.Lock()
			e := g.Event(time.Now())
			genMu.Unlock()
			body := AppendJSON([]byte{'['}, &e)
			body = append(body, ']')
			status, answer, _, err := r.post(ctx, body)
			lat[i] = time.Since(at)
			if err != nil || status != http.StatusOK {
				lat[i] = -1 // counted apart
				if errs.Add(1) == 1 {
					firstErr.Store(describe(status, answer, err))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := &SingleResult{Rate: cfg.SingleRate, Seconds: elapsed.Seconds(), Requests: n, Errors: int(errs.Load())}
	res.AchievedPer = float64(n-res.Errors) / res.Seconds
	ok := lat[:0]
	for _, d := range lat {
		if d >= 0 {
			ok = append(ok, d)
		}
	}
	res.Latency = summarize(ok)
	r.rep.Single = res
	r.rep.Server.StoredEvents += int64(n - res.Errors)
	cfg.progress("single events: p50 %.2f ms, p99 %.2f ms, %d errors", res.Latency.P50, res.Latency.P99, res.Errors)
	if res.Errors > 0 {
		cfg.progress("single events: first error: %s", firstErr.Load())
	}
	return nil
}
