package enginebench

import (
	"context"
	"database/sql"

	"github.com/auditlog/auditlog/internal/baseline"
)

// sqliteLayout is one SQLite schema under test. Every layout stores the
// same columns (baseline.SQLiteColumns) and the same hashes table; they
// differ in how the events table is keyed and indexed.
type sqliteLayout struct {
	name   string
	schema string
}

const sqliteHashes = `
CREATE TABLE hashes (
	org  INTEGER NOT NULL,
	idx  INTEGER NOT NULL,
	hash BLOB    NOT NULL,
	PRIMARY KEY (org, idx)
) WITHOUT ROWID;`

var (
	// sqliteClustered: clustered by (org, seq), with the indexes the store
	// needs: time order for lists, id for idempotent retries.
	sqliteClustered = sqliteLayout{"sqlite-clustered-seq", `
CREATE TABLE events (` + baseline.SQLiteColumns + `,
	PRIMARY KEY (org, seq)
) WITHOUT ROWID;
CREATE INDEX events_org_ts ON events (org, ts, seq);
CREATE UNIQUE INDEX events_org_id ON events (org, id);` + sqliteHashes}

	// sqliteTimeKey: the Pebble key layout in SQL, clustered by
	// (org, ts, seq), with secondary indexes for sequence and id.
	sqliteTimeKey = sqliteLayout{"sqlite-clustered-time", `
CREATE TABLE events (` + baseline.SQLiteColumns + `,
	PRIMARY KEY (org, ts, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_org_seq ON events (org, seq);
CREATE UNIQUE INDEX events_org_id ON events (org, id);` + sqliteHashes}

	// sqliteRowid: the baseline, a rowid table with one index (org, ts),
	// plus the hashes.
	sqliteRowid = sqliteLayout{"sqlite-rowid", baseline.SQLitePlain + sqliteHashes}
)

// sqliteEngine is a baseline.SQLite that also stores the tree's hashes.
type sqliteEngine struct {
	*baseline.SQLite
	queryPlan string
	rows      []baseline.Row
}

func openSQLite(dir string, layout sqliteLayout) (*sqliteEngine, error) {
	db, err := baseline.OpenSQLite(dir, layout.schema)
	if err != nil {
		return nil, err
	}
	return &sqliteEngine{SQLite: db, queryPlan: db.QueryPlan()}, nil
}

// write inserts a batch in one transaction: one fsync of the WAL at commit.
func (s *sqliteEngine) write(batch []prepared) error {
	s.rows = s.rows[:0]
	for _, pe := range batch {
		s.rows = append(s.rows, toRow(pe.ev))
	}
	return s.Write(context.Background(), s.rows, func(tx *sql.Tx) error {
		insHash, err := tx.Prepare(`INSERT INTO hashes (org, idx, hash) VALUES (?,?,?)`)
		if err != nil {
			return err
		}
		defer insHash.Close()
		for _, pe := range batch {
			for _, h := range pe.hashes {
				if _, err := insHash.Exec(pe.ev.org, h.index, h.hash[:]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *sqliteEngine) settle() error { return s.Settle() }

func (s *sqliteEngine) newest(org uint32, n int, dst []event) ([]event, error) {
	rows, err := s.Newest(org, n, nil)
	for _, r := range rows {
		dst = append(dst, fromRow(&r))
	}
	return dst, err
}

func (s *sqliteEngine) close() error { return s.Close() }

// toRow is e as a baseline row; the description is NULL when it is the catalog's.
func toRow(e *event) baseline.Row {
	r := baseline.Row{Org: e.org, Seq: e.seq, TS: e.ts, Received: e.received, ID: e.id,
		Action: e.action, Role: e.role, Result: e.result, Source: e.source,
		Actor: e.actor, Repo: e.repo, Entity: e.entity, Details: e.details, IP: e.ip, UserAgent: e.userAgent}
	if e.description != actions[e.action].description {
		r.Description = sql.NullString{String: e.description, Valid: true}
	}
	return r
}

func fromRow(r *baseline.Row) event {
	e := event{org: r.Org, seq: r.Seq, ts: r.TS, received: r.Received, id: r.ID,
		action: r.Action, role: r.Role, result: r.Result, source: r.Source,
		actor: r.Actor, repo: r.Repo, entity: r.Entity, description: actions[r.Action].description,
		details: r.Details, ip: r.IP, userAgent: r.UserAgent}
	if r.Description.Valid {
		e.description = r.Description.String
	}
	return e
}
