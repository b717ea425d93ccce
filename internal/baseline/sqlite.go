package baseline

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver
)

// SQLiteColumns are the columns of every SQLite events table here, however
// it is keyed and indexed.
const SQLiteColumns = `
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

// SQLitePlain is the baseline's schema: a rowid table with one index, (org, ts).
const SQLitePlain = `CREATE TABLE events (` + SQLiteColumns + `
);
CREATE INDEX events_org_ts ON events (org, ts);`

// SQLite is a SQLite database of events in WAL mode with synchronous=FULL:
// every committed transaction is on stable storage.
type SQLite struct {
	db        *sql.DB
	insert    *sql.Stmt
	newest    *sql.Stmt
	queryPlan string
}

const sqliteNewest = `
SELECT seq, ts, received_at, id, action, role, result, source, actor, repo, entity, description, details, ip, user_agent
FROM events WHERE org = ? ORDER BY ts DESC, seq DESC LIMIT ?`

// OpenSQLite creates the database file audit.db in dir with schema, which
// must create a table events of SQLiteColumns.
func OpenSQLite(dir, schema string) (*SQLite, error) {
	// WAL with synchronous=FULL: every commit fsyncs the WAL. 64 MiB page
	// cache, the same memory as Pebble's block cache.
	dsn := "file:" + filepath.Join(dir, "audit.db") +
		"?_journal_mode=WAL&_synchronous=FULL&_txlock=immediate&_busy_timeout=5000&_cache_size=-65536"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer; the pragmas are per connection
	s := &SQLite{db: db}
	if err := s.init(schema); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *SQLite) init(schema string) (err error) {
	if _, err := s.db.Exec(schema); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if s.insert, err = s.db.Prepare(`INSERT INTO events (org, seq, ts, received_at, id, action, role, result, source,
		actor, repo, entity, description, details, ip, user_agent) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`); err != nil {
		return err
	}
	if s.newest, err = s.db.Prepare(sqliteNewest); err != nil {
		return err
	}
	s.queryPlan, err = s.explain()
	return err
}

// QueryPlan is how SQLite answers the newest-events query.
func (s *SQLite) QueryPlan() string { return s.queryPlan }

func (s *SQLite) explain() (string, error) {
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

// Write inserts rows in one transaction, with whatever else extra (if not
// nil) writes in it: one fsync of the WAL at commit.
func (s *SQLite) Write(ctx context.Context, rows []Row, extra func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insert := tx.StmtContext(ctx, s.insert)
	for i := range rows {
		r := &rows[i]
		if _, err := insert.ExecContext(ctx, r.Org, int64(r.Seq), r.TS, r.Received, r.ID[:], r.Action, r.Role, r.Result, r.Source,
			r.Actor, r.Repo, r.Entity, r.Description, r.Details, r.IP, r.UserAgent); err != nil {
			return err
		}
	}
	if extra != nil {
		if err := extra(tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Settle checkpoints the WAL into the database file and truncates it.
func (s *SQLite) Settle() error {
	_, err := s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// Newest appends the organization's n newest rows (timestamp, then
// sequence, descending) to dst.
func (s *SQLite) Newest(org uint32, n int, dst []Row) ([]Row, error) {
	rows, err := s.newest.Query(org, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r := Row{Org: org}
		var seq int64
		var id []byte
		if err := rows.Scan(&seq, &r.TS, &r.Received, &id, &r.Action, &r.Role, &r.Result, &r.Source,
			&r.Actor, &r.Repo, &r.Entity, &r.Description, &r.Details, &r.IP, &r.UserAgent); err != nil {
			return nil, err
		}
		r.Seq = uint64(seq)
		copy(r.ID[:], id)
		dst = append(dst, r)
	}
	return dst, rows.Err()
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }
