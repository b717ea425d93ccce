package postgres_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/storetest"
)

// BenchmarkIngestHTTP is the embedded store's benchmark of the same name on
// PostgreSQL: 4 clients POST JSON batches of 1,000 events over 1,000
// organizations to the real HTTP server on loopback (decoding, validation,
// group commit, Merkle tree, commit).
func BenchmarkIngestHTTP(b *testing.B) {
	storetest.BenchIngestHTTP(b, openBenchDB(b, storetest.BenchOrgs))
}
