package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/auditlog/auditlog/internal/bench"
)

const benchUsage = `Usage:
  auditlog bench [flags]                      start a server and load it
  auditlog bench --url URL --token T [flags]  load a running server

Drives a real auditlog server over HTTP from this separate process and
measures it, in order:

  ingest   --clients clients each send JSON batches of --batch events, the
           next when the last is acknowledged, --events in all (or for
           --duration), over --orgs organizations of which the first (the
           big one) gets --big-share of the events; throughput is reported
           every --interval, with the server's memory and disk
  single   one-event requests at --single-rate per second for
           --single-duration, on a fixed schedule (open loop); latency runs
           from each request's scheduled send time (no coordinated omission)
  queries  the big organization's newest 100 events --queries times, and two
           searches (a rare word, an action) a tenth as many times; each kind
           for at most --query-time
  exports  the big organization's events in full, in each of --exports
  verify   the downloaded bundle, offline, with the code of auditlog verify --key
  baselines  the same events again, in batches of --batch, into a plain SQLite
           table with one index (org, ts), WAL, synchronous=FULL (--sqlite),
           and with COPY into a plain PostgreSQL table (--postgres DSN, in a
           schema it creates and drops); reported with auditlog's ratio

By default it starts "auditlog serve" (this binary) as a child process on
127.0.0.1 with a temporary data directory, its own admin token and no rate
limits, so that it can sample the server's memory (VmRSS, VmHWM from
/proc/PID/status) and measure its data directory (bytes per event). With
--url it loads that server with the admin --token (or --token-file), and
measures memory only with --pid and disk only with --data. It creates
organizations gh/bench-<run>-NNNN (Business plan) and a reader there; against
a server with rate limits, reads may be refused (429).

Prints a summary; --json FILE writes every figure. Turn a scenario off with
--single-rate 0, --queries 0, --exports "", --verify=false, --sqlite=false.

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", "", "load the server at this base URL instead of starting one")
	fs.StringVar(&cfg.Token, "token", os.Getenv("AUDITLOG_ADMIN_TOKEN"), "with --url: the server's admin token (AUDITLOG_ADMIN_TOKEN)")
	tokenFile := fs.String("token-file", "", "with --url: read the admin token from this file (such as <data>/admin-token)")
	fs.IntVar(&cfg.PID, "pid", 0, "with --url: the server's process id, to sample its memory")
	fs.StringVar(&cfg.DataDir, "data", "", "the server's data directory: where to start it (default: a temporary one), or, with --url, which to measure")
	fs.StringVar(&cfg.WorkDir, "work", "", "directory for the server's data, the bundle and the SQLite baseline (default: a temporary one, removed)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary work directory (its path is printed)")
	fs.Func("serve-arg", "a flag for the started server, such as --serve-arg=--max-inflight-ingest-bytes=4MiB (repeatable)", func(s string) error {
		cfg.ServeArgs = append(cfg.ServeArgs, s)
		return nil
	})
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent ingest clients")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "events per ingest request")
	fs.IntVar(&cfg.Orgs, "orgs", cfg.Orgs, "organizations the events are spread over")
	fs.Float64Var(&cfg.BigShare, "big-share", cfg.BigShare, "share of the events that go to the first organization, which queries and exports read (0 to 1)")
	fs.Int64Var(&cfg.Events, "events", cfg.Events, "events to ingest")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop the ingest after this long, even short of --events (0: no limit)")
	fs.DurationVar(&cfg.Interval, "interval", cfg.Interval, "ingest reporting interval")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the generated events")
	fs.Float64Var(&cfg.SingleRate, "single-rate", cfg.SingleRate, "one-event requests per second (0: off)")
	fs.DurationVar(&cfg.SingleDuration, "single-duration", cfg.SingleDuration, "how long to send one-event requests")
	fs.IntVar(&cfg.Queries, "queries", cfg.Queries, "newest-100 queries; each search a tenth as many, at least 20 (0: off)")
	fs.DurationVar(&cfg.QueryTime, "query-time", cfg.QueryTime, "stop each kind of query after this long, once it has 5 answers (0: no limit)")
	exports := fs.String("exports", strings.Join(cfg.Exports, ","), "export formats to download, comma-separated: ndjson, csv, bundle (\"\": none)")
	fs.BoolVar(&cfg.Verify, "verify", cfg.Verify, "verify the bundle export offline (needs bundle in --exports)")
	fs.BoolVar(&cfg.SQLite, "sqlite", cfg.SQLite, "run the SQLite baseline")
	fs.StringVar(&cfg.Postgres, "postgres", "", "run the PostgreSQL COPY baseline on this database (URL or key=value DSN)")
	jsonOut := fs.String("json", "", "write the report as JSON to this file")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench takes no arguments, got %q", fs.Args())
	}
	cfg.Exports = nil
	for _, f := range strings.Split(*exports, ",") {
		if f = strings.TrimSpace(f); f != "" {
			cfg.Exports = append(cfg.Exports, f)
		}
	}
	verifySet := false
	fs.Visit(func(f *flag.Flag) { verifySet = verifySet || f.Name == "verify" })
	if !verifySet && !strings.Contains(*exports, "bundle") {
		cfg.Verify = false // nothing to verify
	}
	if cfg.URL != "" && cfg.Token == "" && *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("read the admin token: %w", err)
		}
		cfg.Token = strings.TrimSpace(string(b))
	}
	if cfg.URL == "" {
		bin, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary to start the server: %w", err)
		}
		cfg.Binary = bin
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	if cfg.Keep && cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "auditlog-bench-")
		if err != nil {
			return err
		}
		cfg.WorkDir = dir
		fmt.Fprintf(stderr, "bench: work directory %s (kept)\n", dir)
	}
	if err := cfg.Validate(); err != nil {
		fs.Usage()
		return err
	}
	rep, err := bench.Run(ctx, cfg)
	if rep != nil && *jsonOut != "" {
		data, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
		}
		err = errors.Join(err, jerr)
	}
	if err != nil {
		return err
	}
	return rep.WriteSummary(stdout)
}
