package pebble

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/auditlog/auditlog/merkle"
	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// signer is the background worker that signs a checkpoint of each
// organization whose log grew, soon after it grew.
type signer struct {
	db *DB

	mu    sync.Mutex
	dirty map[uint32]int64 // org -> committed tree size not yet checkpointed
	wake  chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newSigner(db *DB) *signer {
	s := &signer{db: db, dirty: map[uint32]int64{}, wake: make(chan struct{}, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// grew records that org's log has size committed events.
func (s *signer) grew(org uint32, size int64) {
	s.mu.Lock()
	if size > s.dirty[org] {
		s.dirty[org] = size
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// start marks every organization whose log is ahead of its latest
// checkpoint (after a crash or restart) and starts the worker.
func (s *signer) start() error {
	if err := s.db.forEachOrg(func(org uint32) error {
		size, err := s.db.logSize(org)
		if err != nil || size == 0 {
			return err
		}
		_, signed, err := s.db.latestCheckpoint(org)
		if err != nil && !errors.Is(err, errNoCheckpoint) {
			return err
		}
		if size > signed {
			s.grew(org, size)
		}
		return nil
	}); err != nil {
		return err
	}
	if s.db.CheckpointInterval <= 0 || s.db.SigningKey == nil {
		return nil // off: checkpoints are signed only by SignCheckpoints
	}
	s.wg.Add(1)
	go s.run()
	return nil
}

func (s *signer) stop() {
	s.cancel()
	s.wg.Wait()
}

// run signs what is dirty, then rests half an interval, so a new event waits
// for its checkpoint at most about half the interval plus the signing.
func (s *signer) run() {
	defer s.wg.Done()
	backoff := time.Second
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		}
		if err := s.signAll(); err != nil {
			s.db.Logger.Error("signing checkpoints failed; retrying", "err", err, "in", backoff)
			s.grewAgain()
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(s.db.CheckpointInterval / 2):
		}
	}
}

func (s *signer) grewAgain() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// signAll signs a checkpoint for every organization that grew.
func (s *signer) signAll() error {
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = map[uint32]int64{}
	s.mu.Unlock()
	var errs []error
	for org, size := range dirty {
		if err := s.db.signCheckpoint(org, size); err != nil {
			errs = append(errs, err)
			s.mu.Lock()
			s.dirty[org] = max(s.dirty[org], size)
			s.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// SignCheckpoints signs, now, a checkpoint of every organization whose log
// grew since its last one. The background signer does this on its own.
func (db *DB) SignCheckpoints(ctx context.Context) error {
	if db.SigningKey == nil {
		return errors.New("no signing key")
	}
	return db.signer.signAll()
}

// signCheckpoint signs and stores the checkpoint of org's tree of size leaves.
func (db *DB) signCheckpoint(org uint32, size int64) error {
	if db.SigningKey == nil {
		return nil
	}
	o, err := db.orgByID(org)
	if err != nil {
		return err
	}
	root, err := tlog.TreeHash(size, hashReader{db, org, o.OrgRef})
	if err != nil {
		return fmt.Errorf("tree hash of organization %d at %d: %w", org, size, err)
	}
	cp, err := merkle.Sign(db.SigningKey, merkle.Origin(db.OriginPrefix, o.OrgRef), size, root)
	if err != nil {
		return err
	}
	if err := db.db.Set(checkpointKey(org, size), cp.Note, pebble.Sync); err != nil {
		return fmt.Errorf("store checkpoint: %w", err)
	}
	db.metrics.Checkpoints.Inc()
	return nil
}

// logSize returns the number of events ever appended to org (the next sequence).
func (db *DB) logSize(org uint32) (int64, error) {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: seqKey(org, 0), UpperBound: seqKey(org, math.MaxInt64)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	_, seq := parseSeqKey(it.Key())
	return seq + 1, nil
}

// forEachOrg calls fn with the id of every organization.
func (db *DB) forEachOrg(fn func(org uint32) error) error {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixOrg}, UpperBound: []byte{prefixOrg + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		if len(it.Key()) != 5 {
			continue
		}
		if err := fn(beUint32(it.Key()[1:])); err != nil {
			return err
		}
	}
	return it.Error()
}
