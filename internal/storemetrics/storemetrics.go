// Package storemetrics holds the Prometheus metrics every store reports,
// under the same names, so that dashboards do not depend on the store.
package storemetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a store's Prometheus metrics.
type Metrics struct {
	EventsAppended  prometheus.Counter
	EventsDuplicate prometheus.Counter
	CommitOps       prometheus.Histogram
	CommitSeconds   prometheus.Histogram
	Checkpoints     prometheus.Counter
	Purged          prometheus.Counter
}

// New returns a store's metrics, not yet registered (see Collectors).
func New() *Metrics {
	return &Metrics{
		EventsAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_store_events_appended_total", Help: "Events durably appended.",
		}),
		EventsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_store_events_duplicate_total", Help: "Events not stored because their id was already stored.",
		}),
		CommitOps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auditlog_store_commit_requests", Help: "Append requests sharing one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auditlog_store_commit_seconds", Help: "Time to write and durably commit one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		Checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_checkpoints_signed_total", Help: "Signed checkpoints stored by this server.",
		}),
		Purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_retention_purged_events_total", Help: "Events whose content retention purged.",
		}),
	}
}

// ObserveCommit records one group commit of ops requests that began at start.
func (m *Metrics) ObserveCommit(ops int, start time.Time) {
	m.CommitOps.Observe(float64(ops))
	m.CommitSeconds.Observe(time.Since(start).Seconds())
}

// Collectors returns the metrics for registration.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.EventsAppended, m.EventsDuplicate, m.CommitOps, m.CommitSeconds, m.Checkpoints, m.Purged}
}
