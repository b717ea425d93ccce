package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded SQL file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, path := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", path)
		}
		b, err := migrationFS.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must be 1, 2, 3, ... without gaps", out[i].name)
		}
	}
	return out, nil
}

// migrate applies the migrations the database lacks, in order, in one
// transaction that first takes an advisory lock of this schema: several
// servers starting at once apply each migration once, the others wait and
// then find it applied.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('auditlog migrate ' || current_schema(), 0))`); err != nil {
			return fmt.Errorf("postgres: lock for migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("postgres: create schema_migrations (is search_path a schema this user may write?): %w", err)
		}
		applied, err := appliedVersion(ctx, tx)
		if err != nil {
			return err
		}
		if applied > len(ms) {
			return fmt.Errorf("postgres: the database schema is at version %d; this binary knows versions up to %d: upgrade it", applied, len(ms))
		}
		for _, m := range ms[applied:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("postgres: migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
			db.Logger.Info("applied database migration", "migration", m.name)
		}
		return nil
	})
}

// checkSchema makes sure that a database opened read-only has exactly the
// schema this binary knows.
func (db *DB) checkSchema(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	v, err := appliedVersion(ctx, db.pool)
	if err != nil {
		return fmt.Errorf("postgres: read schema version (is this an auditlog database, and search_path its schema?): %w", err)
	}
	if v != len(ms) {
		return fmt.Errorf("postgres: the database schema is at version %d; this binary reads version %d", v, len(ms))
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func appliedVersion(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
