package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
)

type batchError struct {
	Error   string                `json:"error"`
	Message string                `json:"message"`
	Details []auditlog.EventError `json:"details"`
}

// TestIngestValidation checks each rule of SPEC §4 through the API: one bad
// event in a batch of good ones is named by index, and nothing is stored.
func TestIngestValidation(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	future := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }

	for _, tc := range []struct {
		name   string
		event  map[string]any
		reason string // a substring of the reason
	}{
		{"missing organization", event("organization", nil), "organization is required"},
		{"unknown organization", event("organization", map[string]any{"provider": "gh", "name": "nope"}), "organization gh/nope does not exist"},
		{"unknown provider", event("organization", map[string]any{"provider": "svn", "name": "acme"}), "unknown provider"},
		{"organization not an object", event("organization", "gh/acme"), "organization must be an object"},
		{"missing action", event("action", nil), "action is required"},
		{"unknown action", event("action", "user.dance"), `unknown action "user.dance"`},
		{"action not a string", event("action", 42), "action must be a string"},
		{"missing actor email", event("actor", map[string]any{"role": "organizationAdmin"}), "actor.email is required"},
		{"bad actor email", event("actor", map[string]any{"email": "not-an-email"}), "actor.email"},
		{"bad actor role", event("actor", map[string]any{"email": "a@b.c", "role": "owner"}), "invalid actor.role"},
		{"bad result", event("result", "ok"), "invalid result"},
		{"bad source", event("source", "CLI"), "invalid source"},
		{"timestamp not RFC 3339", event("timestamp", "yesterday"), "not an RFC 3339"},
		{"timestamp as a number", event("timestamp", 1700000000000), "timestamp must be a string"},
		{"timestamp too far in the future", event("timestamp", future(6*time.Minute)), "in the future"},
		{"details not an object", event("details", []any{1, 2}), "details must be a JSON object"},
		{"details too large", event("details", map[string]any{"x": strings.Repeat("a", 64<<10)}), "larger than 64 KiB"},
		{"id too long", event("id", strings.Repeat("i", 129)), "id is longer than 128"},
		{"bad ip address", event("ipAddress", "999.1.1.1"), "not an IP address"},
		{"unknown field", event("severity", "high"), `unknown field "severity"`},
		{"server field", event("sequence", 3), `unknown field "sequence"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := []map[string]any{event(), tc.event, event()}
			status, body, _ := s.Do("POST", "/api/v1/events", batch, admin()...)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", status, body)
			}
			var e batchError
			mustUnmarshal(t, body, &e)
			if e.Error != "UnprocessableEntity" || len(e.Details) != 1 || e.Details[0].Index != 1 || !strings.Contains(e.Details[0].Reason, tc.reason) {
				t.Errorf("got %s\nwant index 1 with reason containing %q", body, tc.reason)
			}
		})
	}
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != 0 {
		t.Fatalf("rejected batches stored %d events", len(got))
	}

	// Every bad event is listed, not only the first.
	status, body, _ := s.Do("POST", "/api/v1/events", []map[string]any{event("action", "x"), event(), event("result", "y")}, admin()...)
	var e batchError
	mustUnmarshal(t, body, &e)
	if status != 422 || len(e.Details) != 2 || e.Details[0].Index != 0 || e.Details[1].Index != 2 {
		t.Errorf("two bad events: %d %s", status, body)
	}

	// Accepted edge values.
	res := s.MustIngest(
		event("timestamp", future(4*time.Minute)),
		event("timestamp", "2001-02-03T04:05:06.789+02:00"),
		event("id", strings.Repeat("i", 128), "details", map[string]any{"x": strings.Repeat("a", 60<<10)}),
		event("ipAddress", "2001:db8::7", "actor", map[string]any{"email": "Mixed.Case@Acme.Example", "role": "organizationManager"}),
		event("details", nil, "result", "rejected", "source", "API"),
	)
	if res.Accepted != 5 {
		t.Fatalf("accepted %d, want 5", res.Accepted)
	}
	got := s.MustRead(tok, "gh", "acme", "?from=0&to="+ms(time.Now().Add(time.Hour)))
	var old map[string]any
	for _, g := range got {
		if strings.HasPrefix(g["timestamp"].(string), "2001") {
			old = g
		}
	}
	if old == nil || old["timestamp"] != "2001-02-03T02:05:06.789Z" {
		t.Errorf("history import timestamp not stored in UTC: %v", old)
	}
}

// TestIngestBadBodies: malformed or oversized bodies get a clear ApiError and store nothing.
func TestIngestBadBodies(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	one, _ := json.Marshal(event())

	many := func(n int) []byte {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(one)
		}
		b.WriteByte(']')
		return b.Bytes()
	}
	huge := []byte(`[` + string(one[:len(one)-1]) + `,"description":"` + strings.Repeat("x", 33<<20) + `"}]`)

	for _, tc := range []struct {
		name    string
		body    []byte
		headers []string
		status  int
		errName string
	}{
		{"empty body", nil, admin(), 400, "BadRequest"},
		{"not JSON", []byte("hello"), admin(), 400, "BadRequest"},
		{"an object, not an array", one, admin(), 400, "BadRequest"},
		{"truncated", one[:20], admin(), 400, "BadRequest"},
		{"truncated array", []byte("[" + string(one) + ","), admin(), 400, "BadRequest"},
		{"empty array", []byte("[]"), admin(), 400, "BadRequest"},
		{"trailing garbage", []byte("[" + string(one) + "] x"), admin(), 400, "BadRequest"},
		{"too many events", many(auditlog.MaxBatchEvents + 1), admin(), 413, "PayloadTooLarge"},
		{"too many bytes", huge, admin(), 413, "PayloadTooLarge"},
		{"no credential", many(1), nil, 401, "Unauthorized"},
		{"garbage credential", many(1), []string{"Authorization", "Bearer garbage"}, 401, "Unauthorized"},
		{"account token", many(1), apiTok(tok), 403, "Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := s.Do("POST", "/api/v1/events", tc.body, tc.headers...)
			var e batchError
			if err := json.Unmarshal(body, &e); err != nil || status != tc.status || e.Error != tc.errName || e.Message == "" {
				t.Errorf("got %d %.300s, want %d %s", status, body, tc.status, tc.errName)
			}
		})
	}
	// The largest batch is accepted.
	status, body, _ := s.Do("POST", "/api/v1/events", many(auditlog.MaxBatchEvents), admin()...)
	if status != 200 {
		t.Fatalf("10,000 events: %d %.300s", status, body)
	}
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != auditlog.MaxBatchEvents {
		t.Errorf("stored %d events, want exactly the accepted batch of %d", len(got), auditlog.MaxBatchEvents)
	}
}

func TestIngestNDJSON(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	var b bytes.Buffer
	for i := 0; i < 3; i++ {
		line, _ := json.Marshal(event("id", fmt.Sprint("n", i)))
		b.Write(line)
		b.WriteString("\n\n")
	}
	var res auditlog.AppendResult
	mustUnmarshal(t, s.MustDo(200, "POST", "/api/v1/events", b.Bytes(), append(admin(), "Content-Type", "application/x-ndjson")...), &res)
	if res.Accepted != 3 || res.Events[2].ID != "n2" {
		t.Errorf("NDJSON result %+v", res)
	}
	// A bad line is named by its event index.
	bad := `{"organization":{"provider":"gh","name":"acme"},"action":"user.login","actor":{"email":"a@b.c"}}` + "\n{not json}\n"
	status, body, _ := s.Do("POST", "/api/v1/events", bad, append(admin(), "Content-Type", "application/x-ndjson")...)
	var e batchError
	mustUnmarshal(t, body, &e)
	if status != 422 || len(e.Details) != 1 || e.Details[0].Index != 1 {
		t.Errorf("bad NDJSON line: %d %s", status, body)
	}
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != 3 {
		t.Errorf("%d events stored, want 3", len(got))
	}
}

// TestIngestIdempotent: a retried event with the same id stores nothing new
// and answers with the original sequence.
func TestIngestIdempotent(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gh", "beta", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)

	first := s.MustIngest(event("id", "a"), event("id", "b"), event())
	want := auditlog.AppendResult{Accepted: 3, Events: []auditlog.Appended{{ID: "a", Sequence: 0}, {ID: "b", Sequence: 1}, {ID: first.Events[2].ID, Sequence: 2}}}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first (-want +got):\n%s", diff)
	}
	if len(first.Events[2].ID) != 36 {
		t.Errorf("server-assigned id %q is not a UUID", first.Events[2].ID)
	}
	again := s.MustIngest(event("id", "b"), event("id", "c"), event("id", "c"), event("id", "a", "action", "user.tokens.read"))
	want = auditlog.AppendResult{Accepted: 1, Duplicates: 3, Events: []auditlog.Appended{{ID: "b", Sequence: 1}, {ID: "c", Sequence: 3}, {ID: "c", Sequence: 3}, {ID: "a", Sequence: 0}}}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("retry (-want +got):\n%s", diff)
	}
	// The same id in another organization is another event.
	other := s.MustIngest(event("id", "a", "organization", map[string]any{"provider": "gh", "name": "beta"}))
	if other.Accepted != 1 || other.Events[0].Sequence != 0 {
		t.Errorf("other org: %+v", other)
	}
	// Still recognized after a restart.
	s = s.Restart()
	if res := s.MustIngest(event("id", "a"), event("id", first.Events[2].ID)); res.Accepted != 0 || res.Duplicates != 2 {
		t.Errorf("after restart: %+v", res)
	}
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != 4 {
		t.Errorf("%d events stored, want 4", len(got))
	}
}

// TestRestartDurability: what was acknowledged is there after a restart, and
// sequences continue without a gap.
func TestRestartDurability(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	s.MustIngest(event(), event(), event())
	s = s.Restart()
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != 3 {
		t.Fatalf("after restart %d events, want 3", len(got))
	}
	if res := s.MustIngest(event()); res.Events[0].Sequence != 3 {
		t.Errorf("next sequence after restart = %d, want 3", res.Events[0].Sequence)
	}
	s.MustDo(200, "GET", "/api/v1/organizations/gh/acme/members/ana@acme.example", nil, admin()...)
}

// TestGroupCommit: concurrent single-event requests share commits, and every
// acknowledged event is stored exactly once with gapless sequences.
func TestGroupCommit(t *testing.T) {
	// The default ingest admission: n single-event requests weigh far less
	// than its budget, so all of them reach the writer at once.
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	const n = 400
	body, _ := json.Marshal([]map[string]any{event()})
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		seqs  = map[int64]bool{}
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", s.URL+"/api/v1/events", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var res auditlog.AppendResult
			if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 {
				t.Errorf("status %d: %v", resp.StatusCode, err)
				return
			}
			mu.Lock()
			seqs[res.Events[0].Sequence] = true
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	for i := int64(0); i < n; i++ {
		if !seqs[i] {
			t.Fatalf("sequence %d missing: sequences are not gapless", i)
		}
	}
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != n {
		t.Errorf("%d events stored, want %d", len(got), n)
	}
	commits, requests := commitStats(t, s)
	t.Logf("%d requests in %d commits", int(requests), int(commits))
	if requests < n || commits >= requests {
		t.Errorf("%v append requests took %v commits: concurrent requests did not share commits", requests, commits)
	}
}

// commitStats reads the group-commit histogram from /metrics: how many commits, and how many requests they carried.
func commitStats(t *testing.T, s *TestService) (commits, requests float64) {
	t.Helper()
	metrics := string(s.MustDo(200, "GET", "/metrics", nil))
	for _, line := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, "auditlog_store_commit_requests_count "); ok {
			fmt.Sscan(v, &commits)
		}
		if v, ok := strings.CutPrefix(line, "auditlog_store_commit_requests_sum "); ok {
			fmt.Sscan(v, &requests)
		}
	}
	return commits, requests
}
