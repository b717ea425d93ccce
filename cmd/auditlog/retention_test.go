package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRetentionService: the server's retention worker purges expired events
// (not those of an organization under legal hold); the rest still list, the
// bundle (with the purged leaves) and the store still verify, after a restart too.
func TestRetentionService(t *testing.T) {
	s := MustRunService(t, fastCheckpoints, func(c *Config) { c.RetentionEvery = 100 * time.Millisecond })
	s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/gh/acme", map[string]any{"plan": "business", "retentionDays": 2}, admin()...)
	s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/gh/held", map[string]any{"plan": "business", "retentionDays": 2, "legalHold": true}, admin()...)
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	s.MustMemberToken("gh", "held", "ana@acme.example", "organizationAdmin", false)
	old := time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339)
	held := map[string]any{"provider": "gh", "name": "held"}
	s.MustIngest(event("id", "old1", "timestamp", old), event("id", "new1"), event("id", "old2", "timestamp", old), event("id", "new2"),
		event("id", "old3", "timestamp", old, "organization", held))

	deadline := time.Now().Add(10 * time.Second)
	for len(s.MustRead(tok, "gh", "acme", "")) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the expired events were not purged within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := s.MustRead(tok, "gh", "held", ""); len(got) != 1 {
		t.Errorf("legal hold: %d events, want the 1 kept", len(got))
	}
	metrics := string(s.MustDo(200, "GET", "/metrics", nil))
	if !strings.Contains(metrics, "auditlog_retention_purged_events_total 2") {
		t.Error("metrics do not count the 2 purged events")
	}
	s.MustWaitCheckpoint(tok, "gh/acme", 4)
	bundle := s.MustDo(200, "GET", "/api/v1/organizations/gh/acme/events/export?format=bundle", nil, apiTok(tok)...)
	if n := bytes.Count(bundle, []byte(`{"purged":`)); n != 2 {
		t.Errorf("the bundle holds %d purged lines, want 2", n)
	}
	path := filepath.Join(t.TempDir(), "acme.bundle")
	if err := os.WriteFile(path, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	key, _ := s.MustLogKey()
	if out, err := verifyCmd("--key", key, path); err != nil {
		t.Errorf("bundle after retention: %v\n%s", err, out)
	}
	s = s.Restart()
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != 3 { // and the record of the export
		t.Errorf("after a restart %d events, want 3", len(got))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := verifyCmd("--data", s.Config.DataDir); err != nil {
		t.Errorf("verify --data after retention: %v\n%s", err, out)
	}
}
