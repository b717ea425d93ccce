package auditlog

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// A Batch is an ingested batch prepared for a store's writer: validated,
// each event's organization resolved to the store's id for it, ids given,
// receipt time and salt set, and leaf hashes computed.
type Batch[OrgID comparable] struct {
	Events []Event
	Orgs   []OrgID    // the store's id of each event's organization
	Fresh  []bool     // the id was given by the server just now: it cannot be a retry
	Leaves [][32]byte // each event's leaf hash (nil if not asked for)
}

// PrepareAppend prepares events for a store's writer. orgID resolves an
// organization to the store's id for it, or returns an ENOTFOUND error.
// Every invalid event and every event of an unknown organization is
// reported, by index, in one EUNPROCESSABLE error. With leaves the leaf
// hashes are computed; seal, if not nil, is called for each sealed event (in
// parallel for large batches, as the hashing is).
func PrepareAppend[OrgID comparable](events []Event, now time.Time, orgID func(OrgRef) (OrgID, error), leaves bool, seal func(i int, e *Event) error) (*Batch[OrgID], error) {
	err := PrepareBatch(events, now)
	bad, _ := ErrorDetails(err).([]EventError)
	if err != nil && len(bad) == 0 {
		return nil, err
	}
	invalid := make(map[int]bool, len(bad))
	for _, b := range bad {
		invalid[b.Index] = true
	}
	b := &Batch[OrgID]{Events: events, Orgs: make([]OrgID, len(events)), Fresh: make([]bool, len(events))}
	ids := map[OrgRef]OrgID{}
	for i := range events {
		if invalid[i] {
			continue
		}
		e := &events[i]
		id, ok := ids[e.Organization]
		if !ok {
			var err error
			id, err = orgID(e.Organization)
			if ErrorCode(err) == ENOTFOUND {
				bad = append(bad, EventError{Index: i, Reason: fmt.Sprintf("organization %s does not exist", e.Organization)})
				continue
			} else if err != nil {
				return nil, err
			}
			ids[e.Organization] = id
		}
		if e.ID == "" {
			e.ID = NewEventID(now)
			b.Fresh[i] = true
		}
		b.Orgs[i] = id
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b EventError) int { return cmp.Compare(a.Index, b.Index) })
		return nil, BatchError(bad)
	}
	if leaves {
		b.Leaves = make([][32]byte, len(events))
	}
	return b, b.seal(now.Truncate(time.Millisecond), seal)
}

// seal gives each event its receipt time and a fresh salt, and hashes its
// leaf, spreading large batches over the processors.
func (b *Batch[OrgID]) seal(receivedAt time.Time, each func(i int, e *Event) error) error {
	salts := make([]byte, SaltSize*len(b.Events))
	if _, err := rand.Read(salts); err != nil {
		return err
	}
	part := func(from, to int) error {
		for i := from; i < to; i++ {
			e := &b.Events[i]
			e.ReceivedAt = receivedAt
			e.Salt = salts[i*SaltSize : (i+1)*SaltSize : (i+1)*SaltSize]
			if b.Leaves != nil {
				leaf, err := e.LeafHash()
				if err != nil {
					return err
				}
				b.Leaves[i] = leaf
			}
			if each != nil {
				if err := each(i, e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	n := len(b.Events)
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
