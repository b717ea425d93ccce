package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
)

const eventsUsage = `Usage: auditlog events --org PROVIDER/NAME [--q QUERY] [--limit N] [--json]

Lists an organization's events, newest first: a table, or with --json one
v1 event (JSON) per line. --q filters with the search language, such as
  --q 'action:organizations.gatepolicies.* actor:ana@acme.example created:>=2026-01-01'
Needs an account API token of an organization admin or manager.
`

func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, e, cf := newClientFlagSet("events", eventsUsage, stderr, true)
	q := fs.String("q", "", "search query (the search language)")
	limit := fs.Int("limit", 100, "show at most this many events; 0 shows all")
	asJSON := fs.Bool("json", false, "one JSON event per line instead of a table")
	pos, err := parseArgs(fs, e, args)
	if err != nil {
		return err
	}
	ref, pos, err := cf.orgRef(pos)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("events takes no arguments, got %q", pos)
	}
	if *limit < 0 {
		return fmt.Errorf("--limit must be 0 (all) or more, got %d", *limit)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	out := newEventWriter(stdout, *asJSON)
	n, more, err := listEvents(ctx, c, ref, *q, *limit, out.write)
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return describe(err)
	}
	switch {
	case more:
		fmt.Fprintf(stderr, "%d events shown; there are more: raise --limit (0 shows all)\n", n)
	case n == 0:
		fmt.Fprintln(stderr, "no events")
	}
	return nil
}

// listEvents reads up to limit (0: all) events a page at a time and hands
// each to emit; more reports whether the limit left some unread.
func listEvents(ctx context.Context, c *client.Client, ref auditlog.OrgRef, q string, limit int, emit func(*auditlog.Event) error) (n int, more bool, err error) {
	cursor := ""
	for {
		size := client.MaxPageSize
		if limit > 0 {
			size = min(size, limit-n)
		}
		page, err := c.ListEvents(ctx, ref, client.ListOptions{Query: q, Limit: size, Cursor: cursor})
		if err != nil {
			return n, false, err
		}
		for _, e := range page.Events {
			if err := emit(e); err != nil {
				return n, false, err
			}
			n++
		}
		if page.Cursor == "" || len(page.Events) == 0 {
			return n, false, nil
		}
		if limit > 0 && n >= limit {
			return n, true, nil
		}
		cursor = page.Cursor
	}
}

// eventWriter writes events as a table, flushed every page's worth of rows
// so that memory does not grow with the listing, or as NDJSON.
type eventWriter struct {
	json bool
	bw   *bufio.Writer
	tw   *tabwriter.Writer
	rows int
	buf  []byte
}

func newEventWriter(w io.Writer, asJSON bool) *eventWriter {
	ew := &eventWriter{json: asJSON, bw: bufio.NewWriter(w)}
	if !asJSON {
		ew.tw = tabwriter.NewWriter(ew.bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(ew.tw, "TIMESTAMP\tSEQ\tACTION\tACTOR\tRESULT\tSOURCE\tREPOSITORY\tENTITY")
	}
	return ew
}

func (ew *eventWriter) write(e *auditlog.Event) error {
	if ew.json {
		ew.buf = append(e.AppendJSON(ew.buf[:0]), '\n')
		_, err := ew.bw.Write(ew.buf)
		return err
	}
	_, err := fmt.Fprintf(ew.tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
		auditlog.FormatTime(e.Timestamp), e.Sequence, cell(e.Action, 60), cell(e.Actor.Email, 40),
		cell(e.Result, 10), cell(e.Source, 4), cell(e.RepositoryName, 32), cell(e.EntityID, 32))
	if ew.rows++; ew.rows%client.MaxPageSize == 0 {
		_ = ew.tw.Flush()
	}
	return err
}

func (ew *eventWriter) flush() error {
	if ew.tw != nil {
		if err := ew.tw.Flush(); err != nil {
			return err
		}
	}
	return ew.bw.Flush()
}

// formatCount writes n with thousands separators: 1234567 is 1,234,567.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
