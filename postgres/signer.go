package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/jackc/pgx/v5"
)

// signer signs a checkpoint of each organization whose log grew. Any server
// may sign, one at a time: a round runs in a transaction that holds an
// advisory lock of the schema, so two servers never sign at once, and
// checkpoints are keyed by (organization, size), so a size is signed once.
// The root comes from the tree's frontier: the few stored hashes of the
// complete subtrees left of the next leaf.
type signer struct {
	db   *DB
	wake chan struct{}
}

func newSigner(db *DB) *signer {
	return &signer{db: db, wake: make(chan struct{}, 1)}
}

// grew tells the signer that this server appended events.
func (s *signer) grew() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run signs what grew, then rests half an interval, so a new event waits for
// its checkpoint at most about half the interval plus the signing. Without
// news from this server it still looks every half interval, for the events
// other servers appended (and, at start, for those a crash left unsigned).
func (s *signer) run(ctx context.Context) {
	interval := s.db.CheckpointInterval / 2
	backoff := time.Second
	poll := time.Duration(0) // at start: at once
	for {
		select {
		case <-s.wake:
		case <-time.After(poll):
		case <-ctx.Done():
			return
		}
		poll = interval
		locked, signed, err := s.sign(ctx, false)
		if err != nil && ctx.Err() == nil {
			s.db.Logger.Error("signing checkpoints failed; retrying", "err", err, "in", backoff)
			s.grew()
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		if !locked {
			s.grew() // another server was signing, maybe before our last commit: try again after the rest
		} else if signed == 0 {
			continue // nothing to sign: no need to rest
		}
		if !sleep(ctx, interval) {
			return
		}
	}
}

// sleep waits for d or the end of ctx, and reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// signAll signs every organization that grew, waiting for another server's round if one is running.
func (s *signer) signAll(ctx context.Context) error {
	_, _, err := s.sign(ctx, true)
	return err
}

// SignCheckpoints signs, now, a checkpoint of every organization whose log
// grew since its last one. The background signer does this on its own.
func (db *DB) SignCheckpoints(ctx context.Context) error {
	if db.SigningKey == nil {
		return errors.New("no signing key")
	}
	return db.signer.signAll(ctx)
}

// sign runs one signing round. Unless wait is set, it gives up at once when
// another server holds the signer lock, and reports locked = false.
func (s *signer) sign(ctx context.Context, wait bool) (locked bool, signed int, err error) {
	db := s.db
	if db.SigningKey == nil {
		return true, 0, nil
	}
	n := 0
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		lock := `SELECT pg_try_advisory_xact_lock(hashtextextended('auditlog signer ' || current_schema(), 0))`
		if wait {
			lock = `SELECT true FROM (SELECT pg_advisory_xact_lock(hashtextextended('auditlog signer ' || current_schema(), 0))) x`
		}
		if err := tx.QueryRow(ctx, lock).Scan(&locked); err != nil {
			return fmt.Errorf("signer lock: %w", err)
		}
		if !locked {
			return nil
		}
		// Each organization whose log is ahead of its latest checkpoint: its
		// last leaf, and its latest checkpoint, each one index descent.
		rows, err := tx.Query(ctx, `SELECT o.id, o.provider, o.name, l.seq + 1
			FROM organizations o CROSS JOIN LATERAL (SELECT seq FROM leaves WHERE org_id = o.id ORDER BY seq DESC LIMIT 1) l
			WHERE l.seq + 1 > coalesce((SELECT max(c.size) FROM checkpoints c WHERE c.org_id = o.id), 0)`)
		if err != nil {
			return err
		}
		var (
			org   int32
			size  int64
			ref   auditlog.OrgRef
			refs  = map[int32]auditlog.OrgRef{}
			sizes = map[int32]int64{}
		)
		if _, err := pgx.ForEachRow(rows, []any{&org, &ref.Provider, &ref.Name, &size}, func() error {
			refs[org], sizes[org] = ref, size
			return nil
		}); err != nil {
			return err
		}
		// Every leaf below a size read in this statement's snapshot is committed
		// (appends commit in sequence order): the frontier is that tree's.
		frontiers, err := loadFrontiers(ctx, tx, sizes)
		if err != nil {
			return err
		}
		var (
			orgs  []int32
			sizeL []int64
			notes []string
		)
		for org, f := range frontiers {
			cp, err := merkle.Sign(db.SigningKey, merkle.Origin(db.OriginPrefix, refs[org]), f.size, f.root())
			if err != nil {
				return err
			}
			orgs, sizeL, notes = append(orgs, org), append(sizeL, f.size), append(notes, string(cp.Note))
		}
		if len(orgs) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO checkpoints (org_id, size, note, signed_at)
			SELECT u.org_id, u.size, u.note, $4 FROM unnest($1::integer[], $2::bigint[], $3::text[]) AS u(org_id, size, note)
			ON CONFLICT (org_id, size) DO NOTHING`, orgs, sizeL, notes, db.now())
		n = len(orgs)
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("sign checkpoints: %w", err)
	}
	db.metrics.checkpoints.Add(float64(n))
	return locked, n, nil
}
