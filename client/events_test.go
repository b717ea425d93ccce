package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/query"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// mustSeed stores n events of ref, one a minute from t0, every third a
// gate policy update, and returns a reader's token.
func mustSeed(tb testing.TB, s *Server, ref auditlog.OrgRef, n int) string {
	tb.Helper()
	s.MustCreateOrg(ref, auditlog.PlanBusiness)
	tok := s.MustReader(ref, "ana@acme.example")
	var events []auditlog.Event
	for i := range n {
		e := login(ref, fmt.Sprint("e", i))
		e.Timestamp = t0.Add(time.Duration(i) * time.Minute)
		if i%3 == 0 {
			e.Action = "organizations.gatepolicies.update"
			e.Details = json.RawMessage(fmt.Sprintf(`{"policy":"p%d"}`, i))
		}
		events = append(events, e)
	}
	if _, err := s.DB.AppendEvents(context.Background(), events); err != nil {
		tb.Fatal(err)
	}
	return tok
}

func ids(events []*auditlog.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

func collect(tb testing.TB, seq func(func(*auditlog.Event, error) bool)) []*auditlog.Event {
	tb.Helper()
	var out []*auditlog.Event
	for e, err := range seq {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestEventsPaging: the iterator reads page after page with the cursor,
// newest first, each event once, and stops reading when the caller stops.
func TestEventsPaging(t *testing.T) {
	s := MustRunServer(t)
	tok := mustSeed(t, s, acme, 35)
	cnt := &counter{}
	c := client.New(s.URL, client.WithToken(tok), client.WithPageSize(10), client.WithHTTPClient(&http.Client{Transport: cnt}))
	const list = "GET /api/v1/organizations/gh/acme/events"

	got := collect(t, c.Events(t.Context(), acme, ""))
	want := s.MustStored(acme)
	slices.Reverse(want) // newest first
	if g, w := ids(got), ids(want); !slices.Equal(g, w) {
		t.Fatalf("events %v, want %v", g, w)
	}
	if n := cnt.Count(list); n != 4 {
		t.Errorf("%d page requests for 35 events by 10, want 4", n)
	}

	got = collect(t, c.Events(t.Context(), acme, "action:organizations.gatepolicies.update"))
	if len(got) != 12 || got[0].ID != "e33" || got[11].ID != "e0" || string(got[0].Details) != `{"policy":"p33"}` {
		t.Errorf("filtered: %v", ids(got))
	}

	before := cnt.Count(list)
	n := 0
	for _, err := range c.Events(t.Context(), acme, "") {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 12 {
			break
		}
	}
	if got := cnt.Count(list) - before; got != 2 {
		t.Errorf("stopping after 12 events read %d pages, want 2", got)
	}

	page, err := c.ListEvents(t.Context(), acme, client.ListOptions{Limit: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 30 || page.Cursor == "" || page.Limit != 30 {
		t.Fatalf("page of 30: %d events, cursor %q, limit %d", len(page.Events), page.Cursor, page.Limit)
	}
	page, err = c.ListEvents(t.Context(), acme, client.ListOptions{Limit: 30, Cursor: page.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 5 || page.Cursor != "" {
		t.Errorf("last page: %d events, cursor %q", len(page.Events), page.Cursor)
	}
}

// TestFindEventsLikeTheStore: the client's FindEvents, over HTTP, selects
// what the store's FindEvents selects for the same filter.
func TestFindEventsLikeTheStore(t *testing.T) {
	s := MustRunServer(t)
	tok := mustSeed(t, s, acme, 40)
	var c auditlog.EventService = client.New(s.URL, client.WithToken(tok), client.WithPageSize(7))
	mustQuery := func(q string) *auditlog.Query {
		parsed, err := query.Parse(q, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return parsed
	}
	for _, f := range []auditlog.EventFilter{
		{},
		{Limit: 12},
		{Limit: 7},
		{From: t0.Add(5 * time.Minute), To: t0.Add(17 * time.Minute)},
		{From: t0.Add(5*time.Minute + 500*time.Microsecond)}, // rounds up: e5 is before it
		{To: t0.Add(3 * time.Minute)},
		{Query: mustQuery("action:organizations.gatepolicies.*"), To: t0.Add(30 * time.Minute), Limit: 5},
		{Query: mustQuery("-action:user.login p3*")},
	} {
		got := collect(t, c.FindEvents(t.Context(), acme, f))
		want := collect(t, s.DB.FindEvents(t.Context(), acme, f))
		if g, w := ids(got), ids(want); !slices.Equal(g, w) || len(w) == 0 {
			t.Errorf("filter %+v: got %v, want %v", f, g, w)
		}
	}
	for _, err := range c.FindEvents(t.Context(), acme, auditlog.EventFilter{After: &auditlog.Position{Timestamp: t0}}) {
		wantCode(t, err, auditlog.EINVALID)
	}
}

// TestExport: each format streams to the writer; the bundle verifies
// offline against the server's key; q filters.
func TestExport(t *testing.T) {
	s := MustRunServer(t)
	tok := mustSeed(t, s, acme, 25)
	c := client.New(s.URL, client.WithToken(tok))
	ctx := t.Context()

	var nd bytes.Buffer
	n, err := c.Export(ctx, acme, "ndjson", "", &nd)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(nd.Len()) {
		t.Errorf("Export reports %d bytes, wrote %d", n, nd.Len())
	}
	// 25 events, and the server's own record of this export, newest.
	lines := strings.Split(strings.TrimSuffix(nd.String(), "\n"), "\n")
	if len(lines) != 26 {
		t.Fatalf("ndjson: %d lines", len(lines))
	}
	var export, newest auditlog.Event
	if err := json.Unmarshal([]byte(lines[0]), &export); err != nil || export.Action != "organizations.auditlogs.export" {
		t.Errorf("first line %s (%v)", lines[0], err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &newest); err != nil || newest.ID != "e24" {
		t.Errorf("second line %s (%v)", lines[1], err)
	}

	var cv bytes.Buffer
	if _, err := c.Export(ctx, acme, "csv", "action:organizations.gatepolicies.update", &cv); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cv).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+9 || rows[0][0] != "sequence" || rows[1][1] != "e24" {
		t.Errorf("csv: %d rows, first %v", len(rows), rows[:2])
	}

	vkey, err := c.LogKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := merkle.ParseVerifierKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a checkpoint of every event", func() bool {
		cp, err := c.Checkpoint(ctx, acme)
		return err == nil && strings.Split(string(cp), "\n")[1] == fmt.Sprint(len(s.MustStored(acme)))
	})
	var bundle bytes.Buffer
	if _, err := c.Export(ctx, acme, "bundle", "", &bundle); err != nil {
		t.Fatal(err)
	}
	rep, err := merkle.VerifyBundle(bufio.NewReader(&bundle), verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events < 27 || rep.Events != rep.TreeSize || !rep.Complete {
		t.Errorf("bundle: %+v", rep)
	}

	_, err = c.Export(ctx, acme, "xml", "", &bytes.Buffer{})
	wantCode(t, err, auditlog.EINVALID)
	wantMessage(t, err, "format must be csv, ndjson or bundle")
}

// TestExportCutShort: a download that ends before the server finished it is
// an error, never a short success.
func TestExportCutShort(t *testing.T) {
	s := MustRunServer(t)
	tok := mustSeed(t, s, acme, 200)
	p := MustRunProxy(t, s.URL)
	p.FailNext("/api/v1/organizations/gh/acme/events/export", "cut", 0, "", 1)
	c := client.New(p.URL, client.WithToken(tok))
	var out bytes.Buffer
	n, err := c.Export(t.Context(), acme, "ndjson", "", &out)
	if err == nil {
		t.Fatalf("a cut download succeeded with %d bytes", n)
	}
	if n == 0 || n != int64(out.Len()) {
		t.Errorf("reported %d bytes, wrote %d", n, out.Len())
	}
	if !strings.Contains(err.Error(), "cut short") {
		t.Errorf("error %v", err)
	}
}
