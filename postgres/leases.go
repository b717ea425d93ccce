package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/jackc/pgx/v5"
)

// DefaultStreamLeaseTTL is how long a stream's lease lasts unless renewed.
// The stream worker renews every third of it, so a server that dies loses
// its streams to the others within about 1⅓ of it.
const DefaultStreamLeaseTTL = 6 * time.Second

// Stream leases (migration 0003): each stream is delivered by the one server
// whose id is in its lease_holder column, until lease_expires. A lease is a
// row's columns rather than a session-level advisory lock so that it is
// fenced: lease_token grows with each new holder, and SetStreamStatus writes
// only under the token its server claimed, in the same row, so the row lock
// orders a takeover and a late write of the former holder. An advisory lock
// dies with its connection, but a server whose connection died (and whose
// lock another server took) could still write with another connection of
// its pool. Expiry is the database's clock (now()), the one clock that all
// servers share.
//
// The claim takes every free or expired stream: the first server to claim
// delivers them all until it dies or stops (a clean Close releases its
// leases at once). Delivery waits on receivers, not on the server, so one
// server delivers many streams; spreading them over servers is not done.

// errLeaseLost is SetStreamStatus's answer to a server that lost the stream.
var errLeaseLost = auditlog.Errorf(auditlog.ECONFLICT, "another server has taken this stream over")

// newHolderID names this server in lease_holder: host, process and a random
// part (a process may open the store more than once).
func newHolderID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), auditlog.NewID(4))
}

// ClaimStreams renews the leases this server holds, takes the streams whose
// lease is free or expired, and returns the streams it holds with their
// fencing tokens. Streams whose rows are locked at that moment (a status
// being written, another server claiming) are skipped until the next claim.
func (db *DB) ClaimStreams(ctx context.Context) ([]auditlog.StreamLease, error) {
	ttl := max(db.StreamLeaseTTL.Milliseconds(), 1)
	var out []auditlog.StreamLease
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		out = out[:0]
		if _, err := tx.Exec(ctx, `WITH claimable AS (
				SELECT org_id, id FROM streams
				WHERE lease_holder IS NULL OR lease_holder = $1 OR lease_expires < now()
				FOR UPDATE SKIP LOCKED)
			UPDATE streams s SET
				lease_token = CASE WHEN s.lease_holder = $1 THEN s.lease_token ELSE s.lease_token + 1 END,
				lease_holder = $1,
				lease_expires = now() + $2 * interval '1 millisecond'
			FROM claimable c WHERE s.org_id = c.org_id AND s.id = c.id`, db.holder, ttl); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+streamColumns+`, s.lease_token FROM streams s JOIN organizations o ON o.id = s.org_id
			WHERE s.lease_holder = $1 ORDER BY s.org_id, s.created_at, s.id`, db.holder)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var token int64
			s, err := scanStream(rows, &token)
			if err != nil {
				return err
			}
			out = append(out, auditlog.StreamLease{Stream: s, Token: token})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim streams: %w", err)
	}
	return out, nil
}

// SetStreamStatus records a stream's delivery status, if this server still
// holds the stream's lease under token.
func (db *DB) SetStreamStatus(ctx context.Context, ref auditlog.OrgRef, id string, token int64, st auditlog.StreamStatus) error {
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE streams SET state = $3, cursor = $4, last_delivered = $5, last_error = $6, last_success_at = $7, failing_since = $8
		WHERE org_id = $1 AND id = $2 AND lease_holder = $9 AND lease_token = $10`,
		org, id, st.State, st.Cursor, st.LastDeliveredSequence, st.LastError, st.LastSuccessAt, st.FailingSince, db.holder, token)
	if err != nil {
		return fmt.Errorf("set stream status: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM streams WHERE org_id = $1 AND id = $2)`, org, id).Scan(&exists); err != nil {
		return fmt.Errorf("set stream status: %w", err)
	}
	if !exists {
		return errNoStream
	}
	return errLeaseLost
}

// releaseStreams gives up this server's leases, so that the other servers
// take its streams over at their next claim rather than after the lease
// time. The stream worker must be stopped first; a late write of it would
// be refused anyway once another server holds the stream.
func (db *DB) releaseStreams(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, `UPDATE streams SET lease_holder = NULL, lease_expires = NULL WHERE lease_holder = $1`, db.holder)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("release stream leases: %w", err)
	}
	return err
}
