package pebble_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
)

// benchLog returns a store of one organization, storetest.BenchLogOrg, of n
// events (storetest.AppendBenchLog), signed with the key it returns.
func benchLog(b *testing.B, n int) (*pebble.DB, *merkle.Key) {
	b.Helper()
	db := openBenchDB(b, 1)
	skey, _, _ := merkle.GenerateKey("bench")
	key, _ := merkle.ParseKey(skey)
	db.SigningKey = key
	storetest.AppendBenchLog(b, db, n)
	return db, key
}

// BenchmarkLogEvents reads one organization's 200,000 events with their
// inclusion proofs, as a complete bundle export does, on one goroutine.
func BenchmarkLogEvents(b *testing.B) {
	const n = 200_000
	db, _ := benchLog(b, n)
	storetest.BenchLogEvents(b, db, n)
}
