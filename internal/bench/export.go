package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/merkle"
)

// exports downloads the big organization's events in full in each format
// of cfg.Exports, then verifies the bundle offline with the code of
// auditlog verify --key.
func (r *run) exports(ctx context.Context) error {
	c := r.reads()
	org := r.orgs[0]
	want := r.rep.Ingest.BigOrgEvents
	bundle := ""
	for _, format := range r.cfg.Exports {
		var w io.Writer = io.Discard
		if format == "bundle" {
			// The bundle holds the events its checkpoint covers: wait for all of them.
			if err := r.awaitCheckpoint(ctx, want); err != nil {
				return err
			}
			bundle = filepath.Join(r.cfg.WorkDir, "bench.bundle")
			f, err := os.Create(bundle)
			if err != nil {
				return err
			}
			defer os.Remove(bundle)
			defer f.Close()
			bw := bufio.NewWriterSize(f, 1<<20)
			defer bw.Flush()
			w = bw
		}
		lc := &lineCounter{w: w}
		r.cfg.progress("export %s of %s", format, org)
		t0 := time.Now()
		n, err := c.Export(ctx, org, format, "", lc)
		if err != nil {
			return err
		}
		if f, ok := w.(*bufio.Writer); ok {
			if err := f.Flush(); err != nil {
				return err
			}
		}
		elapsed := time.Since(t0)
		events := lc.lines
		if format != "ndjson" {
			events-- // the CSV header, the bundle's checkpoint line
		}
		if format == "ndjson" {
			want = max(want, events) // every event of the organization, single events and the server's own included
		}
		res := ExportResult{Format: format, Events: events, Bytes: n, Seconds: elapsed.Seconds(),
			EventsPerSec: float64(events) / elapsed.Seconds(), MBPerSec: float64(n) / 1e6 / elapsed.Seconds()}
		r.rep.Exports = append(r.rep.Exports, res)
		r.cfg.progress("export %s: %d events, %s in %.1fs: %.0f events/s, %.1f MB/s",
			format, events, mb(n), res.Seconds, res.EventsPerSec, res.MBPerSec)
	}
	if !r.cfg.Verify {
		return nil
	}
	return r.verify(ctx, bundle)
}

// verify checks the bundle as auditlog verify --key does, with the server's verifier key.
func (r *run) verify(ctx context.Context, bundle string) error {
	key, err := r.reads().LogKey(ctx)
	if err != nil {
		return err
	}
	v, err := merkle.ParseVerifierKey(key)
	if err != nil {
		return err
	}
	f, err := os.Open(bundle)
	if err != nil {
		return err
	}
	defer f.Close()
	t0 := time.Now()
	rep, err := merkle.VerifyBundleFile(f, v, nil)
	if err != nil {
		return fmt.Errorf("verify the bundle: %w", err)
	}
	elapsed := time.Since(t0)
	res := &VerifyResult{Events: rep.Events, Seconds: elapsed.Seconds(), EventsPerSec: float64(rep.Events) / elapsed.Seconds()}
	r.rep.Verify = res
	r.cfg.progress("verify: %d events in %.1fs: %.0f events/s", res.Events, res.Seconds, res.EventsPerSec)
	return nil
}

// awaitCheckpoint waits until the big organization's signed checkpoint
// covers at least n events.
func (r *run) awaitCheckpoint(ctx context.Context, n int64) error {
	c := r.reads()
	deadline := time.Now().Add(time.Minute)
	for {
		note, err := c.Checkpoint(ctx, r.orgs[0])
		if err != nil {
			return err
		}
		size, err := checkpointSize(note)
		if err != nil {
			return err
		}
		if size >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the checkpoint of %s covers %d events a minute after the ingest, want %d", r.orgs[0], size, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkpointSize reads the tree size, the second line of a checkpoint note.
func checkpointSize(note []byte) (int64, error) {
	lines := strings.SplitN(string(note), "\n", 3)
	if len(lines) < 3 {
		return 0, fmt.Errorf("not a checkpoint: %.200q", note)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a checkpoint's size: %q", lines[1])
	}
	return n, nil
}

// lineCounter counts the lines written through it.
type lineCounter struct {
	w     io.Writer
	lines int64
}

func (l *lineCounter) Write(p []byte) (int, error) {
	l.lines += int64(bytes.Count(p, []byte{'\n'}))
	return l.w.Write(p)
}
