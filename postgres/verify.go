package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
)

// VerifyReport and VerifyError are the domain's: a store audit's results.
type (
	VerifyReport = auditlog.VerifyReport
	VerifyError  = auditlog.VerifyError
)

// Verify audits the whole store: for every organization it recomputes the
// tree from the stored events and checks every stored hash and every signed
// checkpoint (its signature by v, its origin, its root). An event that
// retention deleted is accepted only if a purge note signed by v names it;
// its stored leaf hash stands in for it. It
// returns a *VerifyError naming the first event or hash that differs.
// progress, if not nil, is called now and then with the number of events verified.
func (db *DB) Verify(ctx context.Context, v note.Verifier, progress func(events int64)) (*VerifyReport, error) {
	rep := &VerifyReport{}
	rows, err := db.pool.Query(ctx, `SELECT id, provider, name FROM organizations ORDER BY id`)
	if err != nil {
		return rep, err
	}
	type orgRef struct {
		id  int32
		ref auditlog.OrgRef
	}
	var orgs []orgRef
	var o orgRef
	if _, err := pgx.ForEachRow(rows, []any{&o.id, &o.ref.Provider, &o.ref.Name}, func() error {
		orgs = append(orgs, o)
		return nil
	}); err != nil {
		return rep, err
	}
	for _, o := range orgs {
		rep.Organizations++
		if err := db.verifyOrg(ctx, o.id, o.ref, v, rep, progress); err != nil {
			return rep, err
		}
	}
	return rep, db.verifyNoOrphans(ctx)
}

func (db *DB) verifyOrg(ctx context.Context, org int32, ref auditlog.OrgRef, v note.Verifier, rep *VerifyReport, progress func(int64)) error {
	fail := func(seq int64, format string, args ...any) error {
		return &VerifyError{Org: ref, Sequence: seq, Problem: fmt.Sprintf(format, args...)}
	}
	checkpoints, err := db.checkpoints(ctx, org, ref, v, fail)
	if err != nil {
		return err
	}
	rep.Checkpoints += len(checkpoints)
	purges, err := db.purgeRanges(ctx, org, merkle.Origin(db.OriginPrefix, ref), v)
	if err != nil {
		return fail(-1, "%v", err)
	}

	a := merkle.NewLogAuditor(checkpoints, purges)
	failed := func(p *merkle.AuditProblem) error { return fail(p.Sequence, "%s", p.Problem) }
	for rec, err := range db.logRecords(ctx, org, ref, 0, math.MaxInt64) {
		if err != nil {
			return fail(a.Size(), "%v", err)
		}
		if p := a.Add(rec.seq, rec.Event, rec.hashes); p != nil {
			return failed(p)
		}
		if progress != nil && (rep.Events+a.Events)%100_000 == 0 {
			progress(rep.Events + a.Events)
		}
	}
	if p := a.End(); p != nil {
		return failed(p)
	}
	rep.Events += a.Events
	rep.Purged += a.Purged
	return db.verifyNoStrays(ctx, org, fail)
}

// checkpoints reads and verifies every stored checkpoint of org, by size.
func (db *DB) checkpoints(ctx context.Context, org int32, ref auditlog.OrgRef, v note.Verifier, fail func(int64, string, ...any) error) ([]*merkle.Checkpoint, error) {
	rows, err := db.pool.Query(ctx, `SELECT size, note FROM checkpoints WHERE org_id = $1 ORDER BY size`, org)
	if err != nil {
		return nil, err
	}
	var (
		out  []*merkle.Checkpoint
		size int64
		text string
	)
	_, err = pgx.ForEachRow(rows, []any{&size, &text}, func() error {
		cp, err := merkle.OpenCheckpoint([]byte(text), v, merkle.Origin(db.OriginPrefix, ref))
		if err != nil {
			return fail(-1, "checkpoint of size %d: %v", size, err)
		}
		if cp.Size != size {
			return fail(-1, "checkpoint stored under size %d says size %d", size, cp.Size)
		}
		out = append(out, cp)
		return nil
	})
	return out, err
}

// verifyNoStrays checks that every event row of org is a leaf of its log
// (same sequence and timestamp): no event was added beside the log.
func (db *DB) verifyNoStrays(ctx context.Context, org int32, fail func(int64, string, ...any) error) error {
	var seq int64
	err := db.pool.QueryRow(ctx, `SELECT e.seq FROM events e WHERE e.org_id = $1
		AND NOT EXISTS (SELECT 1 FROM leaves l WHERE l.org_id = e.org_id AND l.seq = e.seq AND l.ts = e.ts) LIMIT 1`, org).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return fail(seq, "an event row with this sequence is not the log's (another sequence or timestamp): it was added beside the log")
}

// verifyNoOrphans checks that every log in the store (leaves, events,
// checkpoints) belongs to an organization that Verify audited: deleting an
// organization's record must not hide its log from the audit.
func (db *DB) verifyNoOrphans(ctx context.Context) error {
	for _, table := range []string{"leaves", "events", "checkpoints"} {
		var org int32
		err := db.pool.QueryRow(ctx, `WITH RECURSIVE o AS (
				SELECT min(org_id) AS id FROM `+table+`
				UNION ALL
				SELECT (SELECT min(org_id) FROM `+table+` WHERE org_id > o.id) FROM o WHERE o.id IS NOT NULL)
			SELECT id FROM o WHERE id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM organizations WHERE organizations.id = o.id) LIMIT 1`).Scan(&org)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		} else if err != nil {
			return err
		}
		return &VerifyError{Org: auditlog.OrgRef{Provider: "?", Name: fmt.Sprintf("#%d", org)}, Sequence: -1,
			Problem: fmt.Sprintf("the store holds %s of internal organization %d, which has no organization record: it was not audited", table, org)}
	}
	return nil
}
