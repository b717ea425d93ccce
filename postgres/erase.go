package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/jackc/pgx/v5"
)

// EraseUser removes a person's personal data: in every organization, the
// actor email, IP address and user agent of their events, with the salts
// that committed to them (each event keeps its personal hash instead, so its
// leaf, and every proof, stays valid); and their memberships and tokens.
// Each organization's events are changed in one transaction, found through
// the actor index of past months and a scan of the organization's rows of
// the current one. PostgreSQL keeps the old row versions
// until VACUUM removes them: EraseUser vacuums the partitions it changed.
// What the write-ahead log, its archives and backups hold is up to their
// retention (docs/scaling.md).
func (db *DB) EraseUser(ctx context.Context, email string) (int, error) {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	rows, err := db.pool.Query(ctx, `SELECT id FROM organizations ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("erase: %w", err)
	}
	orgs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, fmt.Errorf("erase: %w", err)
	}
	total := 0
	months := map[int32]bool{}
	for _, org := range orgs {
		var n int
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			var err error
			n, err = eraseInOrg(ctx, tx, org, email, months)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("erase: %w", err)
		}
		total += n
	}
	if err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM members WHERE email = $1`, email); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM tokens WHERE email = $1`, email)
		return err
	}); err != nil {
		return total, fmt.Errorf("erase: memberships and tokens: %w", err)
	}
	for m := range months {
		// Remove the old row versions now rather than when autovacuum comes by.
		if _, err := db.pool.Exec(ctx, `VACUUM `+pgx.Identifier{partitionName(m)}.Sanitize()); err != nil {
			db.Logger.Warn("erase: vacuum failed", "partition", partitionName(m), "err", err)
		}
	}
	if _, err := db.pool.Exec(ctx, `VACUUM members, tokens`); err != nil {
		db.Logger.Warn("erase: vacuum failed", "err", err)
	}
	db.Logger.Info("erased a user's personal data", "events", total)
	return total, nil
}

// eraseInOrg erases the personal fields of the user's events in one organization.
func eraseInOrg(ctx context.Context, tx pgx.Tx, org int32, email string, months map[int32]bool) (int, error) {
	rows, err := tx.Query(ctx, `SELECT ts, seq, actor_email, ip, user_agent, salt, personal_hash
		FROM events WHERE org_id = $1 AND actor_email = $2 FOR UPDATE`, org, email)
	if err != nil {
		return 0, err
	}
	var (
		tss      []time.Time
		seqs     []int64
		ips      []string
		uas      [][]byte
		personal [][]byte
		e        auditlog.Event
		ua       []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&e.Timestamp, &e.Sequence, &e.Actor.Email, &e.IPAddress, &ua, &e.Salt, &e.PersonalHash}, func() error {
		e.UserAgent = string(ua)
		if e.Erased() {
			return nil
		}
		if err := e.Erase(); err != nil {
			return fmt.Errorf("event %d/%d: %w", org, e.Sequence, err)
		}
		tss, seqs = append(tss, e.Timestamp), append(seqs, e.Sequence)
		ips, uas, personal = append(ips, e.IPAddress), append(uas, bytesOf(e.UserAgent)), append(personal, e.PersonalHash)
		months[monthOf(e.Timestamp)] = true
		return nil
	})
	if err != nil || len(seqs) == 0 {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `UPDATE events e SET actor_email = $7, ip = u.ip, user_agent = u.ua, salt = NULL, personal_hash = u.personal
		FROM unnest($2::timestamptz[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[]) AS u(ts, seq, ip, ua, personal)
		WHERE e.org_id = $1 AND e.ts = u.ts AND e.seq = u.seq`, org, tss, seqs, ips, uas, personal, auditlog.Redacted)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
