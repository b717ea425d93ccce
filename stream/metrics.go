package stream

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	delivered *prometheus.CounterVec
	failures  *prometheus.CounterVec
	seconds   *prometheus.HistogramVec
	held      prometheus.Gauge
}

func newMetrics() *metrics {
	return &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_stream_events_delivered_total", Help: "Events that stream receivers acknowledged.",
		}, []string{"type"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_stream_delivery_failures_total", Help: "Stream deliveries that failed (each is retried).",
		}, []string{"type"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "auditlog_stream_delivery_seconds", Help: "Time of one stream delivery (one batch).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"type"}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auditlog_streams_held", Help: "Streams this server delivers: those whose lease it holds (every stream on the embedded store).",
		}),
	}
}

func (m *metrics) observe(typ string, n int, start time.Time, err error) {
	m.seconds.WithLabelValues(typ).Observe(time.Since(start).Seconds())
	if err != nil {
		m.failures.WithLabelValues(typ).Inc()
		return
	}
	m.delivered.WithLabelValues(typ).Add(float64(n))
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.delivered, m.failures, m.seconds, m.held}
}
