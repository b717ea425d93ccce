package postgres

import (
	"context"
	"sync"
	"time"
)

// workers are the store's background goroutines: the checkpoint signer, the
// maintenance loop (partitions ahead, indexes of past months), retention,
// and the commit notifier and listener.
// Stopping cancels their context and waits for them.
type workers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWorkers(db *DB) *workers {
	ctx, cancel := context.WithCancel(context.Background())
	w := &workers{cancel: cancel}
	run := func(f func(context.Context)) {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			f(ctx)
		}()
	}
	run(db.notifier.run)
	if db.Committed != nil {
		run(db.listen)
	}
	if db.SigningKey != nil && db.CheckpointInterval > 0 {
		run(db.signer.run)
	}
	if db.MaintenanceInterval > 0 {
		run(func(ctx context.Context) {
			db.every(ctx, "maintenance", db.MaintenanceInterval, func(ctx context.Context) error {
				if err := db.parts.ensureAhead(ctx, db.now()); err != nil {
					return err
				}
				return db.IndexClosedMonths(ctx)
			})
		})
	}
	if db.RetentionInterval > 0 && db.SigningKey != nil { // retention signs its purge notes
		run(func(ctx context.Context) {
			db.every(ctx, "retention", db.RetentionInterval, func(ctx context.Context) error {
				_, err := db.PurgeExpired(ctx)
				return err
			})
		})
	}
	return w
}

func (w *workers) stop() {
	w.cancel()
	w.wg.Wait()
}

// every runs job now and then every interval, backing off on errors.
func (db *DB) every(ctx context.Context, name string, interval time.Duration, job func(context.Context) error) {
	log := db.Logger.With("component", name)
	backoff := time.Second
	for {
		wait := interval
		if err := job(ctx); err != nil && ctx.Err() == nil {
			log.Error(name+" failed; retrying", "err", err, "in", backoff)
			wait, backoff = min(backoff, interval), min(2*backoff, interval)
		} else {
			backoff = time.Second
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}
