package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/demo"
)

func TestDirectory(t *testing.T) {
	s := MustRunService(t)
	var org auditlog.Organization
	mustUnmarshal(t, s.MustDo(201, "PUT", "/api/v1/organizations/gl/acme", map[string]any{"retentionDays": 30}, admin()...), &org)
	if org.Plan != "free" || org.RetentionDays != 30 || org.LegalHold {
		t.Errorf("created %+v", org)
	}
	mustUnmarshal(t, s.MustDo(200, "PUT", "/api/v1/organizations/gl/acme", map[string]any{"plan": "business", "legalHold": true}, admin()...), &org)
	if org.Plan != "business" || org.RetentionDays != 30 || !org.LegalHold {
		t.Errorf("updated %+v", org)
	}
	mustUnmarshal(t, s.MustDo(200, "GET", "/api/v1/organizations/gl/acme", nil, admin()...), &org)
	if org.Plan != "business" {
		t.Errorf("read back %+v", org)
	}
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"PUT", "/api/v1/organizations/xx/acme", map[string]any{}, 400},
		{"PUT", "/api/v1/organizations/gl/acme", map[string]any{"plan": "gold"}, 422},
		{"PUT", "/api/v1/organizations/gl/acme", map[string]any{"retentionDays": 0}, 422},
		{"PUT", "/api/v1/organizations/gl/acme", map[string]any{"retentionDays": 3651}, 422},
		{"PUT", "/api/v1/organizations/gl/acme", map[string]any{"retentionDays": "30"}, 400},
		{"PUT", "/api/v1/organizations/gl/acme", map[string]any{"colour": "red"}, 400},
		{"PUT", "/api/v1/organizations/gl/acme", "{", 400},
		{"GET", "/api/v1/organizations/gl/nope", nil, 404},
		{"PUT", "/api/v1/organizations/gl/nope/members/a@b.c", map[string]any{"role": "organizationAdmin"}, 404},
		{"PUT", "/api/v1/organizations/gl/acme/members/a@b.c", map[string]any{"manager": true}, 422},
		{"PUT", "/api/v1/organizations/gl/acme/members/a@b.c", map[string]any{"role": "owner"}, 422},
		{"PUT", "/api/v1/organizations/gl/acme/members/not-an-email", map[string]any{"role": "organizationAdmin"}, 400},
		{"GET", "/api/v1/organizations/gl/acme/members/a@b.c", nil, 404},
		{"DELETE", "/api/v1/organizations/gl/acme/members/a@b.c", nil, 404},
		{"POST", "/api/v1/users/not-an-email/tokens", nil, 400},
		{"POST", "/api/v1/users/a@b.c/tokens", map[string]any{"expiresAt": "2001-01-01T00:00:00Z"}, 422},
		{"GET", "/api/v1/nothing-here", nil, 404},
	} {
		status, body, _ := s.Do(tc.method, tc.path, tc.body, admin()...)
		var e map[string]any
		if status != tc.status || json.Unmarshal(body, &e) != nil || e["message"] == "" {
			t.Errorf("%s %s %v: %d %s, want %d with an ApiError", tc.method, tc.path, tc.body, status, body, tc.status)
		}
	}

	var m auditlog.Member
	mustUnmarshal(t, s.MustDo(201, "PUT", "/api/v1/organizations/gl/acme/members/Ana@Acme.Example", map[string]any{"role": "repositoryRead"}, admin()...), &m)
	if m.Email != "ana@acme.example" || m.Role != "repositoryRead" || m.Manager {
		t.Errorf("member %+v", m)
	}
	mustUnmarshal(t, s.MustDo(200, "PUT", "/api/v1/organizations/gl/acme/members/ana@acme.example", map[string]any{"manager": true}, admin()...), &m)
	if m.Role != "repositoryRead" || !m.Manager {
		t.Errorf("member after update %+v", m)
	}
	tok := s.MustToken("ana@acme.example")
	if !strings.HasPrefix(tok, auditlog.TokenPrefix) {
		t.Errorf("token %q lacks prefix", tok)
	}
	var user struct {
		Email         string
		Organizations []auditlog.Membership
	}
	mustUnmarshal(t, s.MustDo(200, "GET", "/api/v1/user", nil, apiTok(tok)...), &user)
	if user.Email != "ana@acme.example" || len(user.Organizations) != 1 || user.Organizations[0].Plan != "business" || !user.Organizations[0].Manager {
		t.Errorf("user %+v", user)
	}
	// A manager reads; after removal from the organization, the same token gets 404.
	s.MustDo(200, "GET", "/api/v3/organizations/gl/acme/audit", nil, apiTok(tok)...)
	s.MustDo(204, "DELETE", "/api/v1/organizations/gl/acme/members/ana@acme.example", nil, admin()...)
	s.MustDo(404, "GET", "/api/v3/organizations/gl/acme/audit", nil, apiTok(tok)...)
	// Admin routes refuse account tokens.
	s.MustDo(403, "GET", "/api/v1/organizations/gl/acme", nil, apiTok(tok)...)
	s.MustDo(401, "GET", "/api/v1/organizations/gl/acme", nil)

	// An expired token is refused.
	var short auditlog.Token
	mustUnmarshal(t, s.MustDo(201, "POST", "/api/v1/users/ana@acme.example/tokens",
		map[string]any{"expiresAt": time.Now().Add(300 * time.Millisecond).Format(time.RFC3339Nano)}, admin()...), &short)
	s.MustDo(200, "GET", "/api/v1/user", nil, apiTok(short.Secret)...)
	time.Sleep(400 * time.Millisecond)
	s.MustDo(401, "GET", "/api/v1/user", nil, apiTok(short.Secret)...)
}

func TestPublicEndpoints(t *testing.T) {
	s := MustRunService(t)
	var actions []auditlog.Action
	mustUnmarshal(t, s.MustDo(200, "GET", "/api/v1/actions", nil), &actions)
	// Codacy's 49, then the service's own three (the audit of the auditors).
	if len(actions) != 52 {
		t.Errorf("%d actions, want 52", len(actions))
	} else if got := actions[49].Name + " " + actions[50].Name + " " + actions[51].Name; got != "organizations.auditlogs.export organizations.auditlogs.streams.create organizations.auditlogs.streams.delete" {
		t.Errorf("the last three actions are %s", got)
	}
	s.MustDo(200, "GET", "/healthz", nil)
	s.MustDo(200, "GET", "/readyz", nil)
	if doc := s.MustDo(200, "GET", "/api/openapi.yaml", nil); !bytes.Contains(doc, []byte("listAuditLogsForOrganization")) {
		t.Error("openapi document lacks listAuditLogsForOrganization")
	}
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	s.MustIngest(event(), event())
	s.MustRead(tok, "gh", "acme", "")
	s.MustDo(422, "POST", "/api/v1/events", []any{event("action", "nope")}, admin()...)
	metrics := string(s.MustDo(200, "GET", "/metrics", nil))
	for _, want := range []string{
		`auditlog_ingest_events_total{outcome="accepted"} 2`,
		`auditlog_ingest_events_total{outcome="rejected"} 1`,
		`auditlog_http_requests_total{code="200",route="POST /api/v1/events"} 1`,
		`auditlog_http_request_duration_seconds_count{route="GET /api/v1/actions"} 1`,
		`auditlog_ingest_batch_events_count 2`,
		`auditlog_store_events_appended_total 2`,
		`auditlog_read_events_total{route="GET /api/v3/organizations/{provider}/{remoteOrganizationName}/audit"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestGracefulShutdown: batches in flight when the service is told to stop
// are committed and answered; everything acknowledged is there after a restart.
func TestGracefulShutdown(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	batch := make([]map[string]any, 2000)
	for i := range batch {
		batch[i] = event()
	}
	body, _ := json.Marshal(batch)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked int
	)
	ctx, cancel := context.WithCancel(context.Background())
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequest("POST", s.URL+"/api/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testAdminToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server stopped accepting
				}
				var res auditlog.AppendResult
				err = json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if resp.StatusCode == 200 && err == nil {
					mu.Lock()
					acked += res.Accepted
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	if acked == 0 {
		t.Fatal("nothing was acknowledged before shutdown")
	}
	s = mustStart(t, s.Config)
	got := s.MustRead(tok, "gh", "acme", "")
	if len(got) < acked {
		t.Fatalf("%d events acknowledged, %d stored after restart", acked, len(got))
	}
	t.Logf("%d acknowledged, %d stored", acked, len(got))
}

// TestDemo: serve --demo gives a Business organization with a year of events
// of every action, readable with the printed token.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Addr, cfg.AdminToken, cfg.Demo = t.TempDir(), "127.0.0.1:0", testAdminToken, true
	svc := &Service{Config: cfg, Logger: newLogger(Config{LogLevel: "warn", LogFormat: "text"}, &out), Stdout: &out}
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	s := &TestService{Service: svc, tb: t, URL: svc.HTTP.URL()}
	if !strings.Contains(out.String(), svc.DemoToken) || !strings.Contains(out.String(), "curl") {
		t.Errorf("start-up output lacks the token or a curl command:\n%s", out.String())
	}
	events := s.MustRead(svc.DemoToken, demo.Org.Provider, demo.Org.Name, "")
	seen := map[string]bool{}
	var oldest, newest time.Time
	for _, e := range events {
		seen[e["action"].(string)] = true
		ts, _ := time.Parse(time.RFC3339, e["timestamp"].(string))
		if oldest.IsZero() || ts.Before(oldest) {
			oldest = ts
		}
		if ts.After(newest) {
			newest = ts
		}
	}
	if len(seen) != len(auditlog.Actions()) {
		t.Errorf("demo covers %d actions, want all %d", len(seen), len(auditlog.Actions()))
	}
	if span := newest.Sub(oldest); span < 360*24*time.Hour {
		t.Errorf("demo spans %v, want about a year", span)
	}
	if len(events) < 10000 {
		t.Errorf("demo has only %d events", len(events))
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("AUDITLOG_ADDR", "127.0.0.1:9999")
	t.Setenv("AUDITLOG_DEMO", "true")
	t.Setenv("AUDITLOG_LOG_LEVEL", "debug")
	cfg, err := parseServeFlags([]string{"--log-level", "warn"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || !cfg.Demo || cfg.LogLevel != "warn" {
		t.Errorf("config %+v: environment then flags not applied", cfg)
	}
	t.Setenv("AUDITLOG_DEMO", "maybe")
	if _, err := parseServeFlags(nil, &bytes.Buffer{}); err == nil {
		t.Error("a bad AUDITLOG_DEMO was accepted")
	}
	var help bytes.Buffer
	if _, err := parseServeFlags([]string{"--help"}, &help); !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), "AUDITLOG_DATA") {
		t.Errorf("--help: %v\n%s", err, help.String())
	}
}
