package baseline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is a plain PostgreSQL events table with one index, (org, ts), in
// a schema of its own that Close drops. Rows are written with COPY, one
// transaction per Write, committed durably (synchronous_commit as the
// server has it, on by default).
type Postgres struct {
	pool   *pgxpool.Pool
	schema string
	table  pgx.Identifier
}

var postgresColumns = []string{"org", "seq", "ts", "received_at", "id", "action", "role", "result", "source",
	"actor", "repo", "entity", "description", "details", "ip", "user_agent"}

// OpenPostgres creates a new schema with the events table in the database of dsn.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	p := &Postgres{pool: pool, schema: "auditlog_baseline_" + hex.EncodeToString(b)}
	p.table = pgx.Identifier{p.schema, "events"}
	s := pgx.Identifier{p.schema}.Sanitize()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA `+s+`;
CREATE TABLE `+p.table.Sanitize()+` (
	org         integer     NOT NULL,
	seq         bigint      NOT NULL,
	ts          timestamptz NOT NULL,
	received_at timestamptz NOT NULL,
	id          uuid        NOT NULL,
	action      smallint    NOT NULL,
	role        smallint    NOT NULL,
	result      smallint    NOT NULL,
	source      smallint    NOT NULL,
	actor       text        NOT NULL,
	repo        text        NOT NULL,
	entity      text        NOT NULL,
	description text,
	details     text        NOT NULL,
	ip          text        NOT NULL,
	user_agent  text        NOT NULL
);
CREATE INDEX ON `+p.table.Sanitize()+` (org, ts);`); err != nil {
		pool.Close()
		return nil, fmt.Errorf("create the baseline's schema: %w", err)
	}
	return p, nil
}

// Schema is the name of the baseline's schema.
func (p *Postgres) Schema() string { return p.schema }

// Write copies rows into the table in one transaction.
func (p *Postgres) Write(ctx context.Context, rows []Row) error {
	_, err := p.pool.CopyFrom(ctx, p.table, postgresColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		var description any
		if r.Description.Valid {
			description = r.Description.String
		}
		return []any{int32(r.Org), int64(r.Seq), time.UnixMilli(r.TS), time.UnixMilli(r.Received), r.ID,
			int16(r.Action), int16(r.Role), int16(r.Result), int16(r.Source),
			r.Actor, r.Repo, r.Entity, description, r.Details, r.IP, r.UserAgent}, nil
	}))
	return err
}

// Size is the table's size on disk with its index and TOAST, in bytes.
func (p *Postgres) Size(ctx context.Context) (int64, error) {
	var n int64
	err := p.pool.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass)`, p.table.Sanitize()).Scan(&n)
	return n, err
}

// Close drops the schema and closes the connections.
func (p *Postgres) Close(ctx context.Context) error {
	defer p.pool.Close()
	_, err := p.pool.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{p.schema}.Sanitize()+` CASCADE`)
	return err
}
