package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
	"golang.org/x/mod/sumdb/note"
)

const verifyUsage = `Usage:
  auditlog verify --key KEY BUNDLE     check an evidence bundle offline
  auditlog verify --data DIR [--key KEY]   audit a whole embedded store
  auditlog verify --postgres DSN --key KEY   audit a whole PostgreSQL store

KEY is the verifier key (GET /api/v1/log-key, or what "auditlog keygen"
printed), or a file holding it. With --data and no --key, the key is derived
from DIR/log-key. Verify an embedded store while its server is stopped, or a
copy of it; a PostgreSQL store may be verified while its servers run (events
appended meanwhile may be reported as not yet covered by a checkpoint).

Exits 0 and prints what it verified, or exits 1 naming the first failure.

Flags:
`

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, verifyUsage)
		fs.PrintDefaults()
	}
	keyArg := fs.String("key", "", "verifier key, or a file holding it (AUDITLOG_VERIFIER_KEY)")
	data := fs.String("data", "", "embedded store directory to audit")
	pg := fs.String("postgres", os.Getenv("AUDITLOG_POSTGRES_DSN"), "PostgreSQL store to audit (AUDITLOG_POSTGRES_DSN)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if v, ok := os.LookupEnv("AUDITLOG_VERIFIER_KEY"); ok {
		*keyArg = v
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	progress := func(what string) func(int64) {
		if *quiet {
			return nil
		}
		start := time.Now()
		return func(n int64) {
			fmt.Fprintf(stderr, "verify: %d %s so far (%.0f/s)\n", n, what, float64(n)/time.Since(start).Seconds())
		}
	}
	switch {
	case *pg != "" && *data == "" && fs.NArg() == 0:
		if *keyArg == "" {
			return errors.New("verify --postgres needs --key: the verifier key of the servers' signing key")
		}
		v, err := readVerifier(*keyArg)
		if err != nil {
			return err
		}
		return verifyPostgres(ctx, *pg, v, progress("events"), stdout)
	case *data != "" && fs.NArg() == 0:
		v, err := storeVerifier(*keyArg, *data)
		if err != nil {
			return err
		}
		db := pebble.NewDB(filepath.Join(*data, "db"))
		db.ReadOnly = true
		if err := db.Open(); err != nil {
			return fmt.Errorf("open store: %w", err)
		}
		defer db.Close()
		rep, err := db.Verify(ctx, v, progress("events"))
		if err != nil {
			return fmt.Errorf("verification FAILED: %w", err)
		}
		fmt.Fprintf(stdout, "OK: verified %d organizations, %d events, %d signed checkpoints\n", rep.Organizations, rep.Events, rep.Checkpoints)
		return nil
	case *data == "" && fs.NArg() == 1:
		if *keyArg == "" {
			return errors.New("verify needs --key: the verifier key of the server that signed the bundle")
		}
		v, err := readVerifier(*keyArg)
		if err != nil {
			return err
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		rep, err := merkle.VerifyBundleFile(f, v, progress("events"))
		if err != nil {
			return fmt.Errorf("verification FAILED: %s: %w", fs.Arg(0), err)
		}
		kind := "a partial (filtered) bundle"
		if rep.Complete {
			kind = "a complete bundle"
		}
		fmt.Fprintf(stdout, "OK: verified %d events of %s against its signed checkpoint of %d events (%s)\n", rep.Events, rep.Origin, rep.TreeSize, kind)
		return nil
	}
	fs.Usage()
	return errors.New("verify needs either --key KEY BUNDLE, --data DIR or --postgres DSN --key KEY")
}

// readVerifier reads a verifier key given as text or as a file holding it.
func readVerifier(arg string) (note.Verifier, error) {
	text := arg
	if b, err := os.ReadFile(arg); err == nil {
		text = string(b)
	} else if !strings.Contains(arg, "+") {
		return nil, fmt.Errorf("read verifier key: %w", err)
	}
	return merkle.ParseVerifierKey(text)
}

// storeVerifier is the verifier for a store: --key if given, else the one of DIR/log-key.
func storeVerifier(arg, dir string) (note.Verifier, error) {
	if arg != "" {
		return readVerifier(arg)
	}
	k, err := merkle.LoadKey(filepath.Join(dir, "log-key"))
	if err != nil {
		return nil, fmt.Errorf("%w (or give --key)", err)
	}
	return k.Verifier, nil
}
