package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	ahttp "github.com/auditlog/auditlog/http"
)

// mustEvents reads an organization's events (v1 shape, through an ndjson
// export) that have action, newest first. The export is itself recorded, as
// organizations.auditlogs.export.
func (s *TestService) mustEvents(tok, org, action string) []auditlog.Event {
	s.tb.Helper()
	var out []auditlog.Event
	for _, line := range bytes.Split(bytes.TrimSpace(s.MustExport(tok, org, "ndjson")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e auditlog.Event
		mustUnmarshal(s.tb, line, &e)
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestOwnTokens(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gl", "beta", "business")
	ana := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	s.MustDo(201, "PUT", "/api/v1/organizations/gl/beta/members/ana@acme.example", map[string]any{"role": "repositoryRead"}, admin()...)
	bea := s.MustMemberToken("gl", "beta", "bea@beta.example", "organizationAdmin", false)

	// Create one, with an expiry; it works at once.
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	var created auditlog.Token
	mustUnmarshal(t, s.MustDo(201, "POST", "/api/v1/user/tokens", map[string]any{"expiresAt": expires}, apiTok(ana)...), &created)
	if !strings.HasPrefix(created.Secret, auditlog.TokenPrefix) || created.Email != "ana@acme.example" || created.ExpiresAt == nil || !created.ExpiresAt.Equal(expires) {
		t.Fatalf("created %+v", created)
	}
	s.MustDo(200, "GET", "/api/v1/user", nil, "Authorization", "Bearer "+created.Secret)

	// List: both tokens, no secret.
	body := s.MustDo(200, "GET", "/api/v1/user/tokens", nil, apiTok(created.Secret)...)
	var list struct{ Data []map[string]any }
	mustUnmarshal(t, body, &list)
	if len(list.Data) != 2 || list.Data[1]["id"] != created.ID || list.Data[1]["expiresAt"] == nil {
		t.Errorf("list %s", body)
	}
	for _, secret := range []string{ana, created.Secret, `"token"`} {
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("the list shows %q: %s", secret, body)
		}
	}

	// Someone else's token id is not found, and that token still works.
	var beas []map[string]any
	mustUnmarshal(t, s.MustDo(200, "GET", "/api/v1/user/tokens", nil, apiTok(bea)...), &struct{ Data *[]map[string]any }{&beas})
	s.MustDo(404, "DELETE", "/api/v1/user/tokens/"+beas[0]["id"].(string), nil, apiTok(ana)...)
	s.MustDo(200, "GET", "/api/v1/user", nil, apiTok(bea)...)

	// Delete: refused from the next request on; deleting again is a 404.
	s.MustDo(204, "DELETE", "/api/v1/user/tokens/"+created.ID, nil, apiTok(ana)...)
	s.MustDo(401, "GET", "/api/v1/user", nil, apiTok(created.Secret)...)
	s.MustDo(404, "DELETE", "/api/v1/user/tokens/"+created.ID, nil, apiTok(ana)...)

	for _, tc := range []struct {
		body   any
		status int
	}{
		{map[string]any{"expiresAt": "2001-01-01T00:00:00Z"}, 422},
		{map[string]any{"expiresAt": "tomorrow"}, 400},
		{map[string]any{"colour": "red"}, 400},
		{"{", 400},
	} {
		if st, b, _ := s.Do("POST", "/api/v1/user/tokens", tc.body, apiTok(ana)...); st != tc.status {
			t.Errorf("POST %v: %d %s, want %d", tc.body, st, b, tc.status)
		}
	}
	s.MustDo(403, "POST", "/api/v1/user/tokens", nil, admin()...)
	s.MustDo(401, "GET", "/api/v1/user/tokens", nil)

	// Each call is recorded in each of her organizations, with her role there.
	for _, org := range []struct{ name, tok, role string }{{"gh/acme", ana, "organizationAdmin"}, {"gl/beta", bea, "repositoryRead"}} {
		for action, n := range map[string]int{"user.tokens.create": 1, "user.tokens.read": 1, "user.tokens.delete": 1} {
			var got []auditlog.Event
			for _, e := range s.mustEvents(org.tok, org.name, action) {
				if e.Actor.Email == "ana@acme.example" { // bea listed hers too
					got = append(got, e)
				}
			}
			if len(got) != n {
				t.Errorf("%s: %d %s events, want %d", org.name, len(got), action, n)
				continue
			}
			e := got[0]
			if e.Actor.Email != "ana@acme.example" || e.Actor.Role != org.role || e.Source != "API" || e.Result != "succeed" ||
				e.IPAddress != "127.0.0.1" || e.UserAgent == "" || !strings.HasPrefix(e.ID, "auditlog-") {
				t.Errorf("%s: %s event %+v", org.name, action, e)
			}
			if action != "user.tokens.read" && (e.EntityID != created.ID || !bytes.Contains(e.Details, []byte(created.ID))) {
				t.Errorf("%s: %s event names token %q, details %s; want %s", org.name, action, e.EntityID, e.Details, created.ID)
			}
		}
	}

	// A user of no organization manages tokens too, and nothing is recorded anywhere.
	before := len(s.MustRead(ana, "gh", "acme", ""))
	loner := s.MustToken("loner@nowhere.example")
	var lt auditlog.Token
	mustUnmarshal(t, s.MustDo(201, "POST", "/api/v1/user/tokens", nil, apiTok(loner)...), &lt)
	s.MustDo(200, "GET", "/api/v1/user/tokens", nil, apiTok(loner)...)
	s.MustDo(204, "DELETE", "/api/v1/user/tokens/"+lt.ID, nil, apiTok(loner)...)
	if after := len(s.MustRead(ana, "gh", "acme", "")); after != before {
		t.Errorf("gh/acme went from %d to %d events by the token calls of a non-member", before, after)
	}
}

func TestManagers(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gh", "freeco", "free")
	s.MustCreateOrg("gh", "other", "business")
	ana := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	bob := s.MustMemberToken("gh", "acme", "bob@acme.example", "organizationMember", false)
	carl := s.MustMemberToken("gh", "acme", "carl@acme.example", "organizationMember", true)
	dan := s.MustMemberToken("gh", "acme", "dan@acme.example", "repositoryAdmin", false)
	fay := s.MustMemberToken("gh", "freeco", "fay@freeco.example", "organizationAdmin", false)
	s.MustDo(201, "PUT", "/api/v1/organizations/gh/freeco/members/gus@freeco.example", map[string]any{"role": "repositoryRead"}, admin()...)
	oz := s.MustMemberToken("gh", "other", "oz@other.example", "organizationAdmin", false)
	const managers = "/api/v1/organizations/gh/acme/managers/"

	// Bob cannot read; Ana makes him a manager, and he can.
	s.MustDo(403, "GET", "/api/v3/organizations/gh/acme/audit", nil, apiTok(bob)...)
	var m auditlog.Member
	mustUnmarshal(t, s.MustDo(200, "PUT", managers+"Bob@ACME.example", nil, apiTok(ana)...), &m)
	if m.Email != "bob@acme.example" || !m.Manager || m.Role != "organizationMember" {
		t.Errorf("granted %+v", m)
	}
	s.MustDo(200, "GET", "/api/v3/organizations/gh/acme/audit", nil, apiTok(bob)...)
	s.MustDo(200, "PUT", managers+"bob@acme.example", nil, apiTok(ana)...) // again: no change

	// Only an organization admin grants and revokes.
	for _, tc := range []struct {
		who    string
		tok    []string
		status int
	}{
		{"a manager", apiTok(carl), 403},
		{"a repository admin", apiTok(dan), 403},
		{"another organization's admin", apiTok(oz), 404},
		{"the admin token", admin(), 403},
		{"no one", nil, 401},
	} {
		for _, method := range []string{"PUT", "DELETE"} {
			if st, b, _ := s.Do(method, managers+"dan@acme.example", nil, tc.tok...); st != tc.status {
				t.Errorf("%s %s: %d %s, want %d", method, tc.who, st, b, tc.status)
			}
		}
	}
	if st, b, _ := s.Do("PUT", managers+"dan@acme.example", nil, admin()...); !bytes.Contains(b, []byte("requires an account API token")) {
		t.Errorf("admin token: %d %s", st, b)
	}
	s.MustDo(404, "PUT", managers+"nobody@acme.example", nil, apiTok(ana)...)
	s.MustDo(404, "PUT", managers+"fay@freeco.example", nil, apiTok(ana)...) // a member elsewhere
	s.MustDo(400, "PUT", managers+"not-an-email", nil, apiTok(ana)...)
	s.MustDo(404, "PUT", "/api/v1/organizations/gh/nope/managers/bob@acme.example", nil, apiTok(ana)...)
	s.MustDo(400, "PUT", "/api/v1/organizations/xx/acme/managers/bob@acme.example", nil, apiTok(ana)...)

	// Revoking: at once, Bob cannot read any more; revoking again changes nothing.
	s.MustDo(204, "DELETE", managers+"bob@acme.example", nil, apiTok(ana)...)
	s.MustDo(403, "GET", "/api/v3/organizations/gh/acme/audit", nil, apiTok(bob)...)
	s.MustDo(204, "DELETE", managers+"bob@acme.example", nil, apiTok(ana)...)

	// The manager role is not a Business feature: a free organization's admin grants it.
	mustUnmarshal(t, s.MustDo(200, "PUT", "/api/v1/organizations/gh/freeco/managers/gus@freeco.example", nil, apiTok(fay)...), &m)
	if !m.Manager {
		t.Errorf("free plan grant %+v", m)
	}

	// One event per change, the admin as actor, the member in entityId and details.
	for action, n := range map[string]int{"organizations.security.managers.create": 1, "organizations.security.managers.delete": 1} {
		got := s.mustEvents(ana, "gh/acme", action)
		if len(got) != n {
			t.Fatalf("%d %s events, want %d", len(got), action, n)
		}
		e := got[0]
		var d map[string]any
		_ = json.Unmarshal(e.Details, &d)
		if e.Actor.Email != "ana@acme.example" || e.Actor.Role != "organizationAdmin" || e.Source != "API" ||
			e.EntityID != "bob@acme.example" || d["email"] != "bob@acme.example" || d["role"] != "organizationMember" {
			t.Errorf("%s event %+v, details %s", action, e, e.Details)
		}
	}
}

// Exports are recorded in the organization's log before they start: who, in
// which role, which format and filter. Refused exports are not.
func TestExportRecorded(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	ana := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	carl := s.MustMemberToken("gh", "acme", "carl@acme.example", "organizationMember", true)
	bob := s.MustMemberToken("gh", "acme", "bob@acme.example", "organizationMember", false)
	s.MustIngest(event())

	s.MustDo(200, "GET", "/api/v1/organizations/gh/acme/events/export?format=csv&q=action:user.login", nil, apiTok(carl)...)
	s.MustDo(400, "GET", "/api/v1/organizations/gh/acme/events/export?format=pdf", nil, apiTok(ana)...)
	s.MustDo(400, "GET", "/api/v1/organizations/gh/acme/events/export?format=csv&q=colour:red", nil, apiTok(ana)...)
	s.MustDo(403, "GET", "/api/v1/organizations/gh/acme/events/export?format=csv", nil, apiTok(bob)...)
	s.MustDo(401, "GET", "/api/v1/organizations/gh/acme/events/export?format=csv", nil)

	var exports []map[string]any
	for _, e := range s.MustRead(ana, "gh", "acme", "") {
		if e["action"] == "organizations.auditlogs.export" {
			exports = append(exports, e)
		}
	}
	if len(exports) != 1 {
		t.Fatalf("%d export events, want 1 (carl's): %v", len(exports), exports)
	}
	e := exports[0]
	actor, details := e["actor"].(map[string]any), e["details"].(map[string]any)
	if actor["email"] != "carl@acme.example" || actor["role"] != "organizationManager" || e["source"] != "API" ||
		details["format"] != "csv" || details["q"] != "action:user.login" || e["description"] != "Audit log of the organization exported" {
		t.Errorf("export event %v", e)
	}

	// An admin's export is recorded with her role, and lands in the log it exports.
	var own []auditlog.Event
	for _, e := range s.mustEvents(ana, "gh/acme", "organizations.auditlogs.export") {
		if e.Actor.Email == "ana@acme.example" {
			own = append(own, e)
		}
	}
	if len(own) != 1 || own[0].Actor.Role != "organizationAdmin" || !bytes.Contains(own[0].Details, []byte(`"format":"ndjson"`)) {
		t.Errorf("the ndjson export does not hold its own export event: %+v", own)
	}
}

func TestRateLimits(t *testing.T) {
	s := MustRunService(t, func(c *Config) {
		c.RateLimitReads, _ = ahttp.ParseRate("5/1m")
		c.RateLimitWrites, _ = ahttp.ParseRate("2/1m")
		c.TrustedProxies = mustPrefixes(t, "127.0.0.1/32")
	})
	s.MustCreateOrg("gh", "acme", "business")
	ana := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	bob := s.MustMemberToken("gh", "acme", "bob@acme.example", "organizationAdmin", false)
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }

	// Per client IP: five reads, then 429 with Retry-After and the budget headers.
	for i := range 5 {
		st, _, h := s.Do("GET", "/api/v1/actions", nil, from("198.51.100.1")...)
		if st != 200 || h.Get("X-RateLimit-Limit") != "5" || h.Get("X-RateLimit-Remaining") != string(rune('4'-i)) {
			t.Fatalf("read %d: %d, limit %q remaining %q", i, st, h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"))
		}
		if reset := mustAtoi(t, h.Get("X-RateLimit-Reset")); reset < time.Now().Unix() || reset > time.Now().Add(61*time.Second).Unix() {
			t.Errorf("X-RateLimit-Reset %d is not within the next minute", reset)
		}
	}
	st, body, h := s.Do("GET", "/api/v1/actions", nil, from("198.51.100.1")...)
	if st != 429 || h.Get("X-RateLimit-Remaining") != "0" || !isAPIError(body) || !bytes.Contains(body, []byte("TooManyRequests")) {
		t.Fatalf("6th read: %d %s %v", st, body, h)
	}
	if ra := mustAtoi(t, h.Get("Retry-After")); ra < 1 || ra > 12 {
		t.Errorf("Retry-After %d, want about 12 seconds (one request of 5 per minute)", ra)
	}
	// Another IP has its own budget; the probes and the web viewer are not limited.
	s.MustDo(200, "GET", "/api/v1/actions", nil, from("198.51.100.2")...)
	for range 10 {
		st, _, h := s.Do("GET", "/healthz", nil, from("198.51.100.1")...)
		if st != 200 || h.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("/healthz: %d %v", st, h)
		}
	}

	// Per token: ana's token from five addresses, then refused from a sixth; bob's is not.
	for i := range 5 {
		s.MustDo(200, "GET", "/api/v1/user", nil, append(apiTok(ana), from("203.0.113."+string(rune('1'+i)))...)...)
	}
	s.MustDo(429, "GET", "/api/v1/user", nil, append(apiTok(ana), from("203.0.113.99")...)...)
	s.MustDo(200, "GET", "/api/v1/user", nil, append(apiTok(bob), from("203.0.113.99")...)...)

	// Writes have their own budget.
	s.MustDo(201, "POST", "/api/v1/user/tokens", nil, append(apiTok(bob), from("192.0.2.1")...)...)
	s.MustDo(201, "POST", "/api/v1/user/tokens", nil, append(apiTok(bob), from("192.0.2.2")...)...)
	s.MustDo(429, "POST", "/api/v1/user/tokens", nil, append(apiTok(bob), from("192.0.2.3")...)...)

	// Garbage tokens do not escape the IP's budget.
	for i := range 5 {
		s.MustDo(401, "GET", "/api/v1/user", nil, append(apiTok("alt_guess"+string(rune('a'+i))), from("192.0.2.50")...)...)
	}
	s.MustDo(429, "GET", "/api/v1/user", nil, append(apiTok("alt_guessz"), from("192.0.2.50")...)...)

	// The admin token (the host platform) is not limited.
	for range 10 {
		s.MustDo(200, "GET", "/api/v1/organizations/gh/acme", nil, append(admin(), from("198.51.100.1")...)...)
	}
	if m := s.MustDo(200, "GET", "/metrics", nil); !bytes.Contains(m, []byte("auditlog_http_rate_limited_total 4")) {
		t.Errorf("metrics lack auditlog_http_rate_limited_total 4")
	}

	// Without trusted proxies, X-Forwarded-For changes nothing: the peer is the client.
	s2 := MustRunService(t, func(c *Config) { c.RateLimitReads, _ = ahttp.ParseRate("2/1m") })
	s2.MustDo(200, "GET", "/api/v1/actions", nil, from("198.51.100.1")...)
	s2.MustDo(200, "GET", "/api/v1/actions", nil, from("198.51.100.2")...)
	s2.MustDo(429, "GET", "/api/v1/actions", nil, from("198.51.100.3")...)
}

func TestRateLimitConfig(t *testing.T) {
	cfg, err := parseServeFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimitReads.String() != "2500/5m" || cfg.RateLimitWrites.Off() || len(cfg.TrustedProxies) != 0 {
		t.Errorf("defaults: reads %v, writes %v, proxies %v", cfg.RateLimitReads, cfg.RateLimitWrites, cfg.TrustedProxies)
	}
	t.Setenv("AUDITLOG_RATE_LIMIT_READS", "100/1m")
	t.Setenv("AUDITLOG_TRUSTED_PROXIES", "10.0.0.0/8,192.0.2.1")
	cfg, err = parseServeFlags([]string{"--rate-limit-writes", "off"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimitReads.String() != "100/1m" || !cfg.RateLimitWrites.Off() || len(cfg.TrustedProxies) != 2 {
		t.Errorf("from the environment and flags: reads %v, writes %v, proxies %v", cfg.RateLimitReads, cfg.RateLimitWrites, cfg.TrustedProxies)
	}
	for _, args := range [][]string{{"--rate-limit-reads", "lots"}, {"--trusted-proxies", "10.0.0.0/33"}} {
		if _, err := parseServeFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
	t.Setenv("AUDITLOG_RATE_LIMIT_WRITES", "5")
	if _, err := parseServeFlags(nil, &bytes.Buffer{}); err == nil {
		t.Error("a bad AUDITLOG_RATE_LIMIT_WRITES was accepted")
	}
}

// Every answer carries the security headers; bodies are bounded; paths that
// ServeMux would redirect elsewhere are refused.
func TestHardening(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	for _, path := range []string{"/api/v1/actions", "/api/v1/nothing", "/healthz", "/", "/api/v3/organizations/gh/acme/audit"} {
		_, _, h := s.Do("GET", path, nil)
		for k, v := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
		} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src '") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if strings.HasPrefix(path, "/api/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, h.Get("Cache-Control"))
		}
	}
	big := `{"plan":"business","x":"` + strings.Repeat("a", 2<<20) + `"}`
	if st, b, _ := s.Do("PUT", "/api/v1/organizations/gh/acme", big, admin()...); st != 413 || !isAPIError(b) {
		t.Errorf("a 2 MiB organization body: %d %s, want 413", st, truncateBody(b))
	}
	if st, b, _ := s.Do("GET", "/api/v1/organizations/gh/acme", big, admin()...); st != 413 {
		t.Errorf("a 2 MiB body on a GET: %d %s, want 413", st, truncateBody(b))
	}
	if st, _, _ := s.Do("GET", "/api/v1/organizations/gh/other/../acme", nil, admin()...); st != 400 {
		t.Errorf("a path with '..': %d, want 400", st)
	}
}

// No token, the admin token included, ever reaches the log, whatever happens
// to the requests that carry it.
func TestTokensNeverLogged(t *testing.T) {
	var out syncBuffer
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Addr, cfg.AdminToken = t.TempDir(), "127.0.0.1:0", testAdminToken
	cfg.RateLimitReads, _ = ahttp.ParseRate("3/1m")
	svc := &Service{Config: cfg, Logger: newLogger(Config{LogLevel: "debug", LogFormat: "json"}, &out), Stdout: &out}
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &TestService{Service: svc, tb: t, URL: svc.HTTP.URL()}
	s.MustCreateOrg("gh", "acme", "business")
	ana := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	var own auditlog.Token
	mustUnmarshal(t, s.MustDo(201, "POST", "/api/v1/user/tokens", nil, apiTok(ana)...), &own)
	secrets := []string{testAdminToken, ana, own.Secret, "alt_wrong-guess-4711"}
	for _, tok := range secrets {
		for _, h := range [][]string{apiTok(tok), {"Authorization", "Bearer " + tok}} {
			s.Do("GET", "/api/v3/organizations/gh/acme/audit", nil, h...)
			s.Do("GET", "/api/v1/organizations/gh/acme/events/export?format=nope", nil, h...)
			s.Do("POST", "/api/v1/events", "[{", h...)
			s.Do("GET", "/api/v1/nothing", nil, h...)
		}
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Len() == 0 {
		t.Fatal("nothing was logged: the test would prove nothing")
	}
	for _, secret := range secrets {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the log holds the token %q", secret)
		}
	}
}

func mustPrefixes(tb testing.TB, s string) []netip.Prefix {
	tb.Helper()
	p, err := ahttp.ParseTrustedProxies(s)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func mustAtoi(tb testing.TB, s string) int64 {
	tb.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		tb.Fatalf("%q is not an integer", s)
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}
