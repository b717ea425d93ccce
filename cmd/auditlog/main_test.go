package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

const testAdminToken = "test-admin-token-0123456789"

// TestService is a running service for end-to-end tests: the real server on
// 127.0.0.1:0 over a temp data dir, started through the same Service the binary uses.
type TestService struct {
	*Service
	tb  testing.TB
	URL string
}

// MustRunService starts a service on a fresh temp data dir.
func MustRunService(tb testing.TB, edit ...func(*Config)) *TestService {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = tb.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.AdminToken = testAdminToken
	cfg.ShutdownTimeout = 10 * time.Second
	for _, f := range edit {
		f(&cfg)
	}
	return mustStart(tb, cfg)
}

func mustStart(tb testing.TB, cfg Config) *TestService {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	svc := &Service{Config: cfg, Logger: newLogger(Config{LogLevel: "warn", LogFormat: "text"}, os.Stderr), Stdout: io.Discard}
	if err := svc.Open(context.Background()); err != nil {
		_ = svc.Close()
		tb.Fatal(err)
	}
	s := &TestService{Service: svc, tb: tb, URL: svc.HTTP.URL()}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Restart closes the service and starts it again on the same data directory.
func (s *TestService) Restart() *TestService {
	s.tb.Helper()
	if err := s.Close(); err != nil {
		s.tb.Fatal(err)
	}
	return mustStart(s.tb, s.Config)
}

// Do sends a request; body may be nil, a string, []byte or a value to encode as JSON.
// headers are name/value pairs.
func (s *TestService) Do(method, path string, body any, headers ...string) (int, []byte, http.Header) {
	s.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.tb.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.tb.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.tb.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

func admin() []string { return []string{"Authorization", "Bearer " + testAdminToken} }

func apiTok(tok string) []string { return []string{"api-token", tok} }

// MustDo is Do that fails the test unless the status is want.
func (s *TestService) MustDo(want int, method, path string, body any, headers ...string) []byte {
	s.tb.Helper()
	got, data, _ := s.Do(method, path, body, headers...)
	if got != want {
		s.tb.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, data)
	}
	return data
}

// MustCreateOrg creates an organization on a plan.
func (s *TestService) MustCreateOrg(provider, name, plan string) {
	s.tb.Helper()
	s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/"+provider+"/"+name, map[string]any{"plan": plan}, admin()...)
}

// MustMemberToken makes email a member of the organization and returns a new api-token of theirs.
func (s *TestService) MustMemberToken(provider, name, email, role string, manager bool) string {
	s.tb.Helper()
	s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/"+provider+"/"+name+"/members/"+email,
		map[string]any{"role": role, "manager": manager}, admin()...)
	return s.MustToken(email)
}

// MustToken creates an api-token for email.
func (s *TestService) MustToken(email string) string {
	s.tb.Helper()
	var tok auditlog.Token
	mustUnmarshal(s.tb, s.MustDo(http.StatusCreated, "POST", "/api/v1/users/"+email+"/tokens", nil, admin()...), &tok)
	return tok.Secret
}

// MustIngest posts events and returns the result.
func (s *TestService) MustIngest(events ...map[string]any) auditlog.AppendResult {
	s.tb.Helper()
	var res auditlog.AppendResult
	mustUnmarshal(s.tb, s.MustDo(http.StatusOK, "POST", "/api/v1/events", events, admin()...), &res)
	return res
}

// MustRead reads an organization's events Codacy-style.
func (s *TestService) MustRead(tok, provider, name, query string) []map[string]any {
	s.tb.Helper()
	var out []map[string]any
	mustUnmarshal(s.tb, s.MustDo(http.StatusOK, "GET", "/api/v3/organizations/"+provider+"/"+name+"/audit"+query, nil, apiTok(tok)...), &out)
	return out
}

func mustUnmarshal(tb testing.TB, data []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		tb.Fatalf("unmarshal %s: %v", data, err)
	}
}

// event returns a valid ingest event of gh/acme with optional overrides.
func event(kv ...any) map[string]any {
	e := map[string]any{
		"organization": map[string]any{"provider": "gh", "name": "acme"},
		"action":       "user.login",
		"actor":        map[string]any{"email": "ana@acme.example", "role": "organizationAdmin"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(e, k)
		} else {
			e[k] = kv[i+1]
		}
	}
	return e
}

func ms(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }

func TestAdminTokenGenerated(t *testing.T) {
	s := MustRunService(t, func(c *Config) { c.AdminToken = "" })
	path := filepath.Join(s.Config.DataDir, "admin-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin-token mode = %v, want 0600", fi.Mode().Perm())
	}
	tok, _ := os.ReadFile(path)
	s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/gh/acme", map[string]any{}, "Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	// The same token after a restart.
	s = s.Restart()
	s.MustDo(http.StatusOK, "GET", "/api/v1/organizations/gh/acme", nil, "Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	s.MustDo(http.StatusUnauthorized, "GET", "/api/v1/organizations/gh/acme", nil, admin()...)
}
