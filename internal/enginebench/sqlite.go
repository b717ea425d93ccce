package enginebench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver
)

// sqliteLayout is one SQLite schema under test. Every layout stores the same
// columns and the same hashes table; they differ in how the events table is
// keyed and indexed.
type sqliteLayout struct {
	name   string
	schema string
}

const sqliteColumns = `
	org         INTEGER NOT NULL,
	seq         INTEGER NOT NULL,
	ts          INTEGER NOT NULL, -- Unix ms
	received_at INTEGER NOT NULL, -- Unix ms
	id          BLOB    NOT NULL, -- 16-byte UUID
	action      INTEGER NOT NULL, -- catalog index
	role        INTEGER NOT NULL,
	result      INTEGER NOT NULL,
	source      INTEGER NOT NULL,
	actor       TEXT    NOT NULL,
	repo        TEXT    NOT NULL,
	entity      TEXT    NOT NULL,
	description TEXT,             -- NULL: the catalog's description
	details     TEXT    NOT NULL,
	ip          TEXT    NOT NULL,
	user_agent  TEXT    NOT NULL`

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
CREATE TABLE events (` + sqliteColumns + `,
	PRIMARY KEY (org, seq)
) WITHOUT ROWID;
CREATE INDEX events_org_ts ON events (org, ts, seq);
CREATE UNIQUE INDEX events_org_id ON events (org, id);` + sqliteHashes}

	// sqliteTimeKey: the Pebble key layout in SQL, clustered by
	// (org, ts, seq), with secondary indexes for sequence and id.
	sqliteTimeKey = sqliteLayout{"sqlite-clustered-time", `
CREATE TABLE events (` + sqliteColumns + `,
	PRIMARY KEY (org, ts, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_org_seq ON events (org, seq);
CREATE UNIQUE INDEX events_org_id ON events (org, id);` + sqliteHashes}

	// sqliteRowid: the baseline, a rowid table with one index (org, ts).
	sqliteRowid = sqliteLayout{"sqlite-rowid", `
CREATE TABLE events (` + sqliteColumns + `
);
CREATE INDEX events_org_ts ON events (org, ts);` + sqliteHashes}
)

type sqliteEngine struct {
	db         *sql.DB
	insEvent   *sql.Stmt
	insHash    *sql.Stmt
	selNewest  *sql.Stmt
	queryPlan  string
	layoutName string
}

const sqliteNewest = `
SELECT seq, ts, received_at, id, action, role, result, source, actor, repo, entity, description, details, ip, user_agent
FROM events WHERE org = ? ORDER BY ts DESC, seq DESC LIMIT ?`

func openSQLite(dir string, layout sqliteLayout) (*sqliteEngine, error) {
	// WAL with synchronous=FULL: every commit fsyncs the WAL. 64 MiB page
	// cache, the same memory as Pebble's block cache here.
	dsn := "file:" + filepath.Join(dir, "audit.db") +
		"?_journal_mode=WAL&_synchronous=FULL&_txlock=immediate&_busy_timeout=5000&_cache_size=-65536"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer; the pragmas are per connection
	if _, err := db.Exec(layout.schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("schema: %w", err)
	}
	s := &sqliteEngine{db: db, layoutName: layout.name}
	if s.insEvent, err = db.Prepare(`INSERT INTO events (org, seq, ts, received_at, id, action, role, result, source,
		actor, repo, entity, description, details, ip, user_agent) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`); err != nil {
		db.Close()
		return nil, err
	}
	if s.insHash, err = db.Prepare(`INSERT INTO hashes (org, idx, hash) VALUES (?,?,?)`); err != nil {
		db.Close()
		return nil, err
	}
	if s.selNewest, err = db.Prepare(sqliteNewest); err != nil {
		db.Close()
		return nil, err
	}
	if s.queryPlan, err = s.explain(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *sqliteEngine) explain() (string, error) {
	rows, err := s.db.Query("EXPLAIN QUERY PLAN "+sqliteNewest, 1, 100)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return "", err
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, "; "), rows.Err()
}

// write inserts a batch in one transaction: one fsync of the WAL at commit.
func (s *sqliteEngine) write(batch []prepared) error {
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insEvent, insHash := tx.Stmt(s.insEvent), tx.Stmt(s.insHash)
	for _, pe := range batch {
		e := pe.ev
		var description any
		if e.description != actions[e.action].description {
			description = e.description
		}
		if _, err := insEvent.Exec(e.org, int64(e.seq), e.ts, e.received, e.id[:], e.action, e.role, e.result, e.source,
			e.actor, e.repo, e.entity, description, e.details, e.ip, e.userAgent); err != nil {
			return err
		}
		for _, h := range pe.hashes {
			if _, err := insHash.Exec(e.org, h.index, h.hash[:]); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// settle checkpoints the WAL into the database file and truncates it.
func (s *sqliteEngine) settle() error {
	_, err := s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

func (s *sqliteEngine) newest(org uint32, n int, dst []event) ([]event, error) {
	rows, err := s.selNewest.Query(org, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		e := event{org: org}
		var seq int64
		var id []byte
		var description sql.NullString
		if err := rows.Scan(&seq, &e.ts, &e.received, &id, &e.action, &e.role, &e.result, &e.source,
			&e.actor, &e.repo, &e.entity, &description, &e.details, &e.ip, &e.userAgent); err != nil {
			return nil, err
		}
		e.seq = uint64(seq)
		copy(e.id[:], id)
		e.description = actions[e.action].description
		if description.Valid {
			e.description = description.String
		}
		dst = append(dst, e)
	}
	return dst, rows.Err()
}

func (s *sqliteEngine) close() error { return s.db.Close() }
