package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// cli runs the binary's entry point with args and returns what it printed.
func cli(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustCLI is cli that fails the test on error.
func mustCLI(tb testing.TB, args ...string) (stdout, stderr string) {
	tb.Helper()
	stdout, stderr, err := cli(args...)
	if err != nil {
		tb.Fatalf("auditlog %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

// wantCLIError fails unless the command fails with an error that says want.
func wantCLIError(tb testing.TB, want string, args ...string) {
	tb.Helper()
	_, stderr, err := cli(args...)
	if err == nil {
		tb.Fatalf("auditlog %s succeeded, want an error saying %q", strings.Join(args, " "), want)
	}
	if !strings.Contains(err.Error(), want) {
		tb.Fatalf("auditlog %s: error %q, want it to say %q (stderr %s)", strings.Join(args, " "), err, want, stderr)
	}
}

// clientEnv points the client commands at s through the environment, with tok.
func clientEnv(t *testing.T, s *TestService, tok string) {
	t.Setenv("AUDITLOG_SERVER", s.URL)
	t.Setenv("AUDITLOG_TOKEN", tok)
	t.Setenv("AUDITLOG_TOKEN_FILE", "")
	t.Setenv("AUDITLOG_ORG", "")
}

// mustSeedCLI ingests n events of gh/acme, one a minute, every fourth a gate
// policy update, and returns the token of the organization's admin.
func mustSeedCLI(t *testing.T, s *TestService, n int) string {
	t.Helper()
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var batch []map[string]any
	for i := range n {
		e := event("id", fmt.Sprint("e", i), "timestamp", base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339))
		if i%4 == 0 {
			e["action"] = "organizations.gatepolicies.update"
			e["details"] = map[string]any{"policy": fmt.Sprint("p", i)}
		}
		batch = append(batch, e)
	}
	s.MustIngest(batch...)
	return tok
}

func TestCLIEvents(t *testing.T) {
	s := MustRunService(t)
	tok := mustSeedCLI(t, s, 1050)
	s.MustIngest(event("id", "evil", "repositoryName", "web\x1b[2J\u202eapp", "timestamp", "2026-01-01T00:00:00Z"))
	clientEnv(t, s, tok)

	out, stderr := mustCLI(t, "events", "--org", "gh/acme", "--limit", "3")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIMESTAMP") || !strings.Contains(lines[1], "2026-03-02T05:29:00.000Z  1049  ") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(lines[1], "ana@acme.example") || !strings.Contains(lines[1], "user.login") {
		t.Errorf("row %q", lines[1])
	}
	if !strings.Contains(stderr, "3 events shown; there are more") {
		t.Errorf("stderr %q", stderr)
	}

	// --json, every event: two pages of the server's largest.
	out, stderr = mustCLI(t, "events", "--org", "gh/acme", "--json", "--limit", "0")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1051 || stderr != "" {
		t.Fatalf("--json --limit 0: %d lines, stderr %q", len(lines), stderr)
	}
	var first, last auditlog.Event
	mustUnmarshal(t, []byte(lines[0]), &first)
	mustUnmarshal(t, []byte(lines[1050]), &last)
	if first.ID != "e1049" || last.ID != "evil" || first.Sequence != 1049 {
		t.Errorf("first %s/%d, last %s", first.ID, first.Sequence, last.ID)
	}
	out, stderr = mustCLI(t, "events", "--org", "gh/acme", "--json", "--limit", "1020")
	if n := strings.Count(out, "\n"); n != 1020 || !strings.Contains(stderr, "1020 events shown; there are more") {
		t.Errorf("--limit 1020: %d lines, stderr %q", n, stderr)
	}

	// --q, flags after the organization, and the organization as an argument.
	out, _ = mustCLI(t, "events", "gh/acme", "--q", "action:organizations.gatepolicies.update created:2026-03-01", "--json", "--limit", "0")
	if n := strings.Count(out, "\n"); n != 180 { // 12:00 to 23:59, every fourth minute
		t.Errorf("--q: %d events, want 180", n)
	}

	// Terminal control characters in values never reach the terminal.
	out, _ = mustCLI(t, "events", "--org", "gh/acme", "--q", "created:2026-01-01")
	if strings.ContainsAny(out, "\x1b\u202e") || !strings.Contains(out, "web?[2J?app") {
		t.Errorf("unsafe table cell: %q", out)
	}

	// Flags beat the environment.
	t.Setenv("AUDITLOG_SERVER", "http://127.0.0.1:1")
	mustCLI(t, "events", "--server", s.URL, "--org", "gh/acme", "--limit", "1")

	// Errors: the API's message, exit status 1 (a non-nil error from Run).
	wantCLIError(t, "connection refused", "events", "--org", "gh/acme")
	t.Setenv("AUDITLOG_SERVER", s.URL)
	wantCLIError(t, `term 1 "action:user.dance" at position 1: unknown action "user.dance"`, "events", "--org", "gh/acme", "--q", "action:user.dance")
	wantCLIError(t, "organization not found", "events", "--org", "gh/nope")
	wantCLIError(t, "the admin token cannot read events", "events", "--org", "gh/acme", "--token", testAdminToken)
	wantCLIError(t, "check AUDITLOG_TOKEN", "events", "--org", "gh/acme", "--token", "alt_wrong")
	wantCLIError(t, "which organization?", "events")
	wantCLIError(t, `organization "acme": want provider/name`, "events", "--org", "acme")
	t.Setenv("AUDITLOG_TOKEN", "")
	wantCLIError(t, "no token", "events", "--org", "gh/acme")

	_, stderr, err := cli("events", "--help")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Usage: auditlog events") || !strings.Contains(stderr, "AUDITLOG_SERVER") {
		t.Errorf("--help: %v, %q", err, stderr)
	}
}

func TestCLIExport(t *testing.T) {
	s := MustRunService(t, func(c *Config) { c.CheckpointEvery = 20 * time.Millisecond })
	tok := mustSeedCLI(t, s, 40)
	clientEnv(t, s, tok)
	dir := t.TempDir()

	out := filepath.Join(dir, "acme.csv")
	_, stderr := mustCLI(t, "export", "--org", "gh/acme", "--format", "csv", "-o", out, "--q", "action:user.login")
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 31 || rows[0][0] != "sequence" {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	if !strings.Contains(stderr, "exported 30 events of gh/acme") || !strings.Contains(stderr, "to "+out) {
		t.Errorf("stderr %q", stderr)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}

	// ndjson to standard output: the 40 events and the server's records of the exports.
	stdout, stderr := mustCLI(t, "export", "--org", "gh/acme")
	if n := strings.Count(stdout, "\n"); n != 42 || !strings.Contains(stderr, "exported 42 events") {
		t.Errorf("ndjson: %d lines, stderr %q", n, stderr)
	}

	// The bundle verifies offline with the server's key: every event up to
	// the latest checkpoint, which the record of this export may have missed.
	vkey := strings.TrimSpace(string(s.MustDo(200, "GET", "/api/v1/log-key", nil)))
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := s.MustDo(200, "GET", "/api/v1/organizations/gh/acme/checkpoint", nil, apiTok(tok)...)
		if strings.Split(string(body), "\n")[1] == "42" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of 42 events: %s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	bundle := filepath.Join(dir, "acme.bundle")
	_, stderr = mustCLI(t, "export", "--org", "gh/acme", "--format", "bundle", "-o", bundle)
	verified, _ := mustCLI(t, "verify", "--quiet", "--key", vkey, bundle)
	var n int
	if _, err := fmt.Sscanf(verified, "OK: verified %d events of auditlog/gh/acme", &n); err != nil || n < 42 || !strings.Contains(verified, "a complete bundle") {
		t.Fatalf("verify: %s", verified)
	}
	if !strings.Contains(stderr, fmt.Sprintf("exported %d events", n)) {
		t.Errorf("bundle of %d events: %q", n, stderr)
	}

	// A failed export leaves no file, not even a partial one.
	failed := filepath.Join(dir, "failed.ndjson")
	wantCLIError(t, `unknown action "user.dance"`, "export", "--org", "gh/acme", "-o", failed, "--q", "action:user.dance")
	wantCLIError(t, `--format "xml": must be csv, ndjson or bundle`, "export", "--org", "gh/acme", "--format", "xml")
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "acme.bundle acme.csv" {
		t.Errorf("files after a failed export: %s", got)
	}
}

func TestCLIToken(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustDo(201, "PUT", "/api/v1/organizations/gh/acme/members/bob@acme.example", map[string]any{"role": "organizationAdmin"}, admin()...)
	clientEnv(t, s, testAdminToken)

	// The host bootstraps Bob's first token with the admin token.
	secret, stderr := mustCLI(t, "token", "create", "--email", "bob@acme.example")
	secret = strings.TrimSpace(secret)
	if !strings.HasPrefix(secret, auditlog.TokenPrefix) || !strings.Contains(stderr, "shown only this once") {
		t.Fatalf("bootstrap: %q, %q", secret, stderr)
	}
	wantCLIError(t, "requires an account API token", "token", "list")

	// Bob manages his own tokens.
	t.Setenv("AUDITLOG_TOKEN", secret)
	out, _ := mustCLI(t, "token", "create", "--expires", "1h", "--json")
	var second auditlog.Token
	mustUnmarshal(t, []byte(out), &second)
	if second.Secret == "" || second.ExpiresAt == nil || time.Until(*second.ExpiresAt) > time.Hour || second.Email != "bob@acme.example" {
		t.Fatalf("own token: %+v", second)
	}
	out, _ = mustCLI(t, "token", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[2], second.ID) ||
		!strings.Contains(lines[1], "never") || strings.Contains(out, second.Secret) {
		t.Errorf("list:\n%s", out)
	}
	_, stderr = mustCLI(t, "token", "delete", second.ID)
	if !strings.Contains(stderr, "deleted token "+second.ID) {
		t.Errorf("delete: %q", stderr)
	}
	out, _ = mustCLI(t, "token", "list", "--json")
	var tokens []auditlog.Token
	mustUnmarshal(t, []byte(out), &tokens)
	if len(tokens) != 1 || tokens[0].ID == second.ID {
		t.Errorf("after delete: %+v", tokens)
	}
	wantCLIError(t, "token not found", "token", "delete", second.ID)
	wantCLIError(t, "token delete takes one token id", "token", "delete")

	// The server recorded Bob's token operations in his organization.
	events := s.MustRead(secret, "gh", "acme", "")
	var actions []string
	for _, e := range events {
		actions = append(actions, e["action"].(string))
	}
	if got := strings.Join(actions, " "); got != "user.tokens.read user.tokens.delete user.tokens.read user.tokens.create" {
		t.Errorf("recorded %s", got)
	}

	wantCLIError(t, `unknown subcommand "rotate" of token`, "token", "rotate")
	wantCLIError(t, "token needs a subcommand", "token")
	if _, stderr, err := cli("token", "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "auditlog token list") {
		t.Errorf("token --help: %v %q", err, stderr)
	}
	if _, stderr, err := cli("token", "create", "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "-expires") {
		t.Errorf("token create --help: %v %q", err, stderr)
	}
}

func TestCLIOrgMember(t *testing.T) {
	s := MustRunService(t)
	clientEnv(t, s, testAdminToken)

	out, stderr := mustCLI(t, "org", "put", "gh/acme", "--plan", "business", "--retention-days", "30")
	var org auditlog.Organization
	mustUnmarshal(t, []byte(out), &org)
	if org.Plan != "business" || org.RetentionDays != 30 || org.LegalHold || !strings.Contains(stderr, "created organization gh/acme") {
		t.Fatalf("create: %+v %q", org, stderr)
	}
	out, stderr = mustCLI(t, "org", "put", "--org", "gh/acme", "--legal-hold")
	mustUnmarshal(t, []byte(out), &org)
	if org.Plan != "business" || org.RetentionDays != 30 || !org.LegalHold || !strings.Contains(stderr, "updated organization gh/acme") {
		t.Fatalf("update: %+v %q", org, stderr)
	}
	out, _ = mustCLI(t, "org", "get", "gh/acme")
	mustUnmarshal(t, []byte(out), &org)
	if !org.LegalHold || org.Name != "acme" {
		t.Errorf("get: %+v", org)
	}
	wantCLIError(t, `invalid plan "gold"`, "org", "put", "gh/acme", "--plan", "gold")
	wantCLIError(t, "not a number of days", "org", "put", "gh/acme", "--retention-days", "many")
	wantCLIError(t, "organization not found", "org", "get", "gh/nope")
	wantCLIError(t, `unknown provider "sf"`, "org", "get", "sf/acme")

	out, stderr = mustCLI(t, "member", "put", "gh/acme", "Ana@Acme.example", "--role", "organizationAdmin")
	var m auditlog.Member
	mustUnmarshal(t, []byte(out), &m)
	if m.Email != "ana@acme.example" || m.Role != "organizationAdmin" || m.Manager || !strings.Contains(stderr, "created member ana@acme.example of gh/acme") {
		t.Fatalf("member put: %+v %q", m, stderr)
	}
	mustCLI(t, "member", "put", "--org", "gh/acme", "--manager", "ana@acme.example")
	out, _ = mustCLI(t, "member", "get", "gh/acme", "ana@acme.example")
	mustUnmarshal(t, []byte(out), &m)
	if !m.Manager || m.Role != "organizationAdmin" {
		t.Errorf("member get: %+v", m)
	}
	wantCLIError(t, "invalid role", "member", "put", "gh/acme", "bob@acme.example", "--role", "owner")
	_, stderr = mustCLI(t, "member", "delete", "gh/acme", "ana@acme.example")
	if !strings.Contains(stderr, "removed ana@acme.example from gh/acme") {
		t.Errorf("delete: %q", stderr)
	}
	wantCLIError(t, "not found", "member", "get", "gh/acme", "ana@acme.example")
	wantCLIError(t, "takes the organization and one email", "member", "get", "gh/acme")

	// An account API token is not the admin token.
	tok := s.MustMemberToken("gh", "acme", "bob@acme.example", "organizationAdmin", false)
	wantCLIError(t, "requires the admin token", "org", "get", "gh/acme", "--token", tok)
	if _, stderr, err := cli("member", "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "auditlog member put") {
		t.Errorf("member --help: %v %q", err, stderr)
	}

	// The token from a file.
	file := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(file, []byte(testAdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AUDITLOG_TOKEN", "")
	mustCLI(t, "org", "get", "gh/acme", "--token-file", file)
}

// TestCLIUsage: the binary's usage names the client commands.
func TestCLIUsage(t *testing.T) {
	out, _ := mustCLI(t, "help")
	for _, cmd := range []string{"events", "export", "token", "org", "member", "import"} {
		if !strings.Contains(out, "\n  "+cmd+" ") {
			t.Errorf("usage does not name %s", cmd)
		}
		if _, stderr, err := cli(cmd, "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "auditlog "+cmd) {
			t.Errorf("%s --help: %v %q", cmd, err, stderr)
		}
	}
}
