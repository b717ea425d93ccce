package postgres_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
)

// BenchmarkLogEvents reads one organization's 100,000 events with their
// inclusion proofs, as a complete bundle export does, on one goroutine.
func BenchmarkLogEvents(b *testing.B) {
	const n = 100_000
	db := openBenchDB(b, 1)
	skey, _, _ := merkle.GenerateKey("bench")
	key, _ := merkle.ParseKey(skey)
	db.SigningKey = key
	storetest.AppendBenchLog(b, db, n)
	storetest.BenchLogEvents(b, db, n)
}
