package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/pgtest"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/postgres"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(tb testing.TB, now func() time.Time) auditlog.Store {
		dsn, _ := pgtest.MustSchema(tb)
		return mustOpenDBAt(tb, dsn, now, nil, 0)
	})
}

// DB is a test store: a postgres.DB on a schema of its own with a clock the test sets.
type DB struct {
	*postgres.DB
	DSN   string
	Clock *storetest.Clock
}

// MustOpenDB opens a new store on a new schema, with its clock at
// storetest.T0, no signing key and no background workers. It is closed when tb ends.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	return MustOpenSignedDB(tb, nil, 0)
}

// MustOpenSignedDB opens a new store whose checkpoints key signs, with the
// background signer every interval (0: off; SignCheckpoints signs).
func MustOpenSignedDB(tb testing.TB, key *merkle.Key, interval time.Duration) *DB {
	tb.Helper()
	dsn, _ := pgtest.MustSchema(tb)
	clock := storetest.NewClock(storetest.T0)
	return &DB{DB: mustOpenDBAt(tb, dsn, clock.Now, key, interval), DSN: dsn, Clock: clock}
}

// MustOpenAgain opens another store (another server) on db's schema, with the same clock.
func MustOpenAgain(tb testing.TB, db *DB, key *merkle.Key, interval time.Duration) *DB {
	tb.Helper()
	return &DB{DB: mustOpenDBAt(tb, db.DSN, db.Clock.Now, key, interval), DSN: db.DSN, Clock: db.Clock}
}

// newQuietDB returns a store that logs nothing and runs no retention worker.
func newQuietDB(dsn string) *postgres.DB {
	db := postgres.NewDB(dsn)
	db.RetentionInterval, db.MaintenanceInterval = 0, 0
	db.MaxConns = 8
	db.Logger = quiet
	return db
}

// MustOpenAgainWith opens another store on db's schema, with the same clock,
// configured by configure before it opens.
func MustOpenAgainWith(tb testing.TB, db *DB, configure func(*postgres.DB)) *DB {
	tb.Helper()
	s := newQuietDB(db.DSN)
	s.Now = db.Clock.Now
	s.CheckpointInterval = 0
	configure(s)
	if err := s.Open(context.Background()); err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return &DB{DB: s, DSN: db.DSN, Clock: db.Clock}
}

func mustOpenDBAt(tb testing.TB, dsn string, now func() time.Time, key *merkle.Key, interval time.Duration) *postgres.DB {
	tb.Helper()
	db := newQuietDB(dsn)
	db.Now = now
	db.SigningKey = key
	db.CheckpointInterval = interval
	if err := db.Open(context.Background()); err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

// quiet discards the store's log lines.
var quiet = slog.New(slog.DiscardHandler)

// MustNewKey returns a new checkpoint signing key.
func MustNewKey(tb testing.TB) *merkle.Key {
	tb.Helper()
	skey, _, err := merkle.GenerateKey("test")
	if err != nil {
		tb.Fatal(err)
	}
	k, err := merkle.ParseKey(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
