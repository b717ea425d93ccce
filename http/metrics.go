package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	ingestBatch  prometheus.Histogram
	ingestEvents *prometheus.CounterVec
	readEvents   *prometheus.CounterVec
	rateLimited  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "auditlog_http_request_duration_seconds", Help: "HTTP request latency by route, to the end of the response.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		ingestBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auditlog_ingest_batch_events", Help: "Events per ingest request.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		ingestEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_ingest_events_total", Help: "Ingested events by outcome: accepted, duplicate, rejected.",
		}, []string{"outcome"}),
		readEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_read_events_total", Help: "Events sent to readers, by route.",
		}, []string{"route"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_http_rate_limited_total", Help: "Requests refused with 429 by the rate limits.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.ingestBatch, m.ingestEvents, m.readEvents, m.rateLimited)
	return m
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times each request under its route pattern.
func (s *Server) instrument(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		defer func() {
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
			s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h(sw, r)
	})
}
