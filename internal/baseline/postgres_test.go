package baseline_test

import (
	"context"
	"testing"

	"github.com/auditlog/auditlog/internal/baseline"
	"github.com/auditlog/auditlog/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestPostgres(t *testing.T) {
	ctx := context.Background()
	p, err := baseline.OpenPostgres(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			p.Close(ctx)
		}
	}()
	rows := mustRows(t, 2000)
	if err := p.Write(ctx, rows[:1000]); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(ctx, rows[1000:]); err != nil {
		t.Fatal(err)
	}
	size, err := p.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if size < 2000*100 {
		t.Errorf("size %d bytes for 2,000 rows", size)
	}
	conn, err := pgx.Connect(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	var desc string
	table := pgx.Identifier{p.Schema(), "events"}.Sanitize()
	if err := conn.QueryRow(ctx, `SELECT count(*), max(description) FROM `+table).Scan(&n, &desc); err != nil {
		t.Fatal(err)
	}
	if n != 2000 || desc != "a description of its own" {
		t.Errorf("got %d rows, description %q", n, desc)
	}
	closed = true
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, p.Schema()).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s still exists after Close", p.Schema())
	}
}
