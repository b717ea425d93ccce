package pebble

import (
	"context"

	"github.com/auditlog/auditlog"
)

var _ auditlog.EventService = (*DB)(nil)

// AppendEvents validates a batch, then queues it for the writer's next group
// commit and returns once it is on stable storage.
func (db *DB) AppendEvents(ctx context.Context, events []auditlog.Event) (*auditlog.AppendResult, error) {
	if err := db.disk.check(); err != nil { // before the work of preparing the batch
		return nil, err
	}
	values := make([][]byte, len(events))
	words := make([][]uint64, len(events))
	b, err := auditlog.PrepareAppend(events, db.Now().UTC(), db.orgID, !db.noTree, func(i int, e *auditlog.Event) error {
		values[i] = encodeEvent(make([]byte, 0, 256), e)
		words[i] = eventWords(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res, err := db.writer.submit(ctx, &appendOp{orgs: b.Orgs, events: b.Events, values: values, fresh: b.Fresh, leaves: b.Leaves, words: words})
	if err == nil {
		db.metrics.EventsAppended.Add(float64(res.Accepted))
		db.metrics.EventsDuplicate.Add(float64(res.Duplicates))
	}
	return res, err
}
