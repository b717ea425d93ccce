package http

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/prometheus/client_golang/prometheus"
)

// The ingest admission control's defaults (see admission).
const (
	// DefaultMaxInflightIngest: ingest throughput grows with the batches in
	// flight, because they share the writer's group commits (one fsync), up
	// to about 16 here; memory grows with them too (about 4 MB per batch of
	// 1000 events: 130 MB of RSS at 16 against 90 MB at 4). Measured with
	// auditlog bench, 16 clients, batches of 1000, on 2 CPUs: 2 slots 4,900
	// events/s, 4: 4,700, 8: 5,600, 16: 7,000, unbounded: 7,700 (medians of
	// 2 noisy runs).
	DefaultMaxInflightIngest = 16
	// DefaultMaxQueuedIngest is how many more requests may wait for a slot.
	DefaultMaxQueuedIngest = 4 * DefaultMaxInflightIngest
)

// DefaultIngestQueueWait is how long a request waits for a slot: an ordinary
// burst is absorbed; a sustained overload is refused quickly.
const DefaultIngestQueueWait = 250 * time.Millisecond

var (
	errIngestBusy      = auditlog.Errorf(auditlog.EUNAVAILABLE, "the server is ingesting as much as it can: send the batch again after Retry-After")
	errIngestQueueFull = auditlog.Errorf(auditlog.EUNAVAILABLE, "too many ingest requests are waiting: send the batch again after Retry-After")
)

// admission is the ingest admission control: at most slots batches are
// decoded and stored at once; past that a request waits, at most wait and
// with at most queue others, for a free slot, and is otherwise refused with
// 503 and Retry-After. A waiting request has not read its body yet, so
// memory is bounded by the slots times the largest batch (MaxBatchBytes).
type admission struct {
	slots   chan struct{}
	queue   int64
	wait    time.Duration
	waiting atomic.Int64

	inflightGauge prometheus.Gauge
	waitingGauge  prometheus.Gauge
	refused       *prometheus.CounterVec
	waited        prometheus.Histogram
}

// newAdmission returns the admission control of slots batches at once, or
// nil (no bound) when slots is 0, and registers its metrics in reg.
func newAdmission(slots, queue int, wait time.Duration, reg prometheus.Registerer) *admission {
	if slots <= 0 {
		return nil
	}
	a := &admission{
		slots: make(chan struct{}, slots),
		queue: int64(queue),
		wait:  wait,
		inflightGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auditlog_ingest_inflight", Help: "Ingest requests being decoded and stored now.",
		}),
		waitingGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auditlog_ingest_waiting", Help: "Ingest requests waiting for a free ingest slot.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_ingest_refused_total", Help: "Ingest requests refused with 503 by the admission control, by reason: timeout (no slot freed in time), queue_full (too many waiting).",
		}, []string{"reason"}),
		waited: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auditlog_ingest_admission_wait_seconds", Help: "Time ingest requests waited for a free slot, admitted or not.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
	}
	reg.MustRegister(a.inflightGauge, a.waitingGauge, a.refused, a.waited)
	return a
}

// acquire takes an ingest slot, waiting for one as configured; release
// gives it back. A nil admission admits everything.
func (a *admission) acquire(ctx context.Context) (release func(), err error) {
	if a == nil {
		return func() {}, nil
	}
	select {
	case a.slots <- struct{}{}:
		return a.admitted(), nil
	default:
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
	t := time.NewTimer(a.wait)
	defer func() {
		t.Stop()
		a.waiting.Add(-1)
		a.waitingGauge.Dec()
		a.waited.Observe(time.Since(start).Seconds())
	}()
	select {
	case a.slots <- struct{}{}:
		return a.admitted(), nil
	case <-t.C:
		a.refused.WithLabelValues("timeout").Inc()
		return nil, errIngestBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *admission) admitted() func() {
	a.inflightGauge.Inc()
	return func() {
		a.inflightGauge.Dec()
		<-a.slots
	}
}
