package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

const exportUsage = `Usage: auditlog export --org PROVIDER/NAME [--format csv|ndjson|bundle] [--q QUERY] [-o FILE]

Downloads an organization's events: csv or ndjson (newest first), or the
evidence bundle (every event with its inclusion proof against the latest
signed checkpoint; check it with "auditlog verify --key KEY FILE"). --q
filters with the search language (a filtered bundle is not complete).

The download goes to FILE (mode 0600, written whole or not at all: it
appears only when the download completed) or, with -o - (the default), to
standard output. On a terminal, a progress line counts bytes and events.
Needs an account API token of an organization admin or manager.
`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, e, cf := newClientFlagSet("export", exportUsage, stderr, true)
	format := fs.String("format", "ndjson", "csv, ndjson or bundle")
	q := fs.String("q", "", "search query (the search language)")
	out := fs.String("o", "-", "file to write, - for standard output")
	pos, err := parseArgs(fs, e, args)
	if err != nil {
		return err
	}
	ref, pos, err := cf.orgRef(pos)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("export takes no arguments, got %q", pos)
	}
	switch *format {
	case "csv", "ndjson", "bundle":
	default:
		return fmt.Errorf("--format %q: must be csv, ndjson or bundle", *format)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}

	var (
		dst  io.Writer = stdout
		tmp  *os.File
		done bool
	)
	if *out != "-" {
		dir, base := filepath.Split(*out)
		if dir == "" {
			dir = "."
		}
		if tmp, err = os.CreateTemp(dir, "."+base+".*.partial"); err != nil {
			return err
		}
		defer func() {
			if !done {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		dst = tmp
	}
	pw := &progressWriter{w: dst, csv: *format == "csv"}
	stop := pw.show(stderr, *format)
	n, err := c.Export(ctx, ref, *format, *q, pw)
	stop()
	if err != nil {
		return describe(err)
	}
	events := pw.events(*format)
	where := "standard output"
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return err
		}
		done = true
		where = *out
	}
	fmt.Fprintf(stderr, "exported %s events of %s (%s) to %s\n", formatCount(events), ref, formatBytes(n), where)
	return nil
}

// progressWriter counts what passes through it: bytes, and lines, which
// are events (CSV records, whose quoted fields may hold line breaks, are
// counted outside quotes).
type progressWriter struct {
	w       io.Writer
	csv     bool
	inQuote bool
	bytes   atomic.Int64
	lines   atomic.Int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.bytes.Add(int64(n))
	if !p.csv {
		p.lines.Add(int64(bytes.Count(b[:n], []byte{'\n'})))
		return n, err
	}
	var lines int64
	for _, c := range b[:n] {
		switch {
		case c == '"':
			p.inQuote = !p.inQuote
		case c == '\n' && !p.inQuote:
			lines++
		}
	}
	p.lines.Add(lines)
	return n, err
}

// events is how many events went through: lines but the header's.
func (p *progressWriter) events(format string) int64 {
	n := p.lines.Load()
	if format != "ndjson" && n > 0 {
		n-- // the CSV header row, the bundle's checkpoint line
	}
	return n
}

// show prints a progress line on stderr, if it is a terminal, until stop is called.
func (p *progressWriter) show(stderr io.Writer, format string) (stop func()) {
	if !isTerminal(stderr) {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				fmt.Fprint(stderr, "\r\033[K") // clear the line for the summary
				return
			case <-t.C:
				fmt.Fprintf(stderr, "\rexporting: %s events, %s\033[K", formatCount(p.events(format)), formatBytes(p.bytes.Load()))
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			wg.Wait()
		})
	}
}

// formatBytes writes a size in B, kB, MB or GB (powers of 1000).
func formatBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
