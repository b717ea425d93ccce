package postgres

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns the store's metrics for registration (see package storemetrics).
func (db *DB) Collectors() []prometheus.Collector { return db.metrics.Collectors() }
