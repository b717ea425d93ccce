package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
	"github.com/auditlog/auditlog/internal/natstest"
	"github.com/auditlog/auditlog/pebble"
)

// fastStreams makes failed stream deliveries retry within milliseconds.
func fastStreams(c *Config) {
	c.StreamRetryBase = 20 * time.Millisecond
	c.StreamRetryMax = 200 * time.Millisecond
}

// hookReceiver is a webhook receiver on 127.0.0.1 that fails with 500 while
// down is set, and otherwise checks each delivery's signature and keeps its events.
type hookReceiver struct {
	tb     testing.TB
	secret string
	srv    *httptest.Server
	down   atomic.Bool
	delay  time.Duration // before each answer

	mu       sync.Mutex
	events   []auditlog.Event
	attempts int
	failed   int
}

func mustHookReceiver(tb testing.TB, secret string) *hookReceiver {
	h := &hookReceiver{tb: tb, secret: secret}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	tb.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the sender gave up in mid-request (a restart): it will send again
	}
	time.Sleep(h.delay)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if h.down.Load() {
		h.failed++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if err := client.VerifyWebhook(h.secret, r.Header.Get(client.WebhookSignatureHeader), body, time.Minute); err != nil {
		h.tb.Errorf("delivery %s: %v", r.Header.Get(client.WebhookDeliveryHeader), err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var d struct{ Events []auditlog.Event }
	if err := json.Unmarshal(body, &d); err != nil || len(d.Events) == 0 || len(d.Events) > 100 {
		h.tb.Errorf("delivery body %.200s: %v", body, err)
	}
	h.events = append(h.events, d.Events...)
	w.WriteHeader(http.StatusAccepted)
}

// distinct returns how many different events were received.
func (h *hookReceiver) distinct() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[int64]bool{}
	for _, e := range h.events {
		seen[e.Sequence] = true
	}
	return len(seen)
}

// sequences returns the sequences received, in order of receipt.
func (h *hookReceiver) sequences() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int64
	for _, e := range h.events {
		out = append(out, e.Sequence)
	}
	return out
}

// distinctInOrder checks that got holds every one of want, and that the
// first receipt of each comes in want's order (at least once, in order).
func distinctInOrder(tb testing.TB, got, want []int64) {
	tb.Helper()
	var firsts []int64
	seen := map[int64]bool{}
	for _, s := range got {
		if !seen[s] {
			seen[s] = true
			firsts = append(firsts, s)
		}
	}
	if !slices.Equal(firsts, want) {
		tb.Fatalf("received (first receipts) %v,\nwant %v", firsts, want)
	}
}

func waitUntil(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *TestService) mustCreateStream(tok string, body map[string]any) auditlog.Stream {
	s.tb.Helper()
	var st auditlog.Stream
	mustUnmarshal(s.tb, s.MustDo(http.StatusCreated, "POST", "/api/v1/organizations/gh/acme/streams", body, apiTok(tok)...), &st)
	return st
}

func (s *TestService) mustGetStream(tok, id string) auditlog.Stream {
	s.tb.Helper()
	var st auditlog.Stream
	mustUnmarshal(s.tb, s.MustDo(http.StatusOK, "GET", "/api/v1/organizations/gh/acme/streams/"+id, nil, apiTok(tok)...), &st)
	return st
}

// ingestSeqs ingests n user.login events (and, if repo, n repository events
// between them) and returns the sequences of the user.login ones.
func (s *TestService) ingestLogins(n int, repo bool) []int64 {
	s.tb.Helper()
	var batch []map[string]any
	for range n {
		batch = append(batch, event())
		if repo {
			batch = append(batch, event("action", "repositories.tools.update", "repositoryName", "api"))
		}
	}
	res := s.MustIngest(batch...)
	var out []int64
	for i, e := range res.Events {
		if !repo || i%2 == 0 {
			out = append(out, e.Sequence)
		}
	}
	return out
}

// A webhook receiver that fails for a while and then recovers gets every
// matching event, in order, with valid signatures; the stream reports
// failing with the error meanwhile, and active after.
func TestStreams_WebhookOutage(t *testing.T) {
	s := MustRunService(t, fastStreams)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	s.ingestLogins(3, false) // before the stream: not delivered

	h := mustHookReceiver(t, "whsec_0123456789")
	st := s.mustCreateStream(tok, map[string]any{"type": "webhook", "url": h.srv.URL + "/hook", "secret": "whsec_0123456789", "q": "action:user.login"})
	if st.State != "active" || st.LastDeliveredSequence != -1 || st.Cursor != 3 || st.Query != "action:user.login" {
		t.Errorf("created %+v", st)
	}
	var want []int64
	want = append(want, s.ingestLogins(50, true)...)
	waitUntil(t, 10*time.Second, "the first 50 events", func() bool { return len(h.sequences()) >= 50 })

	h.down.Store(true)
	want = append(want, s.ingestLogins(20, true)...)
	waitUntil(t, 10*time.Second, "the stream failing", func() bool { return s.mustGetStream(tok, st.ID).State == "failing" })
	failing := s.mustGetStream(tok, st.ID)
	if !strings.Contains(failing.LastError, "500") || failing.FailingSince == nil || failing.LastSuccessAt == nil {
		t.Errorf("failing status %+v", failing.StreamStatus)
	}
	want = append(want, s.ingestLogins(20, true)...)
	time.Sleep(300 * time.Millisecond) // a few retries
	h.down.Store(false)
	want = append(want, s.ingestLogins(10, true)...)

	waitUntil(t, 10*time.Second, "every event", func() bool { return h.distinct() >= len(want) })
	distinctInOrder(t, h.sequences(), want)
	h.mu.Lock()
	failed := h.failed
	h.mu.Unlock()
	if failed < 2 {
		t.Errorf("%d failed deliveries during the outage: no retries", failed)
	}
	waitUntil(t, 5*time.Second, "the stream active", func() bool { return s.mustGetStream(tok, st.ID).State == "active" })
	got := s.mustGetStream(tok, st.ID)
	if got.LastDeliveredSequence != want[len(want)-1] || got.LastSuccessAt == nil || got.FailingSince != nil {
		t.Errorf("recovered status %+v, want lastDeliveredSequence %d", got.StreamStatus, want[len(want)-1])
	}
}

// A server restart in the middle of a delivery loses nothing: the cursor is
// durable, and delivery resumes after the start.
func TestStreams_RestartMidDelivery(t *testing.T) {
	s := MustRunService(t, fastStreams)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	h := mustHookReceiver(t, "whsec_restart")
	h.delay = 20 * time.Millisecond // about 5,000 events a second at 100 a POST
	st := s.mustCreateStream(tok, map[string]any{"type": "webhook", "url": h.srv.URL, "secret": "whsec_restart", "q": "action:user.login"})
	var want []int64
	for range 5 {
		want = append(want, s.ingestLogins(400, false)...)
	}
	waitUntil(t, 10*time.Second, "some events", func() bool { return len(h.sequences()) >= 300 })
	if n := len(h.sequences()); n >= len(want) {
		t.Fatalf("all %d events were delivered before the restart", n)
	}
	s = s.Restart()
	want = append(want, s.ingestLogins(100, false)...)
	waitUntil(t, 20*time.Second, "every event", func() bool { return h.distinct() >= len(want) })
	distinctInOrder(t, h.sequences(), want)
	waitUntil(t, 5*time.Second, "the cursor", func() bool { return s.mustGetStream(tok, st.ID).LastDeliveredSequence == want[len(want)-1] })
}

// A NATS JetStream stream receives every event, once: Nats-Msg-Id is the
// event's id, so a redelivery is dropped.
func TestStreams_NATS(t *testing.T) {
	js := natstest.MustStream(t, 2*time.Minute)
	s := MustRunService(t, fastStreams)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	st := s.mustCreateStream(tok, map[string]any{"type": "nats", "url": js.URL, "subject": js.Subject, "q": "-action:organizations.auditlogs.*"})
	var want []int64
	for range 4 {
		want = append(want, s.ingestLogins(250, false)...)
	}
	waitUntil(t, 20*time.Second, "the cursor past every event", func() bool { return s.mustGetStream(tok, st.ID).LastDeliveredSequence == want[len(want)-1] })
	// Redeliver from the start, as after a crash that lost the cursor's
	// advances: rewind it while the server is down.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := pebble.NewDB(filepath.Join(s.Config.DataDir, "db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStreamStatus(t.Context(), auditlog.OrgRef{Provider: "gh", Name: "acme"}, st.ID, 0, auditlog.StreamStatus{State: "active", Cursor: want[0], LastDeliveredSequence: -1}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustStart(t, s.Config)
	want = append(want, s.ingestLogins(10, false)...)
	waitUntil(t, 20*time.Second, "the cursor past the new events", func() bool { return s.mustGetStream(tok, st.ID).LastDeliveredSequence == want[len(want)-1] })
	metrics := string(s.MustDo(http.StatusOK, "GET", "/metrics", nil))
	if !strings.Contains(metrics, `auditlog_stream_events_delivered_total{type="nats"} 1010`) {
		t.Errorf("the restarted server did not publish the 1,010 events again:\n%s", grepLines(metrics, "auditlog_stream_"))
	}
	msgs := js.Messages(t)
	var got []int64
	for _, m := range msgs {
		var e auditlog.Event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			t.Fatal(err)
		}
		if m.Headers().Get("Nats-Msg-Id") != e.ID || e.ID == "" {
			t.Fatalf("message of event %d has Nats-Msg-Id %q, event id %q", e.Sequence, m.Headers().Get("Nats-Msg-Id"), e.ID)
		}
		got = append(got, e.Sequence)
	}
	if !slices.Equal(got, want) {
		t.Errorf("JetStream holds %d events %v..., want exactly %d, once each, in order", len(got), got[:min(5, len(got))], len(want))
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The stream routes: who may use them, what they validate, that secrets
// never come back, and that creating and deleting a stream is audited.
func TestStreams_API(t *testing.T) {
	s := MustRunService(t, fastStreams)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gh", "free", "free")
	adminTok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	manager := s.MustMemberToken("gh", "acme", "max@acme.example", "repositoryRead", true)
	member := s.MustMemberToken("gh", "acme", "bob@acme.example", "organizationMember", false)
	s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/gh/free/members/ana@acme.example", map[string]any{"role": "organizationAdmin"}, admin()...)
	const base = "/api/v1/organizations/gh/acme/streams"
	hook := map[string]any{"type": "webhook", "url": "https://u:pa55word@127.0.0.1:9/in?token=t0k3n&x=1", "secret": "whsec_never_shown"}

	for _, tc := range []struct {
		name   string
		path   string
		body   any
		hdr    []string
		status int
	}{
		{"no credential", base, hook, nil, 401},
		{"admin token", base, hook, admin(), 403},
		{"member", base, hook, apiTok(member), 403},
		{"free plan", "/api/v1/organizations/gh/free/streams", hook, apiTok(adminTok), 403},
		{"unknown org", "/api/v1/organizations/gh/nope/streams", hook, apiTok(adminTok), 404},
		{"no type", base, map[string]any{"url": "https://x.example"}, apiTok(adminTok), 422},
		{"bad type", base, map[string]any{"type": "kafka", "url": "https://x.example"}, apiTok(adminTok), 422},
		{"ftp url", base, map[string]any{"type": "webhook", "url": "ftp://x.example", "secret": "s"}, apiTok(adminTok), 422},
		{"relative url", base, map[string]any{"type": "webhook", "url": "/hook", "secret": "s"}, apiTok(adminTok), 422},
		{"no secret", base, map[string]any{"type": "webhook", "url": "https://x.example"}, apiTok(adminTok), 422},
		{"webhook subject", base, map[string]any{"type": "webhook", "url": "https://x.example", "secret": "s", "subject": "a"}, apiTok(adminTok), 422},
		{"nats http url", base, map[string]any{"type": "nats", "url": "http://x.example", "subject": "a"}, apiTok(adminTok), 422},
		{"nats no subject", base, map[string]any{"type": "nats", "url": "nats://x.example:4222"}, apiTok(adminTok), 422},
		{"nats wildcard", base, map[string]any{"type": "nats", "url": "nats://x.example:4222", "subject": "audit.>"}, apiTok(adminTok), 422},
		{"nats secret", base, map[string]any{"type": "nats", "url": "nats://x.example:4222", "subject": "a", "secret": "s"}, apiTok(adminTok), 422},
		{"bad q", base, map[string]any{"type": "webhook", "url": "https://x.example", "secret": "s", "q": "result:maybe"}, apiTok(adminTok), 400},
		{"unknown field", base, map[string]any{"type": "webhook", "url": "https://x.example", "secret": "s", "colour": "red"}, apiTok(adminTok), 400},
		{"list as member", base, nil, apiTok(member), 403},
		{"get unknown", base + "/0123456789abcdef", nil, apiTok(adminTok), 404},
		{"delete unknown", base + "/0123456789abcdef", nil, apiTok(adminTok), 404},
	} {
		method := "POST"
		if tc.body == nil {
			method = "GET"
			if strings.HasPrefix(tc.name, "delete") {
				method = "DELETE"
			}
		}
		status, body, _ := s.Do(method, tc.path, tc.body, tc.hdr...)
		var e map[string]any
		if status != tc.status || json.Unmarshal(body, &e) != nil || e["message"] == "" {
			t.Errorf("%s: %d %s, want %d with an ApiError", tc.name, status, body, tc.status)
		}
	}
	status, body, _ := s.Do("POST", base, map[string]any{"type": "webhook", "url": "https://x.example", "secret": "s", "q": "action:user.login result:maybe"}, apiTok(adminTok)...)
	if status != 400 || !strings.Contains(string(body), "term 2") {
		t.Errorf("bad q: %d %s, want a 400 that points at term 2", status, body)
	}

	created := s.mustCreateStream(adminTok, hook)
	raw := s.MustDo(http.StatusOK, "GET", base+"/"+created.ID, nil, apiTok(manager)...)
	list := s.MustDo(http.StatusOK, "GET", base, nil, apiTok(manager)...)
	for _, b := range [][]byte{raw, list} {
		for _, secret := range []string{"whsec_never_shown", "pa55word", "t0k3n"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("a stream shows %q: %s", secret, b)
			}
		}
	}
	if created.URL != "https://u:xxxxx@127.0.0.1:9/in?token=xxxxx&x=xxxxx" {
		t.Errorf("url shown as %q", created.URL)
	}
	var listed struct{ Data []auditlog.Stream }
	mustUnmarshal(t, list, &listed)
	if len(listed.Data) != 1 || listed.Data[0].ID != created.ID {
		t.Errorf("list %s", list)
	}
	nats := s.mustCreateStream(manager, map[string]any{"type": "nats", "url": "nats://127.0.0.1:4222", "subject": "audit.acme", "q": "created:today  ACTION:user.*"})
	if nats.Query == "" || strings.Contains(nats.Query, "today") || strings.Contains(nats.Query, "  ") {
		t.Errorf("q stored as %q, want its canonical form", nats.Query)
	}
	s.MustDo(http.StatusNoContent, "DELETE", base+"/"+created.ID, nil, apiTok(manager)...)
	s.MustDo(http.StatusNotFound, "GET", base+"/"+created.ID, nil, apiTok(adminTok)...)

	// The audit of the auditors.
	var page struct{ Data []auditlog.Event }
	mustUnmarshal(t, s.MustDo(http.StatusOK, "GET", "/api/v1/organizations/gh/acme/events?q=action:organizations.auditlogs.streams.*", nil, apiTok(adminTok)...), &page)
	var got []string
	for _, e := range page.Data {
		got = append(got, e.Action+" "+e.EntityID+" "+e.Actor.Email+" "+e.Actor.Role)
		if strings.Contains(string(e.Details), "whsec") || strings.Contains(string(e.Details), "pa55word") {
			t.Errorf("event details show a secret: %s", e.Details)
		}
	}
	want := []string{
		"organizations.auditlogs.streams.delete " + created.ID + " max@acme.example organizationManager",
		"organizations.auditlogs.streams.create " + nats.ID + " max@acme.example organizationManager",
		"organizations.auditlogs.streams.create " + created.ID + " ana@acme.example organizationAdmin",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
