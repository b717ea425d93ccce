package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/baseline"
	"github.com/auditlog/auditlog/internal/dirsize"
)

// baselines writes the events the ingest's clients had acknowledged, again,
// into the plain SQLite table (one writer) and the plain PostgreSQL table
// (as many writers as the ingest had clients), in batches of cfg.Batch,
// each in a transaction of its own.
func (r *run) baselines(ctx context.Context) error {
	if r.cfg.SQLite {
		dir := filepath.Join(r.cfg.WorkDir, "sqlite")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db, err := baseline.OpenSQLite(dir, baseline.SQLitePlain)
		if err != nil {
			return fmt.Errorf("SQLite baseline: %w", err)
		}
		res, err := r.baseline(ctx, "sqlite", 1, func(ctx context.Context, rows []baseline.Row) error { return db.Write(ctx, rows, nil) })
		if err == nil {
			err = db.Settle()
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("SQLite baseline: %w", err)
		}
		if res.Bytes, err = dirsize.Total(dir); err != nil {
			return err
		}
		r.add(res)
	}
	if r.cfg.Postgres != "" {
		db, err := baseline.OpenPostgres(ctx, r.cfg.Postgres)
		if err != nil {
			return fmt.Errorf("PostgreSQL baseline: %w", err)
		}
		defer db.Close(context.WithoutCancel(ctx))
		res, err := r.baseline(ctx, "postgres-copy", r.cfg.Clients, db.Write)
		if err != nil {
			return fmt.Errorf("PostgreSQL baseline: %w", err)
		}
		if res.Bytes, err = db.Size(ctx); err != nil {
			return fmt.Errorf("PostgreSQL baseline: %w", err)
		}
		r.add(res)
	}
	return nil
}

// add completes a baseline's result with its ratios and reports it.
func (r *run) add(res BaselineResult) {
	res.BytesPerEvent = float64(res.Bytes) / float64(res.Events)
	res.IngestRatio = r.rep.Ingest.EventsPerSec / res.EventsPerSec
	if r.rep.Server.BytesPerEvent > 0 {
		res.DiskRatio = r.rep.Server.BytesPerEvent / res.BytesPerEvent
	}
	r.rep.Baselines = append(r.rep.Baselines, res)
	r.cfg.progress("baseline %s: %d events in %.1fs: %.0f events/s, %.0f bytes/event (auditlog/baseline: %.2f× events/s)",
		res.Name, res.Events, res.Seconds, res.EventsPerSec, res.BytesPerEvent, res.IngestRatio)
}

// baseline replays the ingest's events as rows, in batches, to writers
// calls of write at once; the rows are made ahead by another goroutine.
func (r *run) baseline(ctx context.Context, name string, writers int, write func(context.Context, []baseline.Row) error) (BaselineResult, error) {
	r.cfg.progress("baseline %s: %d events, %d writers", name, r.rep.Ingest.Events, writers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	index := make(map[auditlog.OrgRef]uint32, len(r.orgs))
	for i, o := range r.orgs {
		index[o] = uint32(i)
	}
	batches := make(chan []baseline.Row, 2*writers)
	go func() {
		defer close(batches)
		conv := baseline.NewRows(func(o auditlog.OrgRef) uint32 { return index[o] })
		events := make([]auditlog.Event, 0, r.cfg.Batch)
		for c, sent := range r.sent {
			g := NewGenerator(r.cfg.Seed+uint64(c), r.orgs, r.cfg.BigShare)
			for left := sent; left > 0; {
				events = events[:0]
				now := time.Now()
				for range min(left, int64(r.cfg.Batch)) {
					events = append(events, g.Event(now))
				}
				left -= int64(len(events))
				select {
				case batches <- conv.Append(make([]baseline.Row, 0, len(events)), events, now):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		n    int64
		errs error
	)
	t0 := time.Now()
	for range writers {
		wg.Go(func() {
			for rows := range batches {
				if err := write(ctx, rows); err != nil {
					mu.Lock()
					errs = err
					mu.Unlock()
					cancel()
					return
				}
				mu.Lock()
				n += int64(len(rows))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if errs != nil {
		return BaselineResult{}, errs
	}
	return BaselineResult{Name: name, Clients: writers, Events: n, Seconds: elapsed.Seconds(), EventsPerSec: float64(n) / elapsed.Seconds()}, nil
}
