package postgres_test

import (
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/pgtest"
	"github.com/auditlog/auditlog/internal/seal"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/postgres"
)

func TestStreamStore(t *testing.T) {
	storetest.RunStreams(t, func(tb testing.TB, now func() time.Time, key *seal.Key) storetest.StreamStore {
		dsn, _ := pgtest.MustSchema(tb)
		db := mustOpenDBAt(tb, dsn, now, nil, 0)
		db.StreamKey = key
		return db
	})
}

var _ storetest.StreamStore = (*postgres.DB)(nil)
