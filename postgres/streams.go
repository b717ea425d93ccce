package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/jackc/pgx/v5"
)

var _ auditlog.StreamStore = (*DB)(nil)

var errNoStream = auditlog.Errorf(auditlog.ENOTFOUND, "stream not found")

const streamColumns = `s.id, s.type, s.url, s.subject, s.q, s.created_at, s.state, s.cursor, s.last_delivered, s.last_error, s.last_success_at, s.failing_since, o.provider, o.name`

// scanStream reads the streamColumns of row, then any more columns into more.
func scanStream(row pgx.Row, more ...any) (*auditlog.Stream, error) {
	var s auditlog.Stream
	if err := row.Scan(append([]any{&s.ID, &s.Type, &s.URL, &s.Subject, &s.Query, &s.CreatedAt, &s.State, &s.Cursor, &s.LastDeliveredSequence,
		&s.LastError, &s.LastSuccessAt, &s.FailingSince, &s.Org.Provider, &s.Org.Name}, more...)...); err != nil {
		return nil, err
	}
	s.CreatedAt = s.CreatedAt.UTC()
	for _, t := range []**time.Time{&s.LastSuccessAt, &s.FailingSince} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return &s, nil
}

// CreateStream registers a stream, starting at the organization's next sequence.
func (db *DB) CreateStream(ctx context.Context, s *auditlog.Stream, secrets auditlog.StreamSecrets) (*auditlog.Stream, error) {
	if db.StreamKey == nil {
		return nil, errors.New("no stream key is configured: stream secrets cannot be stored")
	}
	if s.Type != auditlog.StreamWebhook && s.Type != auditlog.StreamNATS {
		return nil, auditlog.Errorf(auditlog.EUNPROCESSABLE, "invalid stream type %q: must be webhook or nats", s.Type)
	}
	org, err := db.orgID(ctx, s.Org)
	if err != nil {
		return nil, err
	}
	out := *s
	out.ID = auditlog.NewID(8)
	out.CreatedAt = db.now()
	sealed, err := db.StreamKey.SealStream(s.Org, out.ID, secrets)
	if err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// The organization's row serializes stream creation (the limit) without touching appends.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE`, org); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM streams WHERE org_id = $1`, org).Scan(&n); err != nil {
			return err
		}
		if n >= auditlog.MaxStreamsPerOrg {
			return auditlog.Errorf(auditlog.EUNPROCESSABLE, "an organization has at most %d streams: delete one first", auditlog.MaxStreamsPerOrg)
		}
		sizes, err := logSizes(ctx, tx, []int32{org})
		if err != nil {
			return err
		}
		out.StreamStatus = auditlog.StreamStatus{State: auditlog.StreamActive, Cursor: sizes[org], LastDeliveredSequence: -1}
		_, err = tx.Exec(ctx, `INSERT INTO streams (org_id, id, type, url, subject, q, created_at, sealed, state, cursor, last_delivered, last_error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '')`,
			org, out.ID, out.Type, out.URL, out.Subject, out.Query, out.CreatedAt, sealed, out.State, out.Cursor, out.LastDeliveredSequence)
		return err
	})
	if err != nil {
		return nil, unavailable("create stream", err)
	}
	return &out, nil
}

// Streams lists an organization's streams, oldest first.
func (db *DB) Streams(ctx context.Context, ref auditlog.OrgRef) ([]*auditlog.Stream, error) {
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return nil, err
	}
	return db.queryStreams(ctx, `WHERE s.org_id = $1 ORDER BY s.created_at, s.id`, org)
}

// AllStreams lists the streams of every organization.
func (db *DB) AllStreams(ctx context.Context) ([]*auditlog.Stream, error) {
	return db.queryStreams(ctx, `ORDER BY s.org_id, s.created_at, s.id`)
}

func (db *DB) queryStreams(ctx context.Context, where string, args ...any) ([]*auditlog.Stream, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+streamColumns+` FROM streams s JOIN organizations o ON o.id = s.org_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	defer rows.Close()
	var out []*auditlog.Stream
	for rows.Next() {
		s, err := scanStream(rows)
		if err != nil {
			return nil, fmt.Errorf("list streams: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	return out, nil
}

// FindStream returns one stream.
func (db *DB) FindStream(ctx context.Context, ref auditlog.OrgRef, id string) (*auditlog.Stream, error) {
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return nil, err
	}
	s, err := scanStream(db.pool.QueryRow(ctx, `SELECT `+streamColumns+` FROM streams s JOIN organizations o ON o.id = s.org_id WHERE s.org_id = $1 AND s.id = $2`, org, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoStream
	} else if err != nil {
		return nil, fmt.Errorf("find stream: %w", err)
	}
	return s, nil
}

// DeleteStream removes a stream.
func (db *DB) DeleteStream(ctx context.Context, ref auditlog.OrgRef, id string) error {
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM streams WHERE org_id = $1 AND id = $2`, org, id)
	if err != nil {
		return unavailable("delete stream", err)
	}
	if tag.RowsAffected() == 0 {
		return errNoStream
	}
	return nil
}

// StreamSecrets opens a stream's sealed URL and secret.
func (db *DB) StreamSecrets(ctx context.Context, ref auditlog.OrgRef, id string) (*auditlog.StreamSecrets, error) {
	if db.StreamKey == nil {
		return nil, errors.New("no stream key is configured: stream secrets cannot be read")
	}
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return nil, err
	}
	var sealed []byte
	err = db.pool.QueryRow(ctx, `SELECT sealed FROM streams WHERE org_id = $1 AND id = $2`, org, id).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoStream
	} else if err != nil {
		return nil, fmt.Errorf("stream secrets: %w", err)
	}
	return db.StreamKey.OpenStream(ref, id, sealed)
}

// EventsFrom yields the organization's retained events from sequence from
// on, ascending; events purged by retention are skipped.
func (db *DB) EventsFrom(ctx context.Context, ref auditlog.OrgRef, from int64, limit int) iter.Seq2[*auditlog.Event, error] {
	return func(yield func(*auditlog.Event, error) bool) {
		org, err := db.orgID(ctx, ref)
		if err != nil {
			yield(nil, err)
			return
		}
		n := 0
		for rec, err := range db.logRecords(ctx, org, ref, max(from, 0), math.MaxInt64) {
			if err != nil {
				yield(nil, err)
				return
			}
			if rec.Event == nil {
				continue // purged by retention
			}
			if !yield(rec.Event, nil) {
				return
			}
			if n++; limit > 0 && n >= limit {
				return
			}
		}
	}
}
