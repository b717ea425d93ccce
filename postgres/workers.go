package postgres

import (
	"context"
	"sync"
	"time"
)

// workers are the store's background goroutines: the checkpoint signer and
// the maintenance loop (partitions ahead, retention). Stopping cancels their
// context and waits for them.
type workers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWorkers(db *DB) *workers {
	ctx, cancel := context.WithCancel(context.Background())
	w := &workers{cancel: cancel}
	if db.SigningKey != nil && db.CheckpointInterval > 0 {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			db.signer.run(ctx)
		}()
	}
	if db.RetentionInterval > 0 {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			db.maintain(ctx, db.RetentionInterval)
		}()
	}
	return w
}

func (w *workers) stop() {
	w.cancel()
	w.wg.Wait()
}

// maintain creates the partitions ahead, indexes past months and purges
// expired events, every interval, backing off on errors.
func (db *DB) maintain(ctx context.Context, interval time.Duration) {
	log := db.Logger.With("component", "maintenance")
	backoff := time.Second
	for {
		err := db.parts.ensureAhead(ctx, db.now())
		if err == nil {
			err = db.IndexClosedMonths(ctx)
		}
		if err == nil && db.SigningKey != nil { // retention signs its purge notes: without the key it waits
			var n int64
			if n, err = db.PurgeExpired(ctx); err == nil && n > 0 {
				log.Info("retention deleted expired events", "events", n)
			}
		}
		wait := interval
		if err != nil && ctx.Err() == nil {
			log.Error("maintenance failed; retrying", "err", err, "in", backoff)
			wait, backoff = backoff, min(2*backoff, interval)
		} else {
			backoff = time.Second
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}
