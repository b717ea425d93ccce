package postgres

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the store's Prometheus metrics, named as the embedded store's.
type Metrics struct {
	eventsAppended  prometheus.Counter
	eventsDuplicate prometheus.Counter
	commitOps       prometheus.Histogram
	commitSeconds   prometheus.Histogram
	checkpoints     prometheus.Counter
	purged          prometheus.Counter
}

func newMetrics() *Metrics {
	return &Metrics{
		eventsAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_store_events_appended_total", Help: "Events durably appended.",
		}),
		eventsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_store_events_duplicate_total", Help: "Events not stored because their id was already stored.",
		}),
		commitOps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auditlog_store_commit_requests", Help: "Append requests sharing one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auditlog_store_commit_seconds", Help: "Time to write and commit one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_checkpoints_signed_total", Help: "Signed checkpoints stored by this server.",
		}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_retention_purged_total", Help: "Events whose content retention deleted.",
		}),
	}
}

func (m *Metrics) observeCommit(ops int, start time.Time) {
	m.commitOps.Observe(float64(ops))
	m.commitSeconds.Observe(time.Since(start).Seconds())
}

// Collectors returns the store's metrics for registration.
func (db *DB) Collectors() []prometheus.Collector {
	m := db.metrics
	return []prometheus.Collector{m.eventsAppended, m.eventsDuplicate, m.commitOps, m.commitSeconds, m.checkpoints, m.purged}
}
