package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// TestCLIImportRoundTrip: what the Codacy-compatible read serves for one
// organization, imported into another, reads back byte for byte the same;
// importing it again stores nothing.
func TestCLIImportRoundTrip(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gl", "acme-mirror", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	s.MustDo(201, "PUT", "/api/v1/organizations/gl/acme-mirror/members/ana@acme.example", map[string]any{"role": "organizationAdmin"}, admin()...)
	base := time.Date(2025, 11, 3, 9, 0, 0, 0, time.UTC)
	var batch []map[string]any
	for i := range 23 {
		batch = append(batch, event("timestamp", base.Add(time.Duration(i)*time.Hour+time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano),
			"action", []string{"user.login", "repositories.branches.update", "organizations.gatepolicies.update"}[i%3],
			"actor", map[string]any{"email": fmt.Sprintf("user%d@acme.example", i%4), "role": []string{"organizationAdmin", "repositoryWrite", ""}[i%3]},
			"result", []string{"succeed", "failed", "rejected"}[i%3], "source", []string{"UI", "API"}[i%2],
			"repositoryName", []string{"", "api", "web app"}[i%3], "entityId", fmt.Sprint("entity-", i%5),
			"details", map[string]any{"n": i, "note": "line\nbreak \"quoted\" ünïcode"}))
	}
	// Identical entries, which only their position tells apart, and a tie of timestamps.
	same := event("timestamp", "2025-11-04T08:00:00.500Z", "action", "repositories.tokens.read", "repositoryName", "api")
	batch = append(batch, same, same, same, event("timestamp", "2025-11-04T08:00:00.500Z", "description", "a custom description"))
	s.MustIngest(batch...)
	body := s.MustDo(200, "GET", "/api/v3/organizations/gh/acme/audit", nil, apiTok(tok)...)
	file := filepath.Join(t.TempDir(), "codacy.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}

	clientEnv(t, s, testAdminToken)
	out, _ := mustCLI(t, "import", "--codacy", file, "--org", "gl/acme-mirror", "--batch", "7")
	if want := "imported 27 events into gl/acme-mirror: 27 new, 0 already there\n"; out != want {
		t.Errorf("import: %q, want %q", out, want)
	}
	mirror := s.MustDo(200, "GET", "/api/v3/organizations/gl/acme-mirror/audit", nil, apiTok(tok)...)
	if !bytes.Equal(mirror, body) {
		t.Errorf("the imported history reads differently:\n got %s\nwant %s", mirror, body)
	}

	out, _ = mustCLI(t, "import", "--codacy", file, "--org", "gl/acme-mirror")
	if want := "imported 27 events into gl/acme-mirror: 0 new, 27 already there\n"; out != want {
		t.Errorf("second import: %q, want %q", out, want)
	}
	p := s.MustList(tok, "gl/acme-mirror", "?limit=1000")
	if len(p.Data) != 27 {
		t.Fatalf("the mirror holds %d events, want 27", len(p.Data))
	}
	// Imported oldest first: sequences follow time; ids are derived from content.
	for i := 1; i < len(p.Data); i++ {
		if p.Data[i].Sequence >= p.Data[i-1].Sequence {
			t.Fatalf("sequence %d listed after %d: not imported oldest first", p.Data[i].Sequence, p.Data[i-1].Sequence)
		}
	}
	for _, e := range p.Data {
		if !strings.HasPrefix(e.ID, "codacy-") || len(e.ID) != len("codacy-")+32 {
			t.Errorf("id %q", e.ID)
		}
	}

	// A file that overlaps: the newest 10 entries and one new one.
	overlap := `[{"actor":{"email":"new@acme.example"},"action":"user.login","result":"succeed","timestamp":"2025-12-01T00:00:00Z","source":"UI","repositoryName":"","description":"","details":{},"entityId":""},` +
		string(body[1:])
	out, _ = mustCLI(t, "import", "--codacy", writeCLIFile(t, overlap), "--org", "gl/acme-mirror")
	if want := "imported 28 events into gl/acme-mirror: 1 new, 27 already there\n"; out != want {
		t.Errorf("overlapping import: %q, want %q", out, want)
	}
}

func writeCLIFile(tb testing.TB, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "file.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestCLIImportInvalid: invalid entries are reported by index, and nothing
// is sent while any is invalid.
func TestCLIImportInvalid(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	clientEnv(t, s, testAdminToken)
	entry := func(kv ...string) string {
		fields := map[string]string{
			"actor": `{"email":"ana@acme.example","role":"organizationAdmin"}`, "action": `"user.login"`, "result": `"succeed"`,
			"timestamp": `"2025-06-28T14:29:13.430Z"`, "source": `"UI"`, "repositoryName": `""`, "description": `""`,
			"details": `{}`, "entityId": `""`,
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(fields, kv[i])
			} else {
				fields[kv[i]] = kv[i+1]
			}
		}
		var parts []string
		for _, k := range []string{"actor", "action", "result", "timestamp", "source", "repositoryName", "description", "details", "entityId", "ipAddress"} {
			if v, ok := fields[k]; ok {
				parts = append(parts, fmt.Sprintf("%q: %s", k, v))
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	file := writeCLIFile(t, "[\n  "+strings.Join([]string{
		entry(),
		entry("action", `"user.dance"`),
		entry("timestamp", ""),
		entry("ipAddress", `"203.0.113.7"`),
		entry("timestamp", `"yesterday"`),
		entry("details", `[1, 2]`),
		entry("actor", `{"email": 42}`),
		entry("result", `"maybe"`),
		entry("timestamp", `"2999-01-01T00:00:00Z"`),
		entry(),
	}, ",\n  ")+"\n]\n")
	_, _, err := cli("import", "--codacy", file, "--org", "gh/acme")
	if err == nil {
		t.Fatal("an invalid file was imported")
	}
	for _, want := range []string{
		"8 of 10 entries are invalid; nothing was imported:",
		`entry 1: unknown action "user.dance"`,
		"entry 2: timestamp is required",
		`entry 3: unknown field "ipAddress"`,
		`entry 4: timestamp "yesterday" is not an RFC 3339 date-time`,
		"entry 5: details must be a JSON object",
		"entry 6: actor.email must be a string, not a JSON number",
		`entry 7: invalid result "maybe"`,
		"entry 8: timestamp 2999-01-01T00:00:00Z is more than 5 minutes in the future",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "entry 0") || strings.Contains(err.Error(), "entry 9") {
		t.Errorf("valid entries reported: %v", err)
	}
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != 0 {
		t.Errorf("%d events stored from an invalid file", len(got))
	}
	out, _ := mustCLI(t, "import", "--dry-run", "--codacy", writeCLIFile(t, "["+entry()+","+entry("action", `"user.tokens.create"`)+"]"), "--org", "gh/acme", "--token", "")
	if !strings.Contains(out, "2 entries, all valid; nothing was sent") {
		t.Errorf("dry run: %q", out)
	}

	for _, tc := range []struct{ content, want string }{
		{`{"data": []}`, "not a JSON array"},
		{`[` + entry() + `, {"actor": `, "entry 1: malformed JSON"},
		{`[` + entry() + `] []`, "data after the array"},
		{``, "not a JSON array"},
	} {
		wantCLIError(t, tc.want, "import", "--codacy", writeCLIFile(t, tc.content), "--org", "gh/acme")
	}
	wantCLIError(t, "organization gh/nope does not exist: create it first", "import", "--codacy", file, "--org", "gh/nope")
	wantCLIError(t, "requires the admin token", "import", "--codacy", file, "--org", "gh/acme", "--token", tok)
	wantCLIError(t, "import needs --codacy FILE and --org", "import", "--org", "gh/acme")
	out, _ = mustCLI(t, "import", "--codacy", writeCLIFile(t, "[]"), "--org", "gh/acme")
	if !strings.Contains(out, "holds no entries") {
		t.Errorf("empty file: %q", out)
	}
}

// TestCLIImportLarge: a file of many entries goes out in batches of --batch.
func TestCLIImportLarge(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	var b strings.Builder
	b.WriteString("[")
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 12_345
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"actor":{"email":"user%d@acme.example","role":"repositoryWrite"},"action":"repositories.branches.update","result":"succeed","timestamp":%q,"source":"UI","repositoryName":"repo-%d","description":"Enable or Disable branch for analyse","details":{"branch":"b%d"},"entityId":""}`,
			i%50, base.Add(-time.Duration(i)*time.Second).Format(auditlog.TimeFormat), i%7, i)
	}
	b.WriteString("]")
	file := writeCLIFile(t, b.String())
	clientEnv(t, s, testAdminToken)
	before := ingestRequests(t, s)
	out, _ := mustCLI(t, "import", "--codacy", file, "--org", "gh/acme", "--batch", "5000")
	if want := fmt.Sprintf("imported %s events into gh/acme: %s new, 0 already there\n", formatCount(n), formatCount(n)); out != want {
		t.Errorf("import: %q, want %q", out, want)
	}
	if after := ingestRequests(t, s); after-before != 3 {
		t.Errorf("%v ingest requests, want 3 batches", after-before)
	}
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	p := s.MustList(tok, "gh/acme", "?limit=1")
	if len(p.Data) != 1 || p.Data[0].Sequence != n-1 || !p.Data[0].Timestamp.Equal(base) {
		t.Errorf("newest event %+v: the oldest entry (the file's last) should have sequence 0", p.Data)
	}
}

// ingestRequests reads from /metrics how many POST /api/v1/events requests the server took.
func ingestRequests(t *testing.T, s *TestService) int {
	t.Helper()
	for _, line := range strings.Split(string(s.MustDo(200, "GET", "/metrics", nil)), "\n") {
		if v, ok := strings.CutPrefix(line, "auditlog_ingest_batch_events_count "); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}
