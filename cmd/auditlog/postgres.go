package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/seal"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/postgres"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
)

// store is what the service runs on: the embedded store (pebble.DB) or PostgreSQL (postgres.DB).
type store interface {
	auditlog.Store
	auditlog.LogService
	Ready(ctx context.Context) error
	Collectors() []prometheus.Collector
}

// openPostgres opens the PostgreSQL store of cfg.PostgresDSN for serve:
// migrations applied, the writer and the background workers started.
// committed hears of the commits of every server on the database (the
// stream worker's Notify).
func openPostgres(ctx context.Context, cfg Config, logger *slog.Logger, key *merkle.Key, streamKey *seal.Key, committed func(auditlog.OrgRef, int64)) (*postgres.DB, error) {
	db := postgres.NewDB(cfg.PostgresDSN)
	db.Logger = logger.With("component", "store")
	db.SigningKey = key
	db.OriginPrefix = cfg.OriginPrefix
	db.CheckpointInterval = cfg.CheckpointEvery
	db.RetentionInterval = cfg.RetentionEvery
	db.StreamKey = streamKey
	db.StreamLeaseTTL = cfg.StreamLeaseTTL
	db.Committed = committed
	if err := db.Open(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// verifyPostgres audits the whole PostgreSQL store at dsn.
func verifyPostgres(ctx context.Context, dsn string, v note.Verifier, progress func(int64), stdout io.Writer) error {
	db := postgres.NewDB(dsn)
	db.ReadOnly = true
	db.Logger = slog.New(slog.DiscardHandler)
	if err := db.Open(ctx); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	rep, err := db.Verify(ctx, v, progress)
	if err != nil {
		return fmt.Errorf("verification FAILED: %w", err)
	}
	fmt.Fprintf(stdout, "OK: verified %d organizations, %d events (%d purged by retention), %d signed checkpoints\n", rep.Organizations, rep.Events, rep.Purged, rep.Checkpoints)
	return nil
}
