package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/pgtest"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
)

func TestLog(t *testing.T) {
	storetest.RunLog(t, func(tb testing.TB, now func() time.Time, key *merkle.Key) storetest.LogStore {
		dsn, _ := pgtest.MustSchema(tb)
		return mustOpenDBAt(tb, dsn, now, key, 0)
	})
}

var (
	acme  = auditlog.OrgRef{Provider: "gh", Name: "acme"}
	beta  = auditlog.OrgRef{Provider: "gl", Name: "beta"}
	gamma = auditlog.OrgRef{Provider: "bb", Name: "gamma"}
)

// waitCheckpoint waits for a signed checkpoint of ref of at least size events.
func waitCheckpoint(tb testing.TB, db *DB, ref auditlog.OrgRef, size int64) int64 {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, got, err := db.LatestCheckpoint(context.Background(), ref)
		if err == nil && got >= size {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no checkpoint of %s with %d events after 10s (latest %d, %v)", ref, size, got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
