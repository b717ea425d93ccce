package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
	ahttp "github.com/auditlog/auditlog/http"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
)

const adminToken = "client-test-admin-token-0123456789"

var (
	acme = auditlog.OrgRef{Provider: "gh", Name: "acme"}
	beta = auditlog.OrgRef{Provider: "gl", Name: "beta"}
)

// Server is the real server for the client's tests: the Pebble store and
// the HTTP API on 127.0.0.1:0, wired as auditlog serve wires them.
type Server struct {
	tb  testing.TB
	DB  *pebble.DB
	URL string
}

// MustRunServer starts a server on a fresh temp directory.
func MustRunServer(tb testing.TB) *Server {
	tb.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	skey, _, err := merkle.GenerateKey("clienttest")
	if err != nil {
		tb.Fatal(err)
	}
	key, err := merkle.ParseKey(skey)
	if err != nil {
		tb.Fatal(err)
	}
	db := pebble.NewDB(tb.TempDir())
	db.Logger = logger
	db.SigningKey = key
	db.CheckpointInterval = 20 * time.Millisecond
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	srv := ahttp.NewServer()
	srv.Addr = "127.0.0.1:0"
	srv.AdminToken = adminToken
	srv.Events, srv.Directory, srv.Tokens, srv.Log = db, db, db, db
	srv.LogKey = key.VKey
	srv.CursorKey = key.DeriveSecret("list cursors")
	srv.Logger = logger
	if err := srv.Open(); err != nil {
		_ = db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		_ = db.Close()
	})
	return &Server{tb: tb, DB: db, URL: srv.URL()}
}

// MustCreateOrg creates an organization on plan.
func (s *Server) MustCreateOrg(ref auditlog.OrgRef, plan string) {
	s.tb.Helper()
	if _, _, err := s.DB.PutOrganization(context.Background(), ref, auditlog.OrganizationUpdate{Plan: &plan}); err != nil {
		s.tb.Fatal(err)
	}
}

// MustReader makes email an organizationAdmin of ref and returns a new account API token of theirs.
func (s *Server) MustReader(ref auditlog.OrgRef, email string) string {
	s.tb.Helper()
	role := auditlog.RoleOrganizationAdmin
	if _, _, err := s.DB.PutMember(context.Background(), ref, email, auditlog.MemberUpdate{Role: &role}); err != nil {
		s.tb.Fatal(err)
	}
	tok, err := s.DB.CreateToken(context.Background(), email, nil)
	if err != nil {
		s.tb.Fatal(err)
	}
	return tok.Secret
}

// MustStored returns every stored event of ref, oldest first.
func (s *Server) MustStored(ref auditlog.OrgRef) []*auditlog.Event {
	s.tb.Helper()
	var out []*auditlog.Event
	for e, err := range s.DB.FindEvents(context.Background(), ref, auditlog.EventFilter{}) {
		if err != nil {
			s.tb.Fatal(err)
		}
		out = append([]*auditlog.Event{e}, out...)
	}
	return out
}

// MustHaveExactly fails unless ref stores exactly n events with sequences
// 0..n-1 and distinct ids: nothing lost, nothing stored twice.
func (s *Server) MustHaveExactly(ref auditlog.OrgRef, n int) []*auditlog.Event {
	s.tb.Helper()
	events := s.MustStored(ref)
	if len(events) != n {
		s.tb.Fatalf("%s stores %d events, want %d", ref, len(events), n)
	}
	ids := map[string]bool{}
	seqs := map[int64]bool{}
	for _, e := range events {
		if ids[e.ID] {
			s.tb.Fatalf("id %s stored twice", e.ID)
		}
		ids[e.ID] = true
		seqs[e.Sequence] = true
	}
	for i := range int64(n) {
		if !seqs[i] {
			s.tb.Fatalf("no event has sequence %d", i)
		}
	}
	return events
}

// login returns a valid user.login event of ref.
func login(ref auditlog.OrgRef, id string) auditlog.Event {
	return auditlog.Event{
		Organization: ref,
		ID:           id,
		Action:       "user.login",
		Actor:        auditlog.Actor{Email: "ana@acme.example", Role: auditlog.RoleOrganizationAdmin},
	}
}

// fastRetry retries quickly, for tests.
var fastRetry = client.WithRetry(client.Retry{MaxAttempts: 6, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})

// counter is an http.RoundTripper that counts requests by method and path.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
	sizes  []int // events per POST /api/v1/events, in order
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[r.Method+" "+r.URL.Path]++
	if r.Method == "POST" && r.URL.Path == "/api/v1/events" && r.GetBody != nil {
		body, _ := r.GetBody()
		var events []json.RawMessage
		_ = json.NewDecoder(body).Decode(&events)
		c.sizes = append(c.sizes, len(events))
	}
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *counter) Count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key]
}

func (c *counter) Sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.sizes...)
}

// Proxy is a real reverse proxy in front of a server that misbehaves on
// purpose: it fails the first Fail requests to a path (all paths when Path
// is ""), the way Mode says.
type Proxy struct {
	URL string

	mu   sync.Mutex
	path string
	// mode is how a request fails: "status" answers status without forwarding;
	// "drop" forwards, then cuts the connection before the answer; "cut"
	// forwards, then cuts the connection halfway through the answer's body.
	mode     string
	status   int
	retry    string // Retry-After header of "status" answers
	fail     int
	seen     int           // requests to path
	times    []time.Time   // when each request to path came
	answers  []string      // the server's answers that "drop" kept from the client
	gate     chan struct{} // if set, requests to path wait for it to close
	upstream *httputil.ReverseProxy
}

// MustRunProxy starts a proxy to target on 127.0.0.1:0.
func MustRunProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{upstream: httputil.NewSingleHostReverseProxy(u)}
	p.upstream.ErrorLog = log.New(io.Discard, "", 0)
	ts := httptest.NewServer(http.HandlerFunc(p.serve))
	tb.Cleanup(ts.Close)
	p.URL = ts.URL
	return p
}

// FailNext makes the proxy fail the next n requests to path.
func (p *Proxy) FailNext(path, mode string, status int, retryAfter string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.path, p.mode, p.status, p.retry, p.fail = path, mode, status, retryAfter, n
}

// Hold makes requests to path wait until the returned function is called.
func (p *Proxy) Hold(path string) (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.path = path
	gate := make(chan struct{})
	p.gate = gate
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

// Seen reports how many requests to the path came, and when.
func (p *Proxy) Seen() (int, []time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen, append([]time.Time(nil), p.times...)
}

// Dropped returns the answers the proxy kept from the client.
func (p *Proxy) Dropped() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.answers...)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	match := p.path == "" || r.URL.Path == p.path
	mode, status, retry, gate := "", 0, "", p.gate
	if match {
		p.seen++
		p.times = append(p.times, time.Now())
		if p.fail > 0 {
			p.fail--
			mode, status, retry = p.mode, p.status, p.retry
		}
	}
	p.mu.Unlock()
	if match && gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	switch mode {
	case "status":
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html>%d from the proxy</html>", status)
	case "drop":
		rec := httptest.NewRecorder()
		p.upstream.ServeHTTP(rec, r)
		p.mu.Lock()
		p.answers = append(p.answers, rec.Body.String())
		p.mu.Unlock()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	case "cut":
		rec := httptest.NewRecorder()
		p.upstream.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		body := rec.Body.Bytes()
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the connection ends before the body does
	default:
		p.upstream.ServeHTTP(w, r)
	}
}

// wantCode fails unless err carries the auditlog error code want.
func wantCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := auditlog.ErrorCode(err); got != want {
		tb.Fatalf("error code %q, want %q (error: %v)", got, want, err)
	}
}

// wantMessage fails unless err's client-safe message contains want.
func wantMessage(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := auditlog.ErrorMessage(err); !strings.Contains(got, want) {
		tb.Fatalf("error message %q, want it to contain %q", got, want)
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
