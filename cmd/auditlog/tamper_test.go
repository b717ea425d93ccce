package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	rawpebble "github.com/cockroachdb/pebble/v2"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// fastCheckpoints makes the service sign checkpoints soon after events arrive.
func fastCheckpoints(c *Config) { c.CheckpointEvery = 50 * time.Millisecond }

// MustLogKey returns the service's checkpoint verifier key, as GET /api/v1/log-key serves it.
func (s *TestService) MustLogKey() (vkey string, v note.Verifier) {
	s.tb.Helper()
	status, body, h := s.Do("GET", "/api/v1/log-key", nil)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		s.tb.Fatalf("GET log-key: %d %s %q", status, body, h.Get("Content-Type"))
	}
	vkey = strings.TrimSpace(string(body))
	v, err := note.NewVerifier(vkey)
	if err != nil {
		s.tb.Fatalf("log-key %q: %v", vkey, err)
	}
	return vkey, v
}

// servedCheckpoint is a checkpoint as GET .../checkpoint serves it, verified
// and parsed with the independent libraries (sumdb/note, formats/log).
type servedCheckpoint struct {
	Note string
	log.Checkpoint
}

func openServedCheckpoint(tb testing.TB, v note.Verifier, text []byte) servedCheckpoint {
	tb.Helper()
	n, err := note.Open(text, note.VerifierList(v))
	if err != nil {
		tb.Fatalf("checkpoint does not verify with the log key: %v\n%s", err, text)
	}
	var c log.Checkpoint
	if rest, err := c.Unmarshal([]byte(n.Text)); err != nil || len(rest) != 0 {
		tb.Fatalf("checkpoint body: %v (rest %q)\n%s", err, rest, n.Text)
	}
	return servedCheckpoint{Note: string(text), Checkpoint: c}
}

// MustWaitCheckpoint polls the organization's checkpoint until it covers size events.
func (s *TestService) MustWaitCheckpoint(tok, org string, size uint64) servedCheckpoint {
	s.tb.Helper()
	_, v := s.MustLogKey()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body, h := s.Do("GET", "/api/v1/organizations/"+org+"/checkpoint", nil, apiTok(tok)...)
		if status == http.StatusOK {
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				s.tb.Fatalf("checkpoint Content-Type %q", ct)
			}
			if cp := openServedCheckpoint(s.tb, v, body); cp.Size >= size {
				return cp
			}
		} else if status != http.StatusNotFound {
			s.tb.Fatalf("GET checkpoint: %d %s", status, body)
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("no checkpoint of %s with %d events after 10s (last answer %d %s)", org, size, status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MustExport downloads an export of the organization.
func (s *TestService) MustExport(tok, org, format string) []byte {
	s.tb.Helper()
	status, body, h := s.Do("GET", "/api/v1/organizations/"+org+"/events/export?format="+format, nil, apiTok(tok)...)
	if status != http.StatusOK {
		s.tb.Fatalf("export %s of %s: %d %s", format, org, status, body)
	}
	if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		s.tb.Errorf("export %s: Content-Disposition %q", format, cd)
	}
	return body
}

// bundleLines reads a bundle's event lines, each event with the salt or
// personal hash its leaf needs.
func bundleLines(tb testing.TB, bundle []byte) (header merkle.BundleHeader, lines []merkle.BundleLine) {
	tb.Helper()
	all := bytes.Split(bytes.TrimSuffix(bundle, []byte("\n")), []byte("\n"))
	mustUnmarshal(tb, all[0], &header)
	for _, b := range all[1:] {
		var l merkle.BundleLine
		mustUnmarshal(tb, b, &l)
		l.Event.Salt, l.Event.PersonalHash = l.Salt, l.PersonalHash
		lines = append(lines, l)
	}
	return header, lines
}

// verifyCmd runs "auditlog verify args..." through the binary's entry point.
func verifyCmd(args ...string) (stdout string, err error) {
	var out, errOut bytes.Buffer
	err = Run(context.Background(), append([]string{"verify", "--quiet"}, args...), &out, &errOut)
	return out.String(), err
}

// tamperEvent is an ingest event of gh/acme with every field set, the i-th of a series.
func tamperEvent(org string, i int, email string) map[string]any {
	provider, name, _ := strings.Cut(org, "/")
	return event(
		"organization", map[string]any{"provider": provider, "name": name},
		"id", fmt.Sprintf("%s-evt-%d", name, i),
		"actor", map[string]any{"email": email, "role": "organizationAdmin"},
		"timestamp", time.Now().Add(-time.Duration(10-i)*time.Minute).UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano),
		"repositoryName", fmt.Sprintf("%s/api-%d", name, i),
		"entityId", fmt.Sprintf("entity-%d", i),
		"details", map[string]any{"ticket": fmt.Sprintf("SEC-%d", i)},
		"ipAddress", fmt.Sprintf("203.0.113.%d", i),
		"userAgent", fmt.Sprintf("Mozilla/%d.0", i),
	)
}

func TestTamperEvidenceAPI(t *testing.T) {
	s := MustRunService(t, fastCheckpoints)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "admin@acme.example", "organizationAdmin", false)
	vkey, v := s.MustLogKey()
	if !strings.HasPrefix(vkey, merkle.DefaultKeyName+"+") {
		t.Errorf("log key %q", vkey)
	}

	// Before any event there is no checkpoint.
	s.MustDo(http.StatusNotFound, "GET", "/api/v1/organizations/gh/acme/checkpoint", nil, apiTok(tok)...)

	var batch []map[string]any
	for i := range 4 {
		batch = append(batch, tamperEvent("gh/acme", i, "ana@acme.example"))
	}
	s.MustIngest(batch...)
	cp4 := s.MustWaitCheckpoint(tok, "gh/acme", 4)
	batch = nil
	for i := 4; i < 7; i++ {
		batch = append(batch, tamperEvent("gh/acme", i, "ana@acme.example"))
	}
	s.MustIngest(batch...)
	cp7 := s.MustWaitCheckpoint(tok, "gh/acme", 7)
	if cp4.Size != 4 || cp7.Size != 7 {
		t.Fatalf("checkpoints of %d and %d events, want 4 and 7", cp4.Size, cp7.Size)
	}
	for _, cp := range []servedCheckpoint{cp4, cp7} {
		if cp.Origin != "auditlog/gh/acme" || len(cp.Hash) != 32 {
			t.Errorf("checkpoint origin %q, root of %d bytes", cp.Origin, len(cp.Hash))
		}
	}
	roots := map[uint64][]byte{4: cp4.Hash, 7: cp7.Hash}
	notes := map[uint64]string{4: cp4.Note, 7: cp7.Note}

	// The events as read, with their salts, from the bundle: their leaf hashes
	// are recomputed from what was read, not taken from the server.
	_, lines := bundleLines(t, s.MustExport(tok, "gh/acme", "bundle"))
	if len(lines) < 7 {
		t.Fatalf("bundle of %d events, want 7", len(lines))
	}
	leaves := make([][]byte, 7)
	for i, l := range lines[:7] {
		if l.Event.Sequence != int64(i) || l.Event.RepositoryName != fmt.Sprintf("acme/api-%d", i) {
			t.Fatalf("bundle line %d: %+v", i, l.Event)
		}
		h, err := l.Event.LeafHash()
		if err != nil {
			t.Fatal(err)
		}
		leaves[i] = h[:]
	}
	// The export is itself recorded (organizations.auditlogs.export, sequence 7):
	// from now on the latest checkpoint is of 8 events.
	cp8 := s.MustWaitCheckpoint(tok, "gh/acme", 8)
	roots[8], notes[8] = cp8.Hash, cp8.Note

	for _, tc := range []struct {
		seq   int
		query string
		size  uint64
	}{
		{0, "?size=4", 4}, {1, "?size=4", 4}, {3, "?size=4", 4},
		{0, "?size=7", 7}, {3, "?size=7", 7}, {4, "?size=7", 7}, {6, "?size=7", 7},
		{2, "", 8}, {6, "", 8}, // the latest checkpoint
	} {
		var p auditlog.InclusionProof
		mustUnmarshal(t, s.MustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/organizations/gh/acme/events/%d/proof%s", tc.seq, tc.query), nil, apiTok(tok)...), &p)
		if p.Sequence != int64(tc.seq) || p.TreeSize != int64(tc.size) || p.Checkpoint != notes[tc.size] {
			t.Errorf("proof of %d%s: sequence %d, tree size %d, checkpoint %q", tc.seq, tc.query, p.Sequence, p.TreeSize, p.Checkpoint)
		}
		if c := openServedCheckpoint(t, v, []byte(p.Checkpoint)); c.Size != tc.size || !bytes.Equal(c.Hash, roots[tc.size]) {
			t.Errorf("proof of %d%s: its checkpoint is of %d events", tc.seq, tc.query, c.Size)
		}
		if !bytes.Equal(p.LeafHash, leaves[tc.seq]) {
			t.Errorf("proof of %d: the served leaf hash is not the one recomputed from the event", tc.seq)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(tc.seq), tc.size, leaves[tc.seq], p.Proof, roots[tc.size]); err != nil {
			t.Errorf("proof of %d%s does not verify: %v", tc.seq, tc.query, err)
		}
		// Another event's leaf does not verify with this proof.
		other := leaves[(tc.seq+1)%min(int(tc.size), len(leaves))]
		if proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(tc.seq), tc.size, other, p.Proof, roots[tc.size]) == nil {
			t.Errorf("proof of %d%s also proves another event", tc.seq, tc.query)
		}
	}

	for query, to := range map[string]uint64{"?from=4&to=7": 7, "?from=4": 8} { // to: the latest checkpoint's size by default
		var p auditlog.ConsistencyProof
		mustUnmarshal(t, s.MustDo(http.StatusOK, "GET", "/api/v1/organizations/gh/acme/consistency"+query, nil, apiTok(tok)...), &p)
		if p.From != 4 || p.To != int64(to) || p.FromCheckpoint != cp4.Note || p.ToCheckpoint != notes[to] {
			t.Errorf("consistency%s: %d..%d", query, p.From, p.To)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, 4, to, p.Proof, cp4.Hash, roots[to]); err != nil {
			t.Errorf("consistency%s does not verify: %v", query, err)
		}
		if proof.VerifyConsistency(rfc6962.DefaultHasher, 4, to, p.Proof, leaves[0], roots[to]) == nil {
			t.Errorf("consistency%s also holds for another old root", query)
		}
	}
	var same auditlog.ConsistencyProof
	mustUnmarshal(t, s.MustDo(http.StatusOK, "GET", "/api/v1/organizations/gh/acme/consistency?from=7&to=7", nil, apiTok(tok)...), &same)
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, 7, 7, same.Proof, cp7.Hash, cp7.Hash); err != nil {
		t.Errorf("consistency 7..7: %v", err)
	}

	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/events/8/proof", 404},          // beyond the tree
		{"/events/100/proof", 404},        // far beyond
		{"/events/4/proof?size=4", 404},   // beyond that tree
		{"/events/1/proof?size=5", 404},   // no checkpoint of 5 events
		{"/events/1/proof?size=100", 404}, // nor of 100
		{"/events/abc/proof", 400},
		{"/events/-1/proof", 400},
		{"/events/1.5/proof", 400},
		{"/events/1/proof?size=x", 400},
		{"/events/1/proof?size=0", 400},
		{"/events/1/proof?size=-4", 400},
		{"/consistency", 400},
		{"/consistency?to=7", 400},
		{"/consistency?from=x&to=7", 400},
		{"/consistency?from=4&to=x", 400},
		{"/consistency?from=0&to=7", 400},
		{"/consistency?from=-4&to=7", 400},
		{"/consistency?from=7&to=4", 400},
		{"/consistency?from=4&to=5", 404}, // no checkpoint of 5 events
		{"/consistency?from=5&to=7", 404},
		{"/consistency?from=4&to=99", 404},
	} {
		status, body, _ := s.Do("GET", "/api/v1/organizations/gh/acme"+tc.path, nil, apiTok(tok)...)
		var e map[string]any
		if status != tc.status || json.Unmarshal(body, &e) != nil || e["message"] == "" || e["error"] == "" {
			t.Errorf("GET %s: %d %s, want %d with an ApiError", tc.path, status, body, tc.status)
		}
	}
}

func TestTamperEvidenceAuthorization(t *testing.T) {
	s := MustRunService(t, fastCheckpoints)
	for _, org := range []struct{ name, plan string }{{"acme", "business"}, {"other", "business"}, {"free-co", "free"}, {"pro-co", "pro"}} {
		s.MustCreateOrg("gh", org.name, org.plan)
		s.MustIngest(tamperEvent("gh/"+org.name, 0, "ana@acme.example"), tamperEvent("gh/"+org.name, 1, "ana@acme.example"))
	}
	tokens := map[string]string{
		"admin":    s.MustMemberToken("gh", "acme", "admin@acme.example", "organizationAdmin", false),
		"manager":  s.MustMemberToken("gh", "acme", "manager@acme.example", "repositoryRead", true),
		"reader":   s.MustMemberToken("gh", "acme", "reader@acme.example", "repositoryRead", false),
		"member":   s.MustMemberToken("gh", "acme", "member@acme.example", "organizationMember", false),
		"outsider": s.MustMemberToken("gh", "other", "admin@other.example", "organizationAdmin", false),
		"freeAdm":  s.MustMemberToken("gh", "free-co", "admin@free.example", "organizationAdmin", false),
		"proAdm":   s.MustMemberToken("gh", "pro-co", "admin@pro.example", "organizationAdmin", false),
		"nobody":   s.MustToken("nobody@example.com"),
	}
	s.MustWaitCheckpoint(tokens["admin"], "gh/acme", 2)

	const planMsg = "only available on the Business plan"
	for _, path := range []string{"/checkpoint", "/events/0/proof", "/consistency?from=2&to=2", "/events/export?format=bundle"} {
		for _, tc := range []struct {
			who     string
			org     string
			headers []string
			status  int
			msg     string
		}{
			{"no credential", "gh/acme", nil, 401, ""},
			{"garbage token", "gh/acme", apiTok("garbage"), 401, ""},
			{"garbage bearer", "gh/acme", []string{"Authorization", "Bearer garbage"}, 401, ""},
			{"admin token", "gh/acme", admin(), 403, ""},
			{"organization admin", "gh/acme", apiTok(tokens["admin"]), 200, ""},
			{"manager", "gh/acme", apiTok(tokens["manager"]), 200, ""},
			{"repositoryRead", "gh/acme", apiTok(tokens["reader"]), 403, "role"},
			{"organizationMember", "gh/acme", apiTok(tokens["member"]), 403, "role"},
			{"admin of another organization", "gh/acme", apiTok(tokens["outsider"]), 404, "organization not found"},
			{"user of no organization", "gh/acme", apiTok(tokens["nobody"]), 404, "organization not found"},
			{"unknown organization", "gh/nope", apiTok(tokens["admin"]), 404, "organization not found"},
			{"free plan", "gh/free-co", apiTok(tokens["freeAdm"]), 403, planMsg},
			{"pro plan", "gh/pro-co", apiTok(tokens["proAdm"]), 403, planMsg},
		} {
			status, body, _ := s.Do("GET", "/api/v1/organizations/"+tc.org+path, nil, tc.headers...)
			if status != tc.status {
				t.Errorf("%s, %s: status %d, want %d: %s", path, tc.who, status, tc.status, body)
				continue
			}
			if status == 200 {
				continue
			}
			var e map[string]any
			mustUnmarshal(t, body, &e)
			if msg, _ := e["message"].(string); msg == "" || !strings.Contains(msg, tc.msg) {
				t.Errorf("%s, %s: message %q does not say %q", path, tc.who, e["message"], tc.msg)
			}
			if bytes.Contains(body, []byte("auditlog/gh/")) || bytes.Contains(body, []byte(`"proof"`)) {
				t.Errorf("%s, %s: the refusal discloses the log: %s", path, tc.who, body)
			}
		}
	}
}

// editLine returns the bundle with line i (0 is the header) replaced by edit's result.
func editLine(tb testing.TB, bundle []byte, i int, edit func(line []byte) []byte) []byte {
	tb.Helper()
	lines := bytes.SplitAfter(bundle, []byte("\n"))
	old := lines[i]
	lines[i] = edit(bytes.Clone(old))
	if bytes.Equal(lines[i], old) {
		tb.Fatalf("the edit of line %d changed nothing: %s", i, old)
	}
	return bytes.Join(lines, nil)
}

// replaceOnce replaces old by new in line, failing if old is not there.
func replaceOnce(tb testing.TB, line []byte, old, new string) []byte {
	tb.Helper()
	if !bytes.Contains(line, []byte(old)) {
		tb.Fatalf("%q is not in %s", old, line)
	}
	return bytes.Replace(line, []byte(old), []byte(new), 1)
}

// bumpDigitAfter changes the last digit of the JSON string value that
// follows key in line (e.g. the milliseconds of a timestamp).
func bumpDigitAfter(tb testing.TB, line []byte, key string) []byte {
	tb.Helper()
	i := bytes.Index(line, []byte(`"`+key+`":"`))
	if i < 0 {
		tb.Fatalf("no %s in %s", key, line)
	}
	start := i + len(key) + 4
	end := start + bytes.IndexByte(line[start:], '"')
	for j := end - 1; j >= start; j-- {
		if c := line[j]; c >= '0' && c <= '9' {
			line[j] = '0' + (c-'0'+1)%10
			return line
		}
	}
	tb.Fatalf("no digit in %s of %s", key, line)
	return nil
}

func writeTemp(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestBundleVerify(t *testing.T) {
	s := MustRunService(t, fastCheckpoints)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gh", "other", "business")
	tok := s.MustMemberToken("gh", "acme", "admin@acme.example", "organizationAdmin", false)
	otherTok := s.MustMemberToken("gh", "other", "admin@other.example", "organizationAdmin", false)
	var batch []map[string]any
	for i := range 6 {
		batch = append(batch, tamperEvent("gh/acme", i, "ana@acme.example"), tamperEvent("gh/other", i, "ana@acme.example"))
	}
	s.MustIngest(batch...)
	cp := s.MustWaitCheckpoint(tok, "gh/acme", 6)
	s.MustWaitCheckpoint(otherTok, "gh/other", 6)
	vkey, _ := s.MustLogKey()
	bundle := s.MustExport(tok, "gh/acme", "bundle")
	otherBundle := s.MustExport(otherTok, "gh/other", "bundle")
	hdr, lines := bundleLines(t, bundle)
	if !hdr.Complete || hdr.Checkpoint != cp.Note || len(lines) != 6 {
		t.Fatalf("bundle header %+v with %d events", hdr, len(lines))
	}
	file := writeTemp(t, "acme.bundle.ndjson", bundle)

	// The verifier key as text, or in a file.
	for _, key := range []string{vkey, writeTemp(t, "log-key.pub", []byte(vkey+"\n"))} {
		out, err := verifyCmd("--key", key, file)
		if err != nil {
			t.Fatalf("verify --key %s: %v", key, err)
		}
		if !strings.Contains(out, "verified 6 events") || !strings.Contains(out, "auditlog/gh/acme") || !strings.Contains(out, "complete") {
			t.Errorf("verify output %q", out)
		}
	}
	if _, err := verifyCmd(file); err == nil {
		t.Error("verify without --key succeeded")
	}
	if _, err := verifyCmd("--key", vkey, filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("verify of a missing file succeeded")
	}

	// Line 4 is event 3.
	const altered = "does not match the signed log"
	event3 := func(edit func(line []byte) []byte) []byte { return editLine(t, bundle, 4, edit) }
	otherSkey, otherVkey, err := merkle.GenerateKey(merkle.DefaultKeyName)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := merkle.ParseKey(otherSkey)
	if err != nil {
		t.Fatal(err)
	}
	var root [32]byte
	copy(root[:], cp.Hash)
	resigned, err := merkle.Sign(otherKey, cp.Origin, int64(cp.Size), root)
	if err != nil {
		t.Fatal(err)
	}
	withHeader := func(b []byte, note []byte, complete bool) []byte {
		return append(merkle.AppendBundleHeader(nil, note, complete), b[bytes.IndexByte(b, '\n')+1:]...)
	}
	drop := func(i int) []byte {
		l := bytes.SplitAfter(bundle, []byte("\n"))
		return bytes.Join(append(l[:i:i], l[i+1:]...), nil)
	}
	swap := func(i, j int) []byte {
		l := bytes.SplitAfter(bundle, []byte("\n"))
		l[i], l[j] = l[j], l[i]
		return bytes.Join(l, nil)
	}

	for _, tc := range []struct {
		name   string
		bundle []byte
		want   []string // distinctive parts of the error
	}{
		{"description", event3(func(l []byte) []byte {
			return replaceOnce(t, l, "User logged in to Codacy", "User logged in to Codacz")
		}), []string{"event 3", altered}},
		{"action", event3(func(l []byte) []byte { return replaceOnce(t, l, `"user.login"`, `"user.Login"`) }), []string{"event 3", altered}},
		{"repositoryName", event3(func(l []byte) []byte { return replaceOnce(t, l, "acme/api-3", "acme/api-4") }), []string{"event 3", altered}},
		{"entityId", event3(func(l []byte) []byte { return replaceOnce(t, l, "entity-3", "entity-9") }), []string{"event 3", altered}},
		{"timestamp", event3(func(l []byte) []byte { return bumpDigitAfter(t, l, "timestamp") }), []string{"event 3", altered}},
		{"receivedAt", event3(func(l []byte) []byte { return bumpDigitAfter(t, l, "receivedAt") }), []string{"event 3", altered}},
		{"details", event3(func(l []byte) []byte { return replaceOnce(t, l, "SEC-3", "SEC-4") }), []string{"event 3", altered}},
		{"actor email", event3(func(l []byte) []byte { return replaceOnce(t, l, "ana@acme.example", "anb@acme.example") }), []string{"event 3", altered}},
		{"actor role", event3(func(l []byte) []byte { return replaceOnce(t, l, `"organizationAdmin"`, `"organizationAdmim"`) }), []string{"event 3", altered}},
		{"ip address", event3(func(l []byte) []byte { return replaceOnce(t, l, "203.0.113.3", "203.0.113.4") }), []string{"event 3", altered}},
		{"user agent", event3(func(l []byte) []byte { return replaceOnce(t, l, "Mozilla/3.0", "Mozilla/4.0") }), []string{"event 3", altered}},
		{"result", event3(func(l []byte) []byte { return replaceOnce(t, l, `"succeed"`, `"failed"`) }), []string{"event 3", altered}},
		{"source", event3(func(l []byte) []byte { return replaceOnce(t, l, `"source":"UI"`, `"source":"API"`) }), []string{"event 3", altered}},
		{"id", event3(func(l []byte) []byte { return replaceOnce(t, l, "acme-evt-3", "acme-evt-9") }), []string{"event 3", altered}},
		{"salt", event3(func(l []byte) []byte {
			i := bytes.Index(l, []byte(`"salt":"`)) + len(`"salt":"`)
			l[i] = map[bool]byte{true: 'B', false: 'A'}[l[i] == 'A']
			return l
		}), []string{"event 3", altered}},
		{"organization", event3(func(l []byte) []byte { return replaceOnce(t, l, `"name":"acme"`, `"name":"acmf"`) }), []string{"event 3", "is not the checkpoint's log"}},
		{"sequence", event3(func(l []byte) []byte { return replaceOnce(t, l, `"sequence":3,`, `"sequence":2,`) }), []string{"out of order"}},

		{"gap", drop(3), []string{"event 3", "gap"}},
		// Retention keeps a purged event's leaf hash, and a complete bundle
		// holds its line: it starts at event 0.
		{"first event dropped", drop(1), []string{"event 1", "gap: events 0 to 0"}},
		{"last event dropped", drop(6), []string{"incomplete"}},
		{"duplicate", func() []byte {
			l := bytes.SplitAfter(bundle, []byte("\n"))
			return bytes.Join(append(l[:4:4], l[3:]...), nil)
		}(), []string{"out of order"}},
		{"out of order", swap(3, 4), []string{"event 3"}},

		{"checkpoint size", editLine(t, bundle, 0, func(l []byte) []byte { return replaceOnce(t, l, `\n6\n`, `\n5\n`) }), []string{"checkpoint does not verify"}},
		{"checkpoint root", editLine(t, bundle, 0, func(l []byte) []byte {
			b64 := base64.StdEncoding.EncodeToString(cp.Hash)
			return replaceOnce(t, l, b64[:8], map[bool]string{true: "BBBBBBBB", false: "AAAAAAAA"}[b64[:8] == "AAAAAAAA"])
		}), []string{"checkpoint does not verify"}},
		{"checkpoint re-signed by another key", withHeader(bundle, resigned.Note, true), []string{"checkpoint does not verify"}},
		{"events of another organization", withHeader(otherBundle, []byte(cp.Note), true), []string{"organization gh/other is not the checkpoint's log"}},
		{"not a bundle", []byte("hello\n"), []string{"bundle header"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "tampered.bundle.ndjson", tc.bundle)
			out, err := verifyCmd("--key", vkey, path)
			if err == nil {
				t.Fatalf("verify succeeded: %s", out)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), "FAILED") || strings.Contains(out, "OK") {
				t.Errorf("error %q, output %q", err, out)
			}
		})
	}

	// Swapped lines fail whichever way they are reported.
	if _, err := verifyCmd("--key", vkey, writeTemp(t, "swapped", swap(5, 6))); err == nil ||
		!strings.Contains(err.Error(), "out of order") && !strings.Contains(err.Error(), "gap") {
		t.Errorf("swapped last lines: %v", err)
	}

	// The re-signed checkpoint carries the same tree: only the key gives it away.
	if out, err := verifyCmd("--key", otherVkey, writeTemp(t, "resigned", withHeader(bundle, resigned.Note, true))); err != nil || !strings.Contains(out, "verified 6 events") {
		t.Errorf("re-signed bundle with the other key: %q, %v", out, err)
	}

	// The header's complete flag is not signed: a bundle marked partial may
	// lack events, and the verifier says that it is partial.
	partial := withHeader(drop(3), []byte(cp.Note), false)
	out, err := verifyCmd("--key", vkey, writeTemp(t, "partial", partial))
	if err != nil || !strings.Contains(out, "verified 5 events") || !strings.Contains(out, "partial") {
		t.Errorf("partial bundle: %q, %v", out, err)
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing.key")
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"keygen", "-o", path}, &out, &errOut); err != nil {
		t.Fatalf("keygen: %v (%s)", err, errOut.String())
	}
	vkey := strings.TrimSpace(out.String())
	v, err := merkle.ParseVerifierKey(vkey)
	if err != nil {
		t.Fatalf("keygen printed %q: %v", vkey, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	written, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(written), "PRIVATE+KEY+") || strings.Contains(vkey, "PRIVATE") {
		t.Errorf("key file %q, printed %q", written, vkey)
	}

	// It refuses to overwrite a key, and needs -o.
	if err := Run(context.Background(), []string{"keygen", "-o", path}, &out, &errOut); err == nil {
		t.Error("keygen overwrote an existing key file")
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, written) {
		t.Error("the key file changed")
	}
	if err := Run(context.Background(), []string{"keygen"}, &out, &errOut); err == nil {
		t.Error("keygen without -o succeeded")
	}

	// The printed key verifies what the file's key signs.
	k, err := merkle.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := merkle.Sign(k, "auditlog/gh/acme", 3, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := merkle.OpenCheckpoint(cp.Note, v, "auditlog/gh/acme"); err != nil {
		t.Errorf("the printed key does not verify the key's checkpoint: %v", err)
	}

	// A server given the key serves that verifier key and signs with it.
	s := MustRunService(t, fastCheckpoints, func(c *Config) { c.SigningKeyFile = path })
	if got, _ := s.MustLogKey(); got != vkey {
		t.Errorf("served log key %q, keygen printed %q", got, vkey)
	}
	if _, err := os.Stat(filepath.Join(s.Config.DataDir, "log-key")); err == nil {
		t.Error("the server created <data>/log-key although it was given a key")
	}
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "admin@acme.example", "organizationAdmin", false)
	s.MustIngest(tamperEvent("gh/acme", 0, "ana@acme.example"), tamperEvent("gh/acme", 1, "ana@acme.example"))
	s.MustWaitCheckpoint(tok, "gh/acme", 2)
	bundle := writeTemp(t, "b.ndjson", s.MustExport(tok, "gh/acme", "bundle"))
	if out, err := verifyCmd("--key", vkey, bundle); err != nil || !strings.Contains(out, "verified 2 events") {
		t.Errorf("verify with the printed key: %q, %v", out, err)
	}
}

// mustTamperStore opens the service's (closed) database with Pebble and
// rewrites the value of the one event whose value holds old, as an intruder
// with access to the disk could. It returns that event's sequence.
func mustTamperStore(tb testing.TB, dataDir, old, new string) int64 {
	tb.Helper()
	db, err := rawpebble.Open(filepath.Join(dataDir, "db"), &rawpebble.Options{Logger: quietPebble{}})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	it, err := db.NewIter(&rawpebble.IterOptions{LowerBound: []byte{'E'}, UpperBound: []byte{'E' + 1}})
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		if v := it.Value(); bytes.Contains(v, []byte(old)) {
			seq := int64(binary.BigEndian.Uint64(it.Key()[13:21])) // E|org|ts|seq
			if err := db.Set(bytes.Clone(it.Key()), bytes.Replace(v, []byte(old), []byte(new), 1), rawpebble.Sync); err != nil {
				tb.Fatal(err)
			}
			return seq
		}
	}
	tb.Fatalf("no event value holds %q", old)
	return 0
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)              {}
func (quietPebble) Errorf(string, ...any)             {}
func (quietPebble) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// copyDataDir copies a (closed) service's data directory.
func copyDataDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "copy")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		tb.Fatal(err)
	}
	return dst
}

func TestVerifyData(t *testing.T) {
	s := MustRunService(t, fastCheckpoints)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gl", "beta", "business")
	tok := s.MustMemberToken("gh", "acme", "admin@acme.example", "organizationAdmin", false)
	betaTok := s.MustMemberToken("gl", "beta", "admin@beta.example", "organizationAdmin", false)
	var batch []map[string]any
	for i := range 5 {
		batch = append(batch, tamperEvent("gh/acme", i, "ana@acme.example"))
	}
	batch = append(batch, tamperEvent("gl/beta", 0, "bea@beta.example"), tamperEvent("gl/beta", 1, "bea@beta.example"))
	s.MustIngest(batch...)
	s.MustWaitCheckpoint(tok, "gh/acme", 5)
	s.MustWaitCheckpoint(betaTok, "gl/beta", 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	dir := s.Config.DataDir

	out, err := verifyCmd("--data", dir)
	if err != nil {
		t.Fatalf("verify --data of an intact store: %v", err)
	}
	if !strings.HasPrefix(out, "OK") || !strings.Contains(out, "2 organizations, 7 events") {
		t.Errorf("verify --data output %q", out)
	}
	// With the verifier key given, and with another.
	vkey, err := merkle.LoadKey(filepath.Join(dir, "log-key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyCmd("--data", dir, "--key", vkey.VKey); err != nil {
		t.Errorf("verify --data --key: %v", err)
	}
	_, otherVkey, _ := merkle.GenerateKey("auditlog")
	if _, err := verifyCmd("--data", dir, "--key", otherVkey); err == nil || !strings.Contains(err.Error(), "checkpoint") {
		t.Errorf("verify --data with another key: %v", err)
	}

	for _, tc := range []struct {
		name, old, new string
		org            string
	}{
		{"repositoryName", "acme/api-3", "acme/api-X", "gh/acme"},
		{"actor email", "bea@beta.example", "eve@beta.example", "gl/beta"},
		{"details", `{"ticket":"SEC-2"}`, `{"ticket":"SEC-9"}`, "gh/acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dup := copyDataDir(t, dir)
			seq := mustTamperStore(t, dup, tc.old, tc.new)
			out, err := verifyCmd("--data", dup)
			if err == nil {
				t.Fatalf("verify --data of a tampered store: %s", out)
			}
			if want := fmt.Sprintf("organization %s, event %d", tc.org, seq); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		})
	}
	// The original is untouched and still verifies.
	if _, err := verifyCmd("--data", dir); err != nil {
		t.Errorf("verify --data of the original: %v", err)
	}
	if _, err := verifyCmd("--data", filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("verify --data of a missing directory succeeded")
	}
}

// mustFindInTree returns the files under dir that hold s.
func mustFindInTree(tb testing.TB, dir, s string) []string {
	tb.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			rel, _ := filepath.Rel(dir, path)
			found = append(found, rel)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return found
}

func TestErasure(t *testing.T) {
	s := MustRunService(t, fastCheckpoints)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gl", "beta", "business")
	ana := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	bea := s.MustMemberToken("gl", "beta", "bea@beta.example", "organizationAdmin", false)
	bobTok := s.MustMemberToken("gh", "acme", "bob@acme.example", "organizationAdmin", false)
	const bob, bobIP, bobUA = "bob@acme.example", "198.51.100.23", "BobAgent/2.1"
	bobEvent := func(org string, i int) map[string]any {
		e := tamperEvent(org, i, bob)
		e["ipAddress"], e["userAgent"] = bobIP, bobUA
		return e
	}
	s.MustIngest(
		tamperEvent("gh/acme", 0, "ana@acme.example"), bobEvent("gh/acme", 1),
		tamperEvent("gh/acme", 2, "ana@acme.example"), bobEvent("gh/acme", 3),
		bobEvent("gl/beta", 0), tamperEvent("gl/beta", 1, "carl@beta.example"),
	)
	cpAcme := s.MustWaitCheckpoint(ana, "gh/acme", 4)
	cpBeta := s.MustWaitCheckpoint(bea, "gl/beta", 2)
	vkey, verifier := s.MustLogKey()
	before := s.MustExport(ana, "gh/acme", "bundle")
	if !bytes.Contains(before, []byte(bob)) {
		t.Fatal("the bundle before the erasure does not show bob: the test would prove nothing")
	}
	s.MustDo(http.StatusOK, "GET", "/api/v1/user", nil, apiTok(bobTok)...)

	// Only the admin token erases.
	for _, tc := range []struct {
		who     string
		headers []string
		status  int
	}{
		{"no credential", nil, 401},
		{"garbage bearer", []string{"Authorization", "Bearer garbage"}, 401},
		{"garbage api-token", apiTok("garbage"), 401},
		{"an organization admin", apiTok(ana), 403},
		{"the user himself", apiTok(bobTok), 403},
	} {
		status, body, _ := s.Do("POST", "/api/v1/users/"+bob+"/erase", nil, tc.headers...)
		if status != tc.status {
			t.Errorf("erase by %s: %d %s, want %d", tc.who, status, body, tc.status)
		}
	}
	s.MustDo(http.StatusBadRequest, "POST", "/api/v1/users/not-an-email/erase", nil, admin()...)
	// Nothing was erased by the refused requests.
	if got := s.MustRead(ana, "gh", "acme", ""); !bytes.Contains(mustJSON(t, got), []byte(bob)) {
		t.Fatal("a refused erasure erased")
	}

	var res struct {
		Email        string `json:"email"`
		ErasedEvents int    `json:"erasedEvents"`
	}
	mustUnmarshal(t, s.MustDo(http.StatusOK, "POST", "/api/v1/users/Bob@ACME.example/erase", nil, admin()...), &res)
	if res.Email != bob || res.ErasedEvents != 3 {
		t.Errorf("erase: %+v, want %s and 3 events", res, bob)
	}

	var exports [][]byte
	// The Codacy read shows "redacted" for his events, and nothing else changed.
	read := s.MustRead(ana, "gh", "acme", "")
	exports = append(exports, mustJSON(t, read))
	emails := map[string]int{}
	for _, e := range read {
		if e["action"] != "organizations.auditlogs.export" { // exports are recorded, and ana exported
			emails[e["actor"].(map[string]any)["email"].(string)]++
		}
	}
	if emails[auditlog.Redacted] != 2 || emails["ana@acme.example"] != 2 || len(emails) != 2 {
		t.Errorf("actor emails after erasure: %v", emails)
	}
	// The exports: ndjson and csv show "redacted" for his email, IP and user agent.
	for _, org := range []struct{ name, tok string }{{"gh/acme", ana}, {"gl/beta", bea}} {
		nd := s.MustExport(org.tok, org.name, "ndjson")
		exports = append(exports, nd)
		redacted := 0
		for _, line := range bytes.Split(bytes.TrimSpace(nd), []byte("\n")) {
			var e auditlog.Event
			mustUnmarshal(t, line, &e)
			if e.Actor.Email == auditlog.Redacted {
				redacted++
				if e.IPAddress != auditlog.Redacted || e.UserAgent != auditlog.Redacted {
					t.Errorf("%s ndjson: erased event %d shows %q, %q", org.name, e.Sequence, e.IPAddress, e.UserAgent)
				}
			} else if e.IPAddress == auditlog.Redacted || e.UserAgent == auditlog.Redacted {
				t.Errorf("%s ndjson: event %d of someone else was redacted", org.name, e.Sequence)
			}
		}
		if want := map[string]int{"gh/acme": 2, "gl/beta": 1}[org.name]; redacted != want {
			t.Errorf("%s ndjson: %d redacted events, want %d", org.name, redacted, want)
		}

		c := s.MustExport(org.tok, org.name, "csv")
		exports = append(exports, c)
		rows, err := csv.NewReader(bytes.NewReader(c)).ReadAll()
		if err != nil {
			t.Fatalf("%s csv: %v", org.name, err)
		}
		col := map[string]int{}
		for i, name := range rows[0] {
			col[name] = i
		}
		redacted = 0
		for _, row := range rows[1:] {
			if row[col["actorEmail"]] == auditlog.Redacted {
				redacted++
				if row[col["ipAddress"]] != auditlog.Redacted || row[col["userAgent"]] != auditlog.Redacted {
					t.Errorf("%s csv: erased row %v", org.name, row)
				}
			}
		}
		if want := map[string]int{"gh/acme": 2, "gl/beta": 1}[org.name]; redacted != want {
			t.Errorf("%s csv: %d redacted rows, want %d", org.name, redacted, want)
		}

		// The bundle still verifies, erased events included, against the same checkpoint.
		b := s.MustExport(org.tok, org.name, "bundle")
		exports = append(exports, b)
		hdr, lines := bundleLines(t, b)
		// The exports are recorded (organizations.auditlogs.export), so the bundle's checkpoint
		// is a later one: the erasure changed no leaf if it is consistent with the one of before.
		old := map[string]servedCheckpoint{"gh/acme": cpAcme, "gl/beta": cpBeta}[org.name]
		cp := openServedCheckpoint(t, verifier, []byte(hdr.Checkpoint))
		var cons auditlog.ConsistencyProof
		mustUnmarshal(t, s.MustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/organizations/%s/consistency?from=%d&to=%d", org.name, old.Size, cp.Size), nil, apiTok(org.tok)...), &cons)
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, cp.Size, cons.Proof, old.Hash, cp.Hash); err != nil {
			t.Errorf("%s: the erasure changed the tree: the checkpoint of before is not consistent with the bundle's: %v", org.name, err)
		}
		erased := 0
		for _, l := range lines {
			if l.Event.Erased() {
				erased++
			}
		}
		if want := map[string]int{"gh/acme": 2, "gl/beta": 1}[org.name]; erased != want {
			t.Errorf("%s bundle: %d erased lines, want %d", org.name, erased, want)
		}
		out, err := verifyCmd("--key", vkey, writeTemp(t, "bundle", b))
		if err != nil || !strings.Contains(out, fmt.Sprintf("verified %d events", len(lines))) {
			t.Errorf("%s: verify the bundle after the erasure: %q, %v", org.name, out, err)
		}
	}
	// A bundle exported before the erasure verifies too: the leaves did not change.
	if _, err := verifyCmd("--key", vkey, writeTemp(t, "before", before)); err != nil {
		t.Errorf("verify the bundle of before the erasure: %v", err)
	}
	for i, x := range exports {
		for _, secret := range []string{bob, bobIP, bobUA} {
			if bytes.Contains(x, []byte(secret)) {
				t.Errorf("export %d still holds %q", i, secret)
			}
		}
	}

	// His token and membership are gone; erasing again, or someone unknown, erases nothing.
	s.MustDo(http.StatusUnauthorized, "GET", "/api/v1/user", nil, apiTok(bobTok)...)
	mustUnmarshal(t, s.MustDo(http.StatusOK, "POST", "/api/v1/users/"+bob+"/erase", nil, admin()...), &res)
	if res.ErasedEvents != 0 {
		t.Errorf("second erasure erased %d events", res.ErasedEvents)
	}
	mustUnmarshal(t, s.MustDo(http.StatusOK, "POST", "/api/v1/users/nobody@nowhere.example/erase", nil, admin()...), &res)
	if res.ErasedEvents != 0 || res.Email != "nobody@nowhere.example" {
		t.Errorf("erasure of an unknown user: %+v", res)
	}

	// The store still verifies, and his values are in no file of it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// 6 ingested events and 7 recorded exports (4 of gh/acme, 3 of gl/beta).
	if out, err := verifyCmd("--data", s.Config.DataDir); err != nil || !strings.Contains(out, "13 events") {
		t.Errorf("verify --data after the erasure: %q, %v", out, err)
	}
	for _, secret := range []string{bob, bobIP, bobUA} {
		for _, f := range mustFindInTree(t, s.Config.DataDir, secret) {
			t.Errorf("%q is still in %s", secret, f)
		}
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
