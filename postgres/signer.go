package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
//
// Each server signs the organizations it appended to (its dirty set), so a
// round reads only those. A full round, over every organization, runs at
// start, every fullRoundEvery and at a clean shutdown: it signs what a
// server that crashed between its commit and its round left behind.
type signer struct {
	db   *DB
	wake chan struct{}

	mu    sync.Mutex
	dirty map[int32]bool
}

// fullRoundEvery is how often the background signer looks at every organization.
const fullRoundEvery = time.Minute

func newSigner(db *DB) *signer {
	return &signer{db: db, wake: make(chan struct{}, 1), dirty: map[int32]bool{}}
}

// grew tells the signer that this server appended to orgs.
func (s *signer) grew(orgs ...int32) {
	s.mu.Lock()
	for _, org := range orgs {
		s.dirty[org] = true
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns the dirty set and empties it.
func (s *signer) take() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int32, 0, len(s.dirty))
	for org := range s.dirty {
		out = append(out, org)
	}
	clear(s.dirty)
	return out
}

// run signs what grew, then rests half an interval, so a new event waits for
// its checkpoint at most about half the interval plus the signing.
func (s *signer) run(ctx context.Context) {
	interval := s.db.CheckpointInterval / 2
	backoff := time.Second
	var lastFull time.Time // zero: a full round at once
	for {
		wait := interval
		if lastFull.IsZero() {
			wait = 0
		}
		select {
		case <-s.wake:
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		full := time.Since(lastFull) >= fullRoundEvery
		orgs := s.take()
		if !full && len(orgs) == 0 {
			continue
		}
		locked, signed, err := s.sign(ctx, orgs, full, false)
		if err != nil || !locked {
			s.grew(orgs...) // not signed: keep them for the next round
		}
		if err != nil && ctx.Err() == nil {
			s.db.Logger.Error("signing checkpoints failed; retrying", "err", err, "in", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		if full && locked {
			lastFull = time.Now()
		}
		if locked && signed == 0 {
			continue // nothing was signed: no need to rest
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

// signAll signs every organization whose log is ahead of its latest
// checkpoint, waiting for another server's round if one is running.
func (s *signer) signAll(ctx context.Context) error {
	orgs := s.take()
	_, _, err := s.sign(ctx, nil, true, true)
	if err != nil {
		s.grew(orgs...)
	}
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

// sign runs one signing round, over orgs or, if full, over every
// organization. Unless wait is set, it gives up at once when another server
// holds the signer lock, and reports locked = false.
func (s *signer) sign(ctx context.Context, orgs []int32, full, wait bool) (locked bool, signed int, err error) {
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
			WHERE ($1 OR o.id = ANY($2)) AND l.seq + 1 > coalesce((SELECT max(c.size) FROM checkpoints c WHERE c.org_id = o.id), 0)`,
			full, orgs)
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
			signedOrgs []int32
			sizeL      []int64
			notes      []string
		)
		for org, f := range frontiers {
			cp, err := merkle.Sign(db.SigningKey, merkle.Origin(db.OriginPrefix, refs[org]), f.size, f.root())
			if err != nil {
				return err
			}
			signedOrgs, sizeL, notes = append(signedOrgs, org), append(sizeL, f.size), append(notes, string(cp.Note))
		}
		if len(signedOrgs) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO checkpoints (org_id, size, note, signed_at)
			SELECT u.org_id, u.size, u.note, $4 FROM unnest($1::integer[], $2::bigint[], $3::text[]) AS u(org_id, size, note)
			ON CONFLICT (org_id, size) DO NOTHING`, signedOrgs, sizeL, notes, db.now())
		n = len(signedOrgs)
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("sign checkpoints: %w", err)
	}
	db.metrics.Checkpoints.Add(float64(n))
	return locked, n, nil
}
