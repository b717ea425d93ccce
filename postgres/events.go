package postgres

import (
	"context"
	"errors"

	"github.com/auditlog/auditlog"
)

var _ auditlog.EventService = (*DB)(nil)

// AppendEvents validates a batch, then queues it for the writer's next group
// commit and returns once it is committed (durable: synchronous_commit is
// PostgreSQL's default, and the store relies on it).
func (db *DB) AppendEvents(ctx context.Context, events []auditlog.Event) (*auditlog.AppendResult, error) {
	orgID := func(ref auditlog.OrgRef) (int32, error) {
		id, err := db.orgID(ctx, ref)
		if err != nil && !errors.Is(err, errNoOrg) {
			return 0, unavailable("look up organization", err)
		}
		return id, err
	}
	b, err := auditlog.PrepareAppend(events, db.Now().UTC(), orgID, true, nil)
	if err != nil {
		return nil, err
	}
	res, err := db.writer.submit(ctx, &appendOp{orgs: b.Orgs, events: b.Events, fresh: b.Fresh, leaves: b.Leaves})
	if err == nil {
		db.metrics.EventsAppended.Add(float64(res.Accepted))
		db.metrics.EventsDuplicate.Add(float64(res.Duplicates))
	}
	return res, err
}
