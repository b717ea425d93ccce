package pebble_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/pebble"
)

// BenchmarkIngestHTTP posts batches of 1,000 JSON events over 1,000
// organizations from 4 concurrent clients to a real HTTP server on loopback,
// with the Merkle tree and without it: what the tree costs a host.
func BenchmarkIngestHTTP(b *testing.B) {
	b.Run("tree", func(b *testing.B) { storetest.BenchIngestHTTP(b, openBenchDB(b, storetest.BenchOrgs)) })
	b.Run("notree", func(b *testing.B) {
		db := openBenchDB(b, storetest.BenchOrgs)
		pebble.WithoutTree(db)
		storetest.BenchIngestHTTP(b, db)
	})
}
