// Package bench drives a real auditlog server over HTTP the way hosts and
// readers load it, and measures it: batch ingest from concurrent clients,
// one-event requests at a fixed rate, queries, exports and the offline
// verification of an evidence bundle; and, in the same run, plain SQLite and
// PostgreSQL tables taking the same events (internal/baseline). It is the
// engine of "auditlog bench".
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/dirsize"
)

// Config is what to run. The zero value of a scenario's knob turns it off.
type Config struct {
	// The server: started from Binary (serve on DataDir, a temp dir when
	// empty, with ServeArgs), or the one at URL with the admin Token (PID
	// and DataDir, if given, are measured).
	Binary    string   `json:"-"`
	ServeArgs []string `json:"serveArgs,omitempty"`
	URL       string   `json:"url,omitempty"`
	Token     string   `json:"-"`
	PID       int      `json:"pid,omitempty"`
	DataDir   string   `json:"dataDir,omitempty"`
	WorkDir   string   `json:"-"` // for the bundle, the SQLite baseline and a started server's data; a temp dir when empty
	Keep      bool     `json:"keep,omitempty"`

	Clients  int           `json:"clients"`
	Batch    int           `json:"batch"`
	Orgs     int           `json:"orgs"`
	BigShare float64       `json:"bigShare"` // of the events that go to the first organization
	Events   int64         `json:"events"`
	Duration time.Duration `json:"duration,omitempty"` // ends the ingest early
	Interval time.Duration `json:"interval"`
	Seed     uint64        `json:"seed"`

	SingleRate     float64       `json:"singleRate"`
	SingleDuration time.Duration `json:"singleDuration"`

	Queries   int           `json:"queries"`   // newest-100 pages; the searches take a tenth as many
	QueryTime time.Duration `json:"queryTime"` // at most this long for each kind of query, once it has 5 answers (0: no limit)
	Exports   []string      `json:"exports"`   // formats: ndjson, csv, bundle
	Verify    bool          `json:"verify"`    // verify the bundle export (which it needs)

	SQLite   bool   `json:"sqlite"`
	Postgres string `json:"-"` // DSN of the PostgreSQL baseline's database

	Progress io.Writer `json:"-"` // progress lines; nil for none
}

// DefaultConfig is a run of about a minute on two cores.
func DefaultConfig() Config {
	return Config{
		Clients: 4, Batch: 1000, Orgs: 100, BigShare: 0.5, Events: 1_000_000, Interval: 5 * time.Second, Seed: 1,
		SingleRate: 1000, SingleDuration: 10 * time.Second,
		Queries: 1000, QueryTime: 30 * time.Second, Exports: []string{"ndjson", "bundle"}, Verify: true, SQLite: true,
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.URL == "" && c.Binary == "":
		return errors.New("no server: give the binary to start or a URL")
	case c.URL != "" && c.Token == "":
		return errors.New("a server given by URL needs its admin token")
	case c.Clients < 1:
		return errors.New("clients must be at least 1")
	case c.Batch < 1 || c.Batch > auditlog.MaxBatchEvents:
		return fmt.Errorf("batch must be 1 to %d", auditlog.MaxBatchEvents)
	case c.Orgs < 1:
		return errors.New("orgs must be at least 1")
	case c.BigShare < 0 || c.BigShare > 1:
		return errors.New("big-share must be between 0 and 1")
	case c.Events < 1:
		return errors.New("events must be at least 1")
	case c.Interval <= 0:
		return errors.New("interval must be positive")
	case c.SingleRate < 0 || c.SingleRate > 0 && c.SingleDuration <= 0:
		return errors.New("single-rate must be 0 (off) or positive, with a positive single-duration")
	case c.Queries < 0:
		return errors.New("queries must be 0 (off) or positive")
	}
	bundle := false
	for _, f := range c.Exports {
		switch f {
		case "ndjson", "csv":
		case "bundle":
			bundle = true
		default:
			return fmt.Errorf("unknown export format %q: want ndjson, csv or bundle", f)
		}
	}
	if c.Verify && !bundle {
		return errors.New("verify needs the bundle export")
	}
	return nil
}

func (c *Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "bench: "+format+"\n", args...)
	}
}

// Run runs the scenarios in order (ingest, single, queries, exports,
// verification, baselines) and reports what they measured.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now().UTC(), Config: cfg,
		Machine: Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, LoadStart: loadAvg()}}
	work := cfg.WorkDir
	if work != "" {
		if err := os.MkdirAll(work, 0o755); err != nil {
			return nil, err
		}
	} else {
		dir, err := os.MkdirTemp("", "auditlog-bench-")
		if err != nil {
			return nil, err
		}
		work = dir
		if !cfg.Keep {
			defer os.RemoveAll(dir)
		}
	}
	cfg.WorkDir = work
	r := &run{cfg: cfg, rep: rep}
	err := r.run(ctx)
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Machine.LoadEnd = loadAvg()
	return rep, err
}

// run is one run's state.
type run struct {
	cfg    Config
	rep    *Report
	srv    *Server
	mem    *memorySampler
	orgs   []auditlog.OrgRef
	reader string  // api-token of an admin of the big organization
	sent   []int64 // events each ingest client had acknowledged, for the baselines to replay
}

func (r *run) run(ctx context.Context) (err error) {
	cfg := &r.cfg
	if cfg.URL != "" {
		r.srv = &Server{URL: cfg.URL, AdminToken: cfg.Token, PID: cfg.PID, DataDir: cfg.DataDir}
	} else {
		dir := cfg.DataDir
		if dir == "" {
			dir = filepath.Join(cfg.WorkDir, "data")
		}
		logf, err := os.Create(filepath.Join(cfg.WorkDir, "serve.log"))
		if err != nil {
			return err
		}
		defer logf.Close()
		cfg.progress("starting %s serve --data %s (log: %s)", cfg.Binary, dir, logf.Name())
		if r.srv, err = StartServer(ctx, cfg.Binary, dir, cfg.ServeArgs, logf); err != nil {
			return err
		}
		defer func() {
			if r.srv != nil { // not stopped yet: an error ended the run
				r.memoryPeaks()
				_ = r.srv.Stop(30 * time.Second)
			}
		}()
	}
	r.rep.Server = ServerReport{URL: r.srv.URL, Started: r.srv.cmd != nil, PID: r.srv.PID, DataDir: r.srv.DataDir}
	if r.srv.PID != 0 {
		r.mem = startSampler(r.srv.PID, 100*time.Millisecond)
	}
	if err := r.setup(ctx); err != nil {
		return err
	}
	if err := r.ingest(ctx); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if cfg.SingleRate > 0 {
		if err := r.single(ctx); err != nil {
			return fmt.Errorf("single events: %w", err)
		}
	}
	if cfg.Queries > 0 {
		if err := r.queries(ctx); err != nil {
			return fmt.Errorf("queries: %w", err)
		}
	}
	if err := r.exports(ctx); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := r.finishServer(); err != nil {
		return err
	}
	return r.baselines(ctx)
}

// finishServer reads the peaks of memory, stops a server the bench started
// and measures its data directory.
func (r *run) finishServer() error {
	s := &r.rep.Server
	if err := r.memoryPeaks(); err != nil {
		return fmt.Errorf("server memory: %w", err)
	}
	if r.srv.cmd != nil {
		srv := r.srv
		r.srv = nil
		r.cfg.progress("stopping the server")
		if err := srv.Stop(2 * time.Minute); err != nil {
			return err
		}
		n, err := dirsize.Total(srv.DataDir)
		if err != nil {
			return err
		}
		s.DiskBytesStopped = n
	}
	disk := max(s.DiskBytesStopped, 0)
	if disk == 0 {
		disk = s.DiskBytesAfterIngest
	}
	if disk > 0 && s.StoredEvents > 0 {
		s.BytesPerEvent = float64(disk) / float64(s.StoredEvents)
	}
	return nil
}

// loadAvg is the first three fields of /proc/loadavg, "" where there is none.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// memoryPeaks stops sampling the server's memory and reports its peaks.
func (r *run) memoryPeaks() error {
	if r.mem == nil {
		return nil
	}
	rss, hwm, err := r.mem.close()
	r.mem = nil
	r.rep.Server.MaxRSSBytes, r.rep.Server.HWMBytes = rss, hwm
	return err
}

// runID names this run's organizations apart from earlier runs' on the same server.
func runID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
