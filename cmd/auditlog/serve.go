package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/auditlog/auditlog"
	ahttp "github.com/auditlog/auditlog/http"
	"github.com/auditlog/auditlog/internal/demo"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
	"github.com/auditlog/auditlog/postgres"
	"github.com/auditlog/auditlog/stream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const serveUsage = `Usage: auditlog serve [flags]

Runs the HTTP service. With no flags it keeps everything in ./auditlog-data
and listens on 127.0.0.1:8080. The admin token (the host platform's
credential) is AUDITLOG_ADMIN_TOKEN, or the content of --admin-token-file, or
else generated at first start into <data>/admin-token (mode 0600).

Flags:
`

func parseServeFlags(args []string, stderr io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	f := envFlags{fs: fs}
	f.String(&cfg.DataDir, "data", "AUDITLOG_DATA", "directory of the embedded store")
	f.String(&cfg.Addr, "addr", "AUDITLOG_ADDR", "address to listen on")
	f.String(&cfg.AdminTokenFile, "admin-token-file", "AUDITLOG_ADMIN_TOKEN_FILE", "read the admin token from this file")
	f.String(&cfg.SigningKeyFile, "signing-key", "AUDITLOG_SIGNING_KEY_FILE", "checkpoint signing key file (from auditlog keygen); default <data>/log-key, created at first start")
	f.String(&cfg.OriginPrefix, "origin-prefix", "AUDITLOG_ORIGIN_PREFIX", "checkpoint origin lines are <prefix>/<provider>/<name>")
	f.Duration(&cfg.CheckpointEvery, "checkpoint-interval", "AUDITLOG_CHECKPOINT_INTERVAL", "longest time new events wait for a signed checkpoint")
	f.Duration(&cfg.RetentionEvery, "retention-interval", "AUDITLOG_RETENTION_INTERVAL", "how often events older than their organization's retentionDays are purged (0 turns retention off)")
	f.String(&cfg.PostgresDSN, "postgres", "AUDITLOG_POSTGRES_DSN", "run on this PostgreSQL database (URL or key=value DSN; search_path selects the schema) instead of the embedded store; any number of servers may share it; needs --signing-key")
	f.Bool(&cfg.Demo, "demo", "AUDITLOG_DEMO", "create the demo organization gh/demo with a year of events and print an api-token for it")
	f.String(&cfg.LogLevel, "log-level", "AUDITLOG_LOG_LEVEL", "debug, info, warn or error")
	f.String(&cfg.LogFormat, "log-format", "AUDITLOG_LOG_FORMAT", "text or json")
	f.Duration(&cfg.ShutdownTimeout, "shutdown-timeout", "AUDITLOG_SHUTDOWN_TIMEOUT", "how long to wait for in-flight requests on SIGINT/SIGTERM")
	f.Var((*rateFlag)(&cfg.RateLimitReads), "rate-limit-reads", "AUDITLOG_RATE_LIMIT_READS", "GET requests to /api/ allowed per client IP and per token, as N/DURATION, or off")
	f.Var((*rateFlag)(&cfg.RateLimitWrites), "rate-limit-writes", "AUDITLOG_RATE_LIMIT_WRITES", "other requests to /api/ allowed per client IP and per token, as N/DURATION, or off")
	f.Var((*sizeFlag)(&cfg.MaxInflightIngestBytes), "max-inflight-ingest-bytes", "AUDITLOG_MAX_INFLIGHT_INGEST_BYTES", "ingest request bodies decoded and stored at once, such as 8MiB: each request weighs its Content-Length (without one, the whole budget: send Content-Length); more wait in order, then are answered 503 with Retry-After (0: no bound)")
	f.Int(&cfg.MaxQueuedIngest, "max-queued-ingest", "AUDITLOG_MAX_QUEUED_INGEST", "ingest requests that may wait for room in --max-inflight-ingest-bytes; more are answered 503 at once")
	f.Duration(&cfg.IngestQueueWait, "ingest-queue-wait", "AUDITLOG_INGEST_QUEUE_WAIT", "how long an ingest request waits for room before 503 (0: no wait)")
	f.Var((*sizeFlag)(&cfg.MinFreeDisk), "min-free-disk", "AUDITLOG_MIN_FREE_DISK", "embedded store: below this much free disk space ingest is answered 503 and /readyz is not ready, such as 64MiB (0: no check)")
	f.Var((*sizeFlag)(&cfg.MemoryLimit), "memory-limit", "AUDITLOG_MEMORY_LIMIT", "soft limit of the server's memory, such as 200MiB: near it the garbage collector runs more often (0: Go's own, GOMEMLIMIT)")
	f.Var((*prefixesFlag)(&cfg.TrustedProxies), "trusted-proxies", "AUDITLOG_TRUSTED_PROXIES", "comma-separated CIDR prefixes of proxies whose X-Forwarded-For names the client (default none)")
	f.String(&cfg.StreamKeyFile, "stream-key-file", "AUDITLOG_STREAM_KEY_FILE", "key that encrypts stream secrets at rest: 32 bytes as hex or base64 (default derived from the signing key)")
	f.Duration(&cfg.StreamRetryBase, "stream-retry-base", "AUDITLOG_STREAM_RETRY_BASE", "wait before the first retry of a failed stream delivery; it doubles each try")
	f.Duration(&cfg.StreamRetryMax, "stream-retry-max", "AUDITLOG_STREAM_RETRY_MAX", "longest wait between retries of a failed stream delivery")
	f.Duration(&cfg.StreamLeaseTTL, "stream-lease-ttl", "AUDITLOG_STREAM_LEASE_TTL", "with --postgres: how long a server's lease on a stream lasts unless renewed; a dead server's streams pass to another within about 1.3 times this")
	cfg.AdminToken = os.Getenv("AUDITLOG_ADMIN_TOKEN")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	if err := errors.Join(f.errs...); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit) // for the process, so here and not in Service: tests run many services in one
	}
	svc := &Service{Config: cfg, Logger: newLogger(cfg, stderr), Stdout: stdout}
	if err := svc.Open(ctx); err != nil {
		_ = svc.Close()
		return err
	}
	<-ctx.Done()
	svc.Logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	return svc.Close()
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Service is a running auditlog serve: the store, the HTTP server and their wiring.
type Service struct {
	Config Config
	Logger *slog.Logger
	Stdout io.Writer // where the start-up notes for the operator go

	DB        *pebble.DB   // the embedded store, unless PG
	PG        *postgres.DB // the PostgreSQL store, with --postgres
	HTTP      *ahttp.Server
	Streams   *stream.Worker // delivers events to the organizations' streams
	DemoToken string         // the demo admin's api-token, with --demo
}

// Open opens the store and starts serving.
func (s *Service) Open(ctx context.Context) error {
	cfg := s.Config
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	admin, err := s.adminToken()
	if err != nil {
		return err
	}

	key, err := s.signingKey()
	if err != nil {
		return err
	}
	streamKey, err := s.streamKey(key)
	if err != nil {
		return err
	}
	s.Streams = s.newStreamWorker()
	var st store
	if cfg.PostgresDSN != "" {
		if s.PG, err = openPostgres(ctx, cfg, s.Logger, key, streamKey, s.Streams.Notify); err != nil {
			return err
		}
		s.Streams.Store = s.PG
		s.Streams.ReloadInterval = cfg.StreamLeaseTTL / 3 // renews the leases
		st = s.PG
	} else {
		s.DB = pebble.NewDB(filepath.Join(cfg.DataDir, "db"))
		s.DB.Logger = s.Logger.With("component", "store")
		s.DB.SigningKey = key
		s.DB.OriginPrefix = cfg.OriginPrefix
		s.DB.CheckpointInterval = cfg.CheckpointEvery
		s.DB.RetentionInterval = cfg.RetentionEvery
		s.DB.MinFreeDisk = cfg.MinFreeDisk
		s.DB.StreamKey = streamKey
		s.DB.Committed = s.Streams.Notify
		if err := s.DB.Open(); err != nil {
			return err
		}
		s.Streams.Store = s.DB
		st = s.DB
	}
	if err := s.Streams.Open(); err != nil {
		return fmt.Errorf("start stream deliveries: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(st.Collectors()...)
	reg.MustRegister(s.Streams.Collectors()...)

	if cfg.Demo {
		start := time.Now()
		tok, err := demo.Seed(ctx, demo.Services{Directory: st, Tokens: st, Events: st}, time.Now(), rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		s.DemoToken = tok
		s.Logger.Info("demo organization ready", "org", demo.Org.String(), "took", time.Since(start).Round(time.Millisecond))
	}

	h := ahttp.NewServer()
	h.Addr = cfg.Addr
	h.AdminToken = admin
	h.Events, h.Directory, h.Tokens, h.Log, h.Streams = st, st, st, st, s.Streams
	h.LogKey = key.VKey
	h.CursorKey = key.DeriveSecret("list cursors")
	h.Ready = st.Ready
	h.Logger = s.Logger.With("component", "http")
	h.Registry = reg
	h.RateLimits = ahttp.RateLimits{Reads: cfg.RateLimitReads, Writes: cfg.RateLimitWrites}
	h.TrustedProxies = cfg.TrustedProxies
	h.MaxInflightIngestBytes = cfg.MaxInflightIngestBytes
	h.MaxQueuedIngest = cfg.MaxQueuedIngest
	h.IngestQueueWait = cfg.IngestQueueWait
	if err := h.Open(); err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s.HTTP = h
	if s.PG != nil {
		s.Logger.Info("auditlog serving", "url", h.URL(), "store", "postgres")
	} else {
		s.Logger.Info("auditlog serving", "url", h.URL(), "data", cfg.DataDir)
	}
	if s.DemoToken != "" && s.Stdout != nil {
		fmt.Fprintf(s.Stdout, `
Demo organization %s is ready. Its admin %s has this api-token:

  %s

Open the web viewer, signed in as that admin (the page moves the token from
the address into this tab's session storage):

  %s

Try:

  curl -s -H 'api-token: %s' '%s/api/v3/organizations/gh/demo/audit?from=%d' | head -c 600

`, demo.Org, demo.AdminEmail, s.DemoToken, DemoViewerURL(h.URL(), s.DemoToken), s.DemoToken, h.URL(), time.Now().Add(-24*time.Hour).UnixMilli())
	}
	return nil
}

// DemoViewerURL is the web viewer's address that signs in with token and opens
// the demo organization: both ride in the fragment, which browsers do not send
// to the server, and the page removes the token from the address at once.
func DemoViewerURL(base, token string) string {
	return base + "/#token=" + url.QueryEscape(token) + "&org=" + url.QueryEscape(demo.Org.String())
}

// Close stops accepting requests, lets in-flight ones finish (their batches
// committed), then closes the store.
func (s *Service) Close() error {
	var errs []error
	if s.HTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
		defer cancel()
		if err := s.HTTP.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if s.Streams != nil {
		if err := s.Streams.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop stream deliveries: %w", err))
		}
	}
	if s.DB != nil {
		if err := s.DB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if s.PG != nil {
		if err := s.PG.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// signingKey loads the checkpoint signing key: --signing-key, or
// <data>/log-key, created at first start.
func (s *Service) signingKey() (*merkle.Key, error) {
	if s.Config.SigningKeyFile != "" {
		return merkle.LoadKey(s.Config.SigningKeyFile)
	}
	path := filepath.Join(s.Config.DataDir, "log-key")
	k, err := merkle.LoadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		if k, err = merkle.WriteNewKey(path, merkle.DefaultKeyName); err != nil {
			return nil, err
		}
		s.Logger.Info("generated the checkpoint signing key", "file", path, "verifier", k.VKey)
	}
	return k, err
}

// adminToken returns the configured admin token, or the one in
// <data>/admin-token, generating that file at first start.
func (s *Service) adminToken() (string, error) {
	cfg := s.Config
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	if cfg.AdminTokenFile != "" {
		b, err := os.ReadFile(cfg.AdminTokenFile)
		if err != nil {
			return "", fmt.Errorf("read admin token: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return "", fmt.Errorf("admin token in %s is shorter than 16 characters", cfg.AdminTokenFile)
		}
		return tok, nil
	}
	path := filepath.Join(cfg.DataDir, "admin-token")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	tok := "ala_" + auditlog.NewID(24)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	s.Logger.Info("generated the admin token", "file", path)
	return tok, nil
}
