// Package postgres is the store for deployments that outgrow one machine:
// the whole service state in one PostgreSQL database (or schema), shared by
// any number of auditlog serve processes. See docs/scaling.md.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/seal"
	"github.com/auditlog/auditlog/internal/storemetrics"
	"github.com/auditlog/auditlog/merkle"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is the PostgreSQL store. It implements auditlog.Store and auditlog.LogService.
type DB struct {
	// Now is the clock; it may be replaced before Open.
	Now func() time.Time
	// Logger receives the store's own log lines; it may be replaced before Open.
	Logger *slog.Logger
	// MaxCommitEvents bounds how many events one group commit writes.
	MaxCommitEvents int
	// SigningKey signs checkpoints; without one no checkpoint is signed.
	SigningKey *merkle.Key
	// OriginPrefix starts the origin line of checkpoints: <prefix>/<provider>/<name>.
	OriginPrefix string
	// CheckpointInterval bounds how long new events wait for a signed
	// checkpoint; 0 turns the background signer off (see SignCheckpoints).
	CheckpointInterval time.Duration
	// RetentionInterval is how often the retention worker runs; 0 turns it
	// off (see PurgeExpired). Retention needs the SigningKey.
	RetentionInterval time.Duration
	// MaintenanceInterval is how often partitions are created ahead and past
	// months indexed; 0 turns the worker off (see IndexClosedMonths).
	MaintenanceInterval time.Duration
	// PartitionsAhead is how many months of event partitions are kept created ahead of now.
	PartitionsAhead int
	// MaxConns bounds the connections of the pool; 0 means the default.
	MaxConns int32
	// StreamKey seals the URLs and secrets of streams; without one no stream can be created.
	StreamKey *seal.Key
	// Committed, if set, is called with every organization whose log grew
	// and its new size: at once after each commit of this server, and on
	// notification (LISTEN/NOTIFY, see notify.go) after the commits of the
	// other servers on the database. It must not block.
	Committed func(ref auditlog.OrgRef, size int64)
	// StreamLeaseTTL is how long a stream's lease lasts unless its holder
	// renews it (ClaimStreams): how long the streams of a server that died
	// wait for another to take them over.
	StreamLeaseTTL time.Duration
	// ReadOnly opens the store for reading only (auditlog verify): no
	// migrations, no writer, no background workers.
	ReadOnly bool

	dsn     string
	pool    *pgxpool.Pool
	holder  string // this server's name in stream leases and commit notifications
	channel string // the schema's commit notification channel

	orgIDs sync.Map // auditlog.OrgRef -> int32: organization ids, which never change

	writer   *writer
	notifier *notifier
	signer   *signer
	parts    *partitions
	workers  *workers
	metrics  *storemetrics.Metrics
	closeMu  sync.Mutex
	isClosed bool
}

// NewDB returns a store for the database at dsn (a PostgreSQL URL or
// key=value string; search_path in it selects the schema); call Open next.
func NewDB(dsn string) *DB {
	return &DB{
		Now:                 time.Now,
		Logger:              slog.Default(),
		MaxCommitEvents:     20_000,
		OriginPrefix:        "auditlog",
		CheckpointInterval:  time.Second,
		RetentionInterval:   time.Hour,
		MaintenanceInterval: time.Hour,
		PartitionsAhead:     2,
		StreamLeaseTTL:      DefaultStreamLeaseTTL,
		dsn:                 dsn,
		holder:              newHolderID(),
		metrics:             storemetrics.New(),
	}
}

// Open connects, applies the migrations (unless ReadOnly) and starts the
// writer and the background workers.
func (db *DB) Open(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(db.dsn)
	if err != nil {
		return fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if db.MaxConns > 0 {
		cfg.MaxConns = db.MaxConns
	} else {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	db.pool = pool
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("postgres: connect: %w", err)
	}
	if db.ReadOnly {
		err = db.checkSchema(ctx)
	} else {
		err = db.migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return err
	}
	db.parts = newPartitions(db)
	if db.ReadOnly {
		return nil
	}
	if err := db.parts.ensureAhead(ctx, db.now()); err != nil {
		pool.Close()
		return err
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return fmt.Errorf("postgres: read the schema: %w", err)
	}
	db.channel = commitChannel(schema)
	db.notifier = newNotifier(db)
	db.signer = newSigner(db)
	db.writer = newWriter(db)
	db.workers = startWorkers(db)
	return nil
}

// Close stops the writer after it has committed what it accepted, signs the
// checkpoints the last commits need, releases the stream leases (stop the
// stream worker first), and closes the pool.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.isClosed {
		db.closeMu.Unlock()
		return nil
	}
	db.isClosed = true
	db.closeMu.Unlock()
	if db.writer != nil {
		db.writer.close()
	}
	if db.workers != nil {
		db.workers.stop()
	}
	var err error
	if db.signer != nil && db.SigningKey != nil {
		// Sign what the last commits added, so a clean shutdown leaves every event checkpointed.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err = db.signer.signAll(ctx); err != nil {
			db.Logger.Error("signing final checkpoints failed", "err", err)
		}
		cancel()
	}
	if db.pool != nil && !db.ReadOnly {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := db.releaseStreams(ctx); err != nil {
			db.Logger.Warn("releasing the stream leases failed: other servers take the streams over when the leases expire", "err", err)
		}
		cancel()
	}
	if db.pool != nil {
		db.pool.Close()
	}
	return nil
}

// Ready reports whether the store can take writes: it is open and the database answers.
func (db *DB) Ready(ctx context.Context) error {
	db.closeMu.Lock()
	closed := db.isClosed
	db.closeMu.Unlock()
	if closed || db.pool == nil || db.writer == nil || db.writer.closed() {
		return auditlog.Errorf(auditlog.EUNAVAILABLE, "the store is closed")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := db.pool.Ping(ctx); err != nil {
		db.Logger.Warn("database unreachable", "err", err)
		return auditlog.Errorf(auditlog.EUNAVAILABLE, "the database is unreachable")
	}
	return nil
}

// now is the store's clock, in UTC with millisecond precision like every stored time.
func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Millisecond) }

// errUnavailable is what a client sees when the database fails under a write.
var errUnavailable = auditlog.Errorf(auditlog.EUNAVAILABLE, "storage is unavailable; nothing of this batch was stored")

// unavailable wraps a database error so that clients see errUnavailable (the
// error itself stays in the chain for the logs), unless err is already a
// domain error or the caller's context ended.
func unavailable(what string, err error) error {
	var e *auditlog.Error
	if errors.As(err, &e) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %w (%w)", what, errUnavailable, err)
}
