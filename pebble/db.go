// Package pebble is the embedded store: the whole service state in one
// Pebble (LSM) database directory. See docs/adr/0001-embedded-storage.md.
package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/seal"
	"github.com/auditlog/auditlog/internal/storemetrics"
	"github.com/auditlog/auditlog/merkle"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// DB is the embedded store. It implements auditlog.DirectoryService,
// auditlog.TokenService and auditlog.EventService.
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
	// RetentionInterval is how often expired events are purged; 0 turns the
	// retention worker off (see PurgeExpired).
	RetentionInterval time.Duration
	// StreamKey seals the URLs and secrets of streams; without one no stream can be created.
	StreamKey *seal.Key
	// Committed, if set, is called after each commit with every organization
	// whose log grew and its new size. It runs on the writer: it must not block.
	Committed func(ref auditlog.OrgRef, size int64)
	// ReadOnly opens the database for reading only (auditlog verify), without the writer and signer.
	ReadOnly bool
	// CheckpointInterval bounds how long new events wait for a signed
	// checkpoint; 0 turns the background signer off (see SignCheckpoints).
	CheckpointInterval time.Duration
	// MinFreeDisk is the free space, in bytes, below which appends are
	// refused (503); 0 turns the check off. See diskspace.go.
	MinFreeDisk int64

	path string
	db   *pebble.DB

	dirMu    sync.Mutex // serializes directory writes (org ids, read-modify-write of records)
	orgIDs   sync.Map   // auditlog.OrgRef -> uint32: organization ids, which never change
	eraseMu  sync.Mutex // serializes erasures (read-modify-write of events)
	streamMu sync.Mutex // serializes stream writes (a status never outlives its stream)
	purgeMu  sync.Mutex // serializes retention runs

	writer    *writer
	signer    *signer
	words     *wordIndexer
	retain    *retainer
	wordBlock int64 // events per word-index block (words.go)
	noTree    bool  // benchmarks only (export_test.go): append without the Merkle tree, to measure its cost
	metrics   *storemetrics.Metrics
	disk      *diskGuard // diskspace.go
	fs        *waitFS    // diskfs.go

	// Bytes of table blocks loaded by the event reads of findByWords and
	// eventsBySequenceWhere (words.go, log.go): tests count their work with it.
	eventBlockBytes atomic.Int64
	// afterPurgeSnapshot, if set (tests), runs once retention took its snapshot.
	afterPurgeSnapshot func()
	// Word-index blocks built by reading their events back (words.go).
	wordBlocksRead atomic.Int64
}

// NewDB returns a store for the database directory path; call Open next.
func NewDB(path string) *DB {
	return &DB{
		Now:                time.Now,
		Logger:             slog.Default(),
		MaxCommitEvents:    20_000,
		OriginPrefix:       "auditlog",
		CheckpointInterval: time.Second,
		RetentionInterval:  time.Hour,
		MinFreeDisk:        DefaultMinFreeDisk,
		path:               path,
		metrics:            storemetrics.New(),
		wordBlock:          defaultWordBlock,
	}
}

// Open opens (creating if needed) the database and starts the writer.
func (db *DB) Open() error {
	opts := &pebble.Options{
		Logger:             pebbleLogger{db.Logger.With("component", "pebble")},
		FormatMajorVersion: pebble.FormatNewest,
		Cleaner:            deleteCleaner{}, // no recycled WAL keeps erased values (erase.go)
		ReadOnly:           db.ReadOnly,
		MemTableSize:       64 << 20, // docs/adr/0001: 16 MiB measured best for id lookups over 1,000 organizations; 64 MiB halves the CPU of flushes and compactions of one organization's ingest
	}
	db.fs = newWaitFS(vfs.Default, db.Logger.With("component", "pebble"))
	db.disk = &diskGuard{path: db.path, min: uint64(max(db.MinFreeDisk, 0)), logger: db.Logger}
	opts.FS = db.fs
	// Fast compression (MinLZ) where tables are soon rewritten, zstd where
	// they settle (L5, and L6, which holds most of a store), in 16 KiB blocks
	// there: more context for zstd. Measured in docs/adr/0001 (disk).
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionGood })
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10) // id lookups mostly miss
		if i >= len(opts.Levels)-2 {
			opts.Levels[i].BlockSize = 16 << 10
		}
	}
	pdb, err := pebble.Open(db.path, opts)
	if err != nil {
		return fmt.Errorf("open pebble database %s: %w", db.path, err)
	}
	db.db = pdb
	if err := db.checkFormat(); err != nil {
		_ = pdb.Close()
		return err
	}
	if db.ReadOnly {
		return nil
	}
	db.signer = newSigner(db)
	if err := db.signer.start(); err != nil {
		_ = pdb.Close()
		return fmt.Errorf("start checkpoint signer: %w", err)
	}
	db.writer = newWriter(db)
	db.words = startWordIndexer(db)
	db.retain = startRetainer(db)
	return nil
}

// Close stops the writer after it has committed what it accepted, then closes the database.
func (db *DB) Close() error {
	if db.fs != nil {
		db.fs.release() // a write waiting for disk space fails now: see diskfs.go
	}
	if db.writer != nil {
		db.writer.close()
	}
	if db.words != nil {
		db.words.stop()
	}
	if db.retain != nil {
		db.retain.stop()
	}
	if db.signer != nil {
		db.signer.stop()
		// Sign what the last commits added, so a clean shutdown leaves every event checkpointed.
		if err := db.signer.signAll(); err != nil {
			db.Logger.Error("signing final checkpoints failed", "err", err)
		}
	}
	if db.db == nil {
		return nil
	}
	err := db.db.Close()
	db.db = nil
	return err
}

// Ready reports whether the store can take writes.
func (db *DB) Ready(ctx context.Context) error {
	if db.db == nil || db.writer.closed() {
		return auditlog.Errorf(auditlog.EUNAVAILABLE, "the store is closed")
	}
	if err := db.fs.waitingErr(); err != nil {
		return err
	}
	return db.disk.check()
}

// checkFormat records the format version in a new database and refuses a
// database written in another one.
func (db *DB) checkFormat() error {
	v, err := db.get(metaFormat)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return db.db.Set(metaFormat, binary.AppendUvarint(nil, formatVersion), pebble.Sync)
	case err != nil:
		return err
	}
	if got, _ := binary.Uvarint(v); got != formatVersion {
		return fmt.Errorf("database %s has format version %d; this binary reads version %d", db.path, got, formatVersion)
	}
	return nil
}

// now is the store's clock, in UTC with millisecond precision like every stored time.
func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Millisecond) }

// get returns a copy of the value of key, or pebble.ErrNotFound.
func (db *DB) get(key []byte) ([]byte, error) {
	return getFrom(db.db, key)
}

func getFrom(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

// pebbleLogger sends Pebble's log lines to slog; its many informational lines go to debug.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any)  { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) { p.l.Error(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
