package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	ahttp "github.com/auditlog/auditlog/http"
	"github.com/auditlog/auditlog/pebble"
	"github.com/auditlog/auditlog/postgres"
	"github.com/auditlog/auditlog/stream"
)

// Config is the configuration of auditlog serve.
type Config struct {
	DataDir         string
	Addr            string
	AdminToken      string // from AUDITLOG_ADMIN_TOKEN or AdminTokenFile; generated when empty
	AdminTokenFile  string
	Demo            bool
	SigningKeyFile  string        // checkpoint signing key; default <data>/log-key, created at first start
	OriginPrefix    string        // checkpoint origin lines are <prefix>/<provider>/<name>
	CheckpointEvery time.Duration // how long new events wait at most for a signed checkpoint
	RetentionEvery  time.Duration // how often expired events are purged; 0 turns retention off
	// PostgresDSN, if set, is the PostgreSQL database the service runs on
	// (shared by any number of servers) instead of the embedded store.
	PostgresDSN     string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	RateLimitReads  ahttp.Rate     // GET and HEAD requests per client IP and per token
	RateLimitWrites ahttp.Rate     // other requests per client IP and per token
	TrustedProxies  []netip.Prefix // peers whose X-Forwarded-For names the client
	// MaxInflightIngestBytes bounds the ingest request bodies (by their
	// Content-Length) decoded and stored at once (0: no bound); past it a
	// request waits up to IngestQueueWait, with at most MaxQueuedIngest
	// others, and is otherwise answered 503 with Retry-After.
	MaxInflightIngestBytes int64
	MaxQueuedIngest        int
	IngestQueueWait        time.Duration
	// MinFreeDisk is the free space (bytes) on the data directory's file
	// system below which the embedded store refuses appends with 503; 0: no check.
	MinFreeDisk int64
	// MemoryLimit is the serve process's soft memory limit (bytes, as
	// debug.SetMemoryLimit): near it the garbage collector runs more often,
	// so that memory freed by ingest and compactions goes back to the system
	// instead of letting the heap double. 0 leaves Go's own (GOMEMLIMIT).
	MemoryLimit int64

	// StreamKeyFile holds the key that encrypts stream secrets (32 bytes, hex
	// or base64); default a key derived from the checkpoint signing key.
	StreamKeyFile   string
	StreamRetryBase time.Duration // wait before a failed delivery's first retry
	StreamRetryMax  time.Duration // longest wait between retries
	// StreamLeaseTTL is how long a server's lease on a stream lasts unless
	// renewed (every third of it), on PostgreSQL: how long the streams of a
	// server that died wait for another server to take them over.
	StreamLeaseTTL time.Duration
}

// DefaultConfig is the configuration of a bare "auditlog serve".
func DefaultConfig() Config {
	return Config{
		DataDir:         "./auditlog-data",
		Addr:            "127.0.0.1:8080",
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 30 * time.Second,
		OriginPrefix:    "auditlog",
		CheckpointEvery: time.Second,
		RetentionEvery:  time.Hour,
		RateLimitReads:  ahttp.DefaultReadRate,
		RateLimitWrites: ahttp.DefaultWriteRate,
		StreamRetryBase: stream.DefaultRetryBase,
		StreamRetryMax:  stream.DefaultRetryMax,
		StreamLeaseTTL:  postgres.DefaultStreamLeaseTTL,

		MaxInflightIngestBytes: ahttp.DefaultMaxInflightIngestBytes,
		MaxQueuedIngest:        ahttp.DefaultMaxQueuedIngest,
		IngestQueueWait:        ahttp.DefaultIngestQueueWait,
		MinFreeDisk:            pebble.DefaultMinFreeDisk,
		MemoryLimit:            DefaultMemoryLimit,
	}
}

// DefaultMemoryLimit keeps the server's memory under the 300 MB of issue 9:
// ingesting 10M events into one organization, its peak RSS was 339 MB
// without a limit and 238 MB with this one, at the same throughput (BENCHMARKS.md).
const DefaultMemoryLimit = 200 << 20

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	if c.MemoryLimit < 0 {
		errs = append(errs, errors.New("--memory-limit must not be negative"))
	}
	if c.Addr == "" {
		errs = append(errs, errors.New("--addr must not be empty"))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: must be text or json", c.LogFormat))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout must be positive"))
	}
	if c.RetentionEvery < 0 {
		errs = append(errs, errors.New("--retention-interval must not be negative"))
	}
	if c.CheckpointEvery <= 0 {
		errs = append(errs, errors.New("--checkpoint-interval must be positive"))
	}
	if c.PostgresDSN != "" && c.SigningKeyFile == "" {
		errs = append(errs, errors.New("--postgres needs --signing-key: the checkpoint signing key must not live in the database whose log it signs (create one with auditlog keygen, and give every server the same file)"))
	}
	if c.OriginPrefix == "" || strings.ContainsAny(c.OriginPrefix, "\n ") {
		errs = append(errs, errors.New("--origin-prefix must be a non-empty word without spaces"))
	}
	if c.MaxInflightIngestBytes < 0 {
		errs = append(errs, errors.New("--max-inflight-ingest-bytes must not be negative"))
	}
	if c.MaxQueuedIngest < 0 {
		errs = append(errs, errors.New("--max-queued-ingest must not be negative"))
	}
	if c.IngestQueueWait < 0 {
		errs = append(errs, errors.New("--ingest-queue-wait must not be negative"))
	}
	if c.StreamRetryBase <= 0 || c.StreamRetryMax < c.StreamRetryBase {
		errs = append(errs, errors.New("--stream-retry-base must be positive and at most --stream-retry-max"))
	}
	if c.StreamLeaseTTL < 30*time.Millisecond {
		errs = append(errs, errors.New("--stream-lease-ttl must be at least 30ms (it is renewed every third of it)"))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("the admin token must be at least 16 characters"))
	}
	return errors.Join(errs...)
}

// envFlags registers flags whose defaults come from AUDITLOG_* variables.
type envFlags struct {
	fs   *flag.FlagSet
	errs []error
}

func (e *envFlags) env(name string) (string, bool) { return os.LookupEnv(name) }

func (e *envFlags) String(p *string, name, env, usage string) {
	if v, ok := e.env(env); ok {
		*p = v
	}
	e.fs.StringVar(p, name, *p, fmt.Sprintf("%s (%s)", usage, env))
}

func (e *envFlags) Bool(p *bool, name, env, usage string) {
	if v, ok := e.env(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: not a boolean", env, v))
		}
		*p = b
	}
	e.fs.BoolVar(p, name, *p, fmt.Sprintf("%s (%s)", usage, env))
}

func (e *envFlags) Duration(p *time.Duration, name, env, usage string) {
	if v, ok := e.env(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: not a duration", env, v))
		}
		*p = d
	}
	e.fs.DurationVar(p, name, *p, fmt.Sprintf("%s (%s)", usage, env))
}

// Var registers a flag of any flag.Value, whose default comes from env.
func (e *envFlags) Var(v flag.Value, name, env, usage string) {
	if s, ok := e.env(env); ok {
		if err := v.Set(s); err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: %v", env, s, err))
		}
	}
	e.fs.Var(v, name, fmt.Sprintf("%s (%s)", usage, env))
}
