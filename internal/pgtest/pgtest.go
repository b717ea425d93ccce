// Package pgtest gives each test its own PostgreSQL schema, so that test runs
// (and tests within a run) never see each other's data.
//
// The database is AUDITLOG_TEST_POSTGRES_DSN. Without it, or when it cannot be
// reached, tests that need it are skipped, except under CI=true, where they fail:
// CI must run the PostgreSQL store's tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the variable that names the test database.
const EnvDSN = "AUDITLOG_TEST_POSTGRES_DSN"

// DSN returns the test database's DSN, skipping tb (failing it under CI=true) if there is none.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		unavailable(tb, EnvDSN+" is not set")
	}
	return dsn
}

func unavailable(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("PostgreSQL is required under CI=true: %s", why)
	}
	tb.Skipf("PostgreSQL tests skipped: %s (set %s)", why, EnvDSN)
}

// MustSchema creates a new empty schema in the test database, dropped when tb
// ends, and returns a DSN whose search_path is that schema (and its name).
func MustSchema(tb testing.TB) (dsn, schema string) {
	tb.Helper()
	base := DSN(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unavailable(tb, "cannot connect: "+err.Error())
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema = "auditlog_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		if os.Getenv("AUDITLOG_TEST_KEEP_SCHEMA") != "" {
			tb.Logf("kept schema %s", schema)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(base, schema), schema
}

// WithSearchPath returns dsn with its search_path set to schema.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}
