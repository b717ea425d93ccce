package pebble

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
	"golang.org/x/mod/sumdb/tlog"
)

var _ auditlog.EventService = (*DB)(nil)

// AppendEvents validates a batch, then queues it for the writer's next group
// commit and returns once it is on stable storage.
func (db *DB) AppendEvents(ctx context.Context, events []auditlog.Event) (*auditlog.AppendResult, error) {
	now := db.Now().UTC()
	err := auditlog.PrepareBatch(events, now)
	// Every bad event is reported: the invalid ones and those of unknown organizations.
	bad, _ := auditlog.ErrorDetails(err).([]auditlog.EventError)
	if err != nil && len(bad) == 0 {
		return nil, err
	}
	invalid := make(map[int]bool, len(bad))
	for _, b := range bad {
		invalid[b.Index] = true
	}
	op := &appendOp{
		orgs:   make([]uint32, len(events)),
		events: events,
		values: make([][]byte, len(events)),
		fresh:  make([]bool, len(events)),
		leaves: make([]tlog.Hash, len(events)),
	}
	ids := map[auditlog.OrgRef]uint32{}
	for i := range events {
		if invalid[i] {
			continue
		}
		e := &events[i]
		id, ok := ids[e.Organization]
		if !ok {
			var err error
			id, err = db.orgID(e.Organization)
			if errors.Is(err, errNoOrg) {
				bad = append(bad, auditlog.EventError{Index: i, Reason: fmt.Sprintf("organization %s does not exist", e.Organization)})
				continue
			} else if err != nil {
				return nil, err
			}
			ids[e.Organization] = id
		}
		if e.ID == "" {
			e.ID = auditlog.NewEventID(now)
			op.fresh[i] = true
		}
		op.orgs[i] = id
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b auditlog.EventError) int { return cmp.Compare(a.Index, b.Index) })
		return nil, auditlog.BatchError(bad)
	}
	if err := db.seal(op, now.Truncate(time.Millisecond)); err != nil {
		return nil, err
	}
	res, err := db.writer.submit(ctx, op)
	if err == nil {
		db.metrics.eventsAppended.Add(float64(res.Accepted))
		db.metrics.eventsDuplicate.Add(float64(res.Duplicates))
	}
	return res, err
}

// seal gives each event of op its receipt time and salt, and encodes it and
// hashes its leaf, spreading large batches over the processors.
func (db *DB) seal(op *appendOp, receivedAt time.Time) error {
	salts := make([]byte, auditlog.SaltSize*len(op.events))
	if _, err := rand.Read(salts); err != nil {
		return err
	}
	part := func(from, to int) error {
		for i := from; i < to; i++ {
			e := &op.events[i]
			e.ReceivedAt = receivedAt
			e.Salt = salts[i*auditlog.SaltSize : (i+1)*auditlog.SaltSize : (i+1)*auditlog.SaltSize]
			op.values[i] = encodeEvent(make([]byte, 0, 256), e)
			if !db.noTree {
				leaf, err := e.LeafHash()
				if err != nil {
					return err
				}
				op.leaves[i] = leaf
			}
		}
		return nil
	}
	n := len(op.events)
	workers := min(runtime.GOMAXPROCS(0), n/256+1)
	if workers <= 1 {
		return part(0, n)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = part(w*n/workers, (w+1)*n/workers)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
