package http

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// The ingest admission control's defaults (see admission).
const (
	// DefaultMaxInflightIngestBytes is the request bodies decoded and stored
	// at once. Measured with TestIngestLoad (batches of 1000 events, 300 KB
	// each, 108 clients on this 2-CPU machine, not under the race detector),
	// the server's peak RSS grows about 7 MB per MiB of budget: VmHWM 103 MB
	// at 4 MiB, 131-134 MB at 8 MiB, 186-187 MB at 16 MiB, while its capacity
	// (27 clients) stays within the noise, 12,300-14,400 events/s. 8 MiB
	// (27 such batches, more than the 16 past which group commits stopped
	// raising throughput, or thousands of small requests) keeps ingest to
	// about 45 MB over the ordinary 90 MB and leaves the rest of the 300 MB
	// target to the store's caches and to larger events.
	DefaultMaxInflightIngestBytes = 8 << 20
	// DefaultMaxQueuedIngest is how many more requests may wait for room.
	DefaultMaxQueuedIngest = 64
)

// DefaultIngestQueueWait is how long a request waits for room: an ordinary
// burst is absorbed; a sustained overload is refused quickly.
const DefaultIngestQueueWait = 250 * time.Millisecond

var (
	errIngestBusy      = auditlog.Errorf(auditlog.EUNAVAILABLE, "the server is ingesting as much as it can: send the batch again after Retry-After")
	errIngestQueueFull = auditlog.Errorf(auditlog.EUNAVAILABLE, "too many ingest requests are waiting: send the batch again after Retry-After")
)

// admission is the ingest admission control, a budget of bytes: each
// request weighs its Content-Length (at most the whole budget; a request
// without one, chunked, weighs the whole budget and so runs alone), and is
// decoded and stored while the weights in flight stay within the budget.
// Past it a request waits, at most wait and with at most queue others, in
// FIFO order (a large batch is not overtaken by a stream of small ones),
// and is otherwise refused with 503 and Retry-After. A waiting request has
// not read its body yet, so memory is bounded by the budget.
type admission struct {
	budget  int64
	sem     *semaphore.Weighted
	queue   int64
	wait    time.Duration
	waiting atomic.Int64

	inflightGauge prometheus.Gauge
	bytesGauge    prometheus.Gauge
	waitingGauge  prometheus.Gauge
	refused       *prometheus.CounterVec
	waited        prometheus.Histogram
}

// newAdmission returns the admission control of budget bytes at once, or
// nil (no bound) when budget is 0, and registers its metrics in reg.
func newAdmission(budget int64, queue int, wait time.Duration, reg prometheus.Registerer) *admission {
	if budget <= 0 {
		return nil
	}
	a := &admission{
		budget: budget,
		sem:    semaphore.NewWeighted(budget),
		queue:  int64(queue),
		wait:   wait,
		inflightGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auditlog_ingest_inflight", Help: "Ingest requests being decoded and stored now.",
		}),
		bytesGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auditlog_ingest_inflight_bytes", Help: "The weight (Content-Length, or the whole budget when there is none) of the ingest requests being decoded and stored now.",
		}),
		waitingGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auditlog_ingest_waiting", Help: "Ingest requests waiting for room in the in-flight budget.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_ingest_refused_total", Help: "Ingest requests refused with 503 by the admission control, by reason: timeout (no room freed in time), queue_full (too many waiting).",
		}, []string{"reason"}),
		waited: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auditlog_ingest_admission_wait_seconds", Help: "Time ingest requests waited for room in the in-flight budget, admitted or not.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
	}
	reg.MustRegister(a.inflightGauge, a.bytesGauge, a.waitingGauge, a.refused, a.waited)
	return a
}

// weight is what a request of contentLength bytes (-1: unknown) takes of
// the budget.
func (a *admission) weight(contentLength int64) int64 {
	if contentLength < 0 || contentLength > a.budget {
		return a.budget
	}
	return max(contentLength, 1)
}

// acquire admits a request of contentLength bytes (-1: unknown), waiting
// for room as configured; release gives its weight back. A nil admission
// admits everything.
func (a *admission) acquire(ctx context.Context, contentLength int64) (release func(), err error) {
	if a == nil {
		return func() {}, nil
	}
	n := a.weight(contentLength)
	if a.sem.TryAcquire(n) { // fails while others wait: FIFO
		return a.admitted(n), nil
	}
	if a.wait <= 0 {
		a.refused.WithLabelValues("timeout").Inc()
		return nil, errIngestBusy
	}
	if a.waiting.Add(1) > a.queue {
		a.waiting.Add(-1)
		a.refused.WithLabelValues("queue_full").Inc()
		return nil, errIngestQueueFull
	}
	a.waitingGauge.Inc()
	start := time.Now()
	wctx, cancel := context.WithTimeoutCause(ctx, a.wait, errIngestBusy)
	err = a.sem.Acquire(wctx, n)
	cancel()
	a.waiting.Add(-1)
	a.waitingGauge.Dec()
	a.waited.Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		return a.admitted(n), nil
	case errors.Is(context.Cause(wctx), errIngestBusy):
		a.refused.WithLabelValues("timeout").Inc()
		return nil, errIngestBusy
	default:
		return nil, err // the client is gone
	}
}

func (a *admission) admitted(n int64) func() {
	a.inflightGauge.Inc()
	a.bytesGauge.Add(float64(n))
	return func() {
		a.inflightGauge.Dec()
		a.bytesGauge.Sub(float64(n))
		a.sem.Release(n)
	}
}
