package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/groupcommit"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

// An appendOp is one AppendEvents call waiting for the writer: its events are
// validated, sealed and hashed; the writer assigns sequences and commits.
type appendOp struct {
	orgs   []int32 // internal org id of each event
	events []auditlog.Event
	fresh  []bool // the id was made by the server just now: no need to look it up
	leaves [][32]byte
}

// writer is the goroutine that writes this process's events. Concurrent
// AppendEvents calls queue here and share one transaction and one commit
// (group commit): the writer takes every op that is waiting, up to
// MaxCommitEvents events, and writes them with COPY.
//
// Other processes write to the same organizations at the same time. What
// keeps each organization's log one gapless sequence with one tree is its
// log_heads row: a transaction locks the rows of every organization it
// appends to (in id order, so that two transactions never wait on each other
// in a cycle) before it reads each log's size (its last leaf) and tree
// frontier, and holds them until it commits. The rows are only locked, never
// updated: the leaves are the log.
type writer struct {
	db *DB
	q  *groupcommit.Queue[*appendOp, *auditlog.AppendResult]

	frontiers map[int32]*frontier // the trees this writer appended to, as committed; owned by the queue's goroutine
}

func newWriter(db *DB) *writer {
	w := &writer{db: db, frontiers: map[int32]*frontier{}}
	w.q = groupcommit.New(db.MaxCommitEvents, func(op *appendOp) int { return len(op.events) }, errClosed, w.commit)
	return w
}

var errClosed = auditlog.Errorf(auditlog.EUNAVAILABLE, "the store is shutting down")

// submit queues op and waits for its commit. If ctx ends first the op may still
// be committed: the caller learns nothing, and a retry with the same ids is safe.
func (w *writer) submit(ctx context.Context, op *appendOp) (*auditlog.AppendResult, error) {
	return w.q.Submit(ctx, op)
}

func (w *writer) closed() bool { return w.q.Closed() }

// close stops taking ops, commits every op already queued, and waits for the goroutine.
func (w *writer) close() { w.q.Close() }

// commitTimeout bounds one group commit, lock waits included.
const commitTimeout = time.Minute

// commit writes a group of ops in one transaction.
func (w *writer) commit(group []*appendOp) ([]*auditlog.AppendResult, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	results, err := w.write(ctx, group)
	if isNoPartition(err) { // another server's retention dropped a partition: learn which exist, once
		if err = w.db.parts.load(ctx, w.db.pool); err == nil {
			results, err = w.write(ctx, group)
		}
	}
	cancel()
	w.db.metrics.ObserveCommit(len(group), start)
	if err != nil {
		w.db.Logger.Error("commit events failed", "err", err, "requests", len(group))
		return nil, unavailable("commit events", err)
	}
	return results, nil
}

type idRef struct {
	org int32
	id  string
}

func (w *writer) write(ctx context.Context, group []*appendOp) ([]*auditlog.AppendResult, error) {
	var orgs []int32
	months := map[int32]bool{}
	var lookOrgs []int32
	var lookIDs [][]byte
	looked := map[idRef]bool{}
	for _, op := range group {
		for i := range op.events {
			orgs = append(orgs, op.orgs[i])
			months[monthOf(op.events[i].Timestamp)] = true
			if r := (idRef{op.orgs[i], op.events[i].ID}); !op.fresh[i] && !looked[r] {
				looked[r] = true
				lookOrgs, lookIDs = append(lookOrgs, r.org), append(lookIDs, []byte(r.id))
			}
		}
	}
	slices.Sort(orgs)
	orgs = slices.Compact(orgs)
	if err := w.db.parts.ensure(ctx, months); err != nil {
		return nil, err
	}

	tx, err := w.db.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background())

	if err := lockHeads(ctx, tx, orgs); err != nil {
		return nil, err
	}
	heads, err := w.heads(ctx, tx, orgs)
	if err != nil {
		return nil, err
	}
	known, err := lookupIDs(ctx, tx, lookOrgs, lookIDs)
	if err != nil {
		return nil, err
	}

	var leafRows, eventRows [][]any
	results := make([]*auditlog.AppendResult, len(group))
	changed := map[int32]bool{}
	refs := map[int32]auditlog.OrgRef{} // the organizations that grew, for DB.Committed
	for gi, op := range group {
		res := &auditlog.AppendResult{Events: make([]auditlog.Appended, len(op.events))}
		for i := range op.events {
			e, org := &op.events[i], op.orgs[i]
			r := idRef{org, e.ID}
			if seq, dup := known[r]; dup {
				res.Duplicates++
				res.Events[i] = auditlog.Appended{ID: e.ID, Sequence: seq}
				continue
			}
			f := heads[org]
			seq := f.size
			hashes, err := f.append(tlog.Hash(op.leaves[i]))
			if err != nil {
				return nil, fmt.Errorf("merkle hashes of organization %d, event %d: %w", org, seq, err)
			}
			e.Sequence = seq
			known[r] = seq // a later event of the group with this id is a duplicate
			changed[org] = true
			refs[org] = e.Organization
			leafRows = append(leafRows, []any{org, seq, e.Timestamp, []byte(e.ID), hashes})
			eventRows = append(eventRows, eventRow(org, e))
			res.Accepted++
			res.Events[i] = auditlog.Appended{ID: e.ID, Sequence: seq}
		}
		results[gi] = res
	}
	if len(eventRows) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"leaves"}, leafColumns, pgx.CopyFromRows(leafRows)); err != nil {
			return nil, fmt.Errorf("copy leaves: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns, pgx.CopyFromRows(eventRows)); err != nil {
			return nil, fmt.Errorf("copy events: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if len(w.frontiers)+len(changed) > maxFrontiers {
		clear(w.frontiers)
	}
	for org := range changed {
		w.frontiers[org] = heads[org]
	}
	if len(changed) > 0 {
		grown := make([]int32, 0, len(changed))
		for org := range changed {
			grown = append(grown, org)
		}
		w.db.signer.grew(grown...)
	}
	for org := range changed {
		w.db.notifier.grew(refs[org], heads[org].size)
		if w.db.Committed != nil {
			w.db.Committed(refs[org], heads[org].size)
		}
	}
	return results, nil
}

// lockHeads locks the log heads of orgs, sorted ascending, so that
// transactions lock in one order and never deadlock.
func lockHeads(ctx context.Context, tx pgx.Tx, orgs []int32) error {
	rows, err := tx.Query(ctx, `SELECT org_id FROM log_heads WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE`, orgs)
	if err != nil {
		return fmt.Errorf("lock log heads: %w", err)
	}
	locked, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("lock log heads: %w", err)
	}
	if len(locked) != len(orgs) {
		return fmt.Errorf("lock log heads: %d of %d organizations have one", len(locked), len(orgs))
	}
	return nil
}

// maxFrontiers bounds the frontiers the writer keeps (about 2 KiB each).
const maxFrontiers = 1 << 16

// heads returns the current size and tree frontier of each of orgs, whose
// heads the transaction holds locked: a statement after the lock sees every
// append committed before it. A frontier the writer kept is used when its
// size is current (no other server appended since); the others are read.
func (w *writer) heads(ctx context.Context, tx pgx.Tx, orgs []int32) (map[int32]*frontier, error) {
	sizes, err := logSizes(ctx, tx, orgs)
	if err != nil {
		return nil, err
	}
	heads := make(map[int32]*frontier, len(orgs))
	stale := map[int32]int64{}
	for _, org := range orgs {
		if f, ok := w.frontiers[org]; ok && f.size == sizes[org] {
			cp := *f // changed by the appends; the kept one only after the commit
			heads[org] = &cp
		} else {
			stale[org] = sizes[org]
		}
	}
	loaded, err := loadFrontiers(ctx, tx, stale)
	if err != nil {
		return nil, err
	}
	for org, f := range loaded {
		heads[org] = f
	}
	return heads, nil
}

// lookupIDs returns the sequences of the ids already in the log.
func lookupIDs(ctx context.Context, tx pgx.Tx, orgs []int32, ids [][]byte) (map[idRef]int64, error) {
	known := map[idRef]int64{}
	if len(ids) == 0 {
		return known, nil
	}
	rows, err := tx.Query(ctx, `SELECT l.org_id, l.id, l.seq FROM leaves l
		JOIN unnest($1::integer[], $2::bytea[]) AS u(org_id, id) ON l.org_id = u.org_id AND l.id = u.id`, orgs, ids)
	if err != nil {
		return nil, fmt.Errorf("look up event ids: %w", err)
	}
	var (
		org int32
		id  []byte
		seq int64
	)
	_, err = pgx.ForEachRow(rows, []any{&org, &id, &seq}, func() error {
		known[idRef{org, string(id)}] = seq
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up event ids: %w", err)
	}
	return known, nil
}

var (
	leafColumns  = []string{"org_id", "seq", "ts", "id", "hashes"}
	eventColumns = []string{"org_id", "ts", "seq", "id", "action", "actor_email", "actor_role", "result", "source", "received_at",
		"repository", "entity", "description", "details", "ip", "user_agent", "salt", "personal_hash"}
)

// eventRow is the events row of e, in eventColumns order.
func eventRow(org int32, e *auditlog.Event) []any {
	var details any
	if len(e.Details) > 0 {
		details = string(e.Details)
	}
	var salt, personal any
	if len(e.Salt) > 0 {
		salt = e.Salt
	}
	if len(e.PersonalHash) > 0 {
		personal = e.PersonalHash
	}
	return []any{org, e.Timestamp, e.Sequence, bytesOf(e.ID), e.Action, e.Actor.Email, e.Actor.Role, e.Result, e.Source, e.ReceivedAt,
		bytesOf(e.RepositoryName), bytesOf(e.EntityID), bytesOf(e.Description), details, e.IPAddress, bytesOf(e.UserAgent), salt, personal}
}

// bytesOf is s as bytea: never nil, which would be NULL.
func bytesOf(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return []byte(s)
}
