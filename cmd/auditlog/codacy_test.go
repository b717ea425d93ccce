package main

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCodacyReadAuthorization holds the v3 read to every rule of SPEC §3.
func TestCodacyReadAuthorization(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gh", "free-co", "free")
	s.MustCreateOrg("gh", "pro-co", "pro")
	s.MustCreateOrg("gh", "other", "business")
	s.MustIngest(event(), event("organization", map[string]any{"provider": "gh", "name": "other"}))

	tokens := map[string]string{
		"admin":    s.MustMemberToken("gh", "acme", "admin@acme.example", "organizationAdmin", false),
		"manager":  s.MustMemberToken("gh", "acme", "manager@acme.example", "organizationMember", true),
		"freeAdm":  s.MustMemberToken("gh", "free-co", "admin@free.example", "organizationAdmin", false),
		"proAdm":   s.MustMemberToken("gh", "pro-co", "admin@pro.example", "organizationAdmin", false),
		"outsider": s.MustMemberToken("gh", "other", "admin@other.example", "organizationAdmin", false),
		"nobody":   s.MustToken("nobody@example.com"),
	}
	for _, role := range []string{"repositoryRead", "repositoryWrite", "repositoryAdmin", "organizationMember"} {
		tokens[role] = s.MustMemberToken("gh", "acme", strings.ToLower(role)+"@acme.example", role, false)
	}
	// A manager of a free org is refused for the plan too.
	tokens["freeMgr"] = s.MustMemberToken("gh", "free-co", "mgr@free.example", "repositoryRead", true)

	const notFound = `{"error":"NotFound","message":"organization not found","actions":[]}`
	const roleMsg = `{"error":"Forbidden","message":"reading the audit log requires the organizationAdmin role or the organization manager role","actions":[]}`
	const planMsg = `{"error":"Forbidden","message":"the audit log is only available on the Business plan","actions":[]}`
	for _, tc := range []struct {
		name    string
		org     string
		headers []string
		status  int
		body    string // exact body, if set
	}{
		{"no credential", "gh/acme", nil, 401, ""},
		{"garbage token", "gh/acme", apiTok("garbage"), 401, ""},
		{"garbage bearer", "gh/acme", []string{"Authorization", "Bearer nope"}, 401, ""},
		{"admin token cannot read", "gh/acme", admin(), 403, ""},
		{"organization admin", "gh/acme", apiTok(tokens["admin"]), 200, ""},
		{"admin via bearer", "gh/acme", []string{"Authorization", "Bearer " + tokens["admin"]}, 200, ""},
		{"manager", "gh/acme", apiTok(tokens["manager"]), 200, ""},
		{"repositoryRead", "gh/acme", apiTok(tokens["repositoryRead"]), 403, roleMsg},
		{"repositoryWrite", "gh/acme", apiTok(tokens["repositoryWrite"]), 403, roleMsg},
		{"repositoryAdmin", "gh/acme", apiTok(tokens["repositoryAdmin"]), 403, roleMsg},
		{"organizationMember", "gh/acme", apiTok(tokens["organizationMember"]), 403, roleMsg},
		{"free plan admin", "gh/free-co", apiTok(tokens["freeAdm"]), 403, planMsg},
		{"free plan manager", "gh/free-co", apiTok(tokens["freeMgr"]), 403, planMsg},
		{"pro plan admin", "gh/pro-co", apiTok(tokens["proAdm"]), 403, planMsg},
		{"admin of another org", "gh/acme", apiTok(tokens["outsider"]), 404, notFound},
		{"user of no org", "gh/acme", apiTok(tokens["nobody"]), 404, notFound},
		{"unknown organization", "gh/does-not-exist", apiTok(tokens["admin"]), 404, notFound},
		{"unknown provider", "xx/acme", apiTok(tokens["admin"]), 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := s.Do("GET", "/api/v3/organizations/"+tc.org+"/audit", nil, tc.headers...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.body != "" && strings.TrimSpace(string(body)) != tc.body {
				t.Errorf("body %s\nwant %s", body, tc.body)
			}
			if status == 401 {
				var e map[string]any
				mustUnmarshal(t, body, &e)
				if e["error"] != "Unauthorized" || e["code"] != "Unauthorized" || e["message"] == "" {
					t.Errorf("401 body = %s", body)
				}
			}
			if status == 200 {
				var events []map[string]any
				mustUnmarshal(t, body, &events)
				if len(events) != 1 {
					t.Errorf("got %d events, want the organization's 1", len(events))
				}
			}
		})
	}
}

// TestCodacyReadShape checks the exact Codacy AuditLog fields, the order and the range bounds.
func TestCodacyReadShape(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	base := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return base.Add(d).Format("2006-01-02T15:04:05.000Z07:00") }
	s.MustIngest(
		event("id", "e0", "timestamp", at(0), "action", "repositories.tools.update", "repositoryName", "api",
			"entityId", "tool-7", "details", map[string]any{"tool": "eslint", "enabled": false}, "source", "API",
			"result", "failed", "ipAddress", "2001:db8::1", "userAgent", "curl/8"),
		event("id", "e1", "timestamp", at(time.Millisecond)),
		event("id", "e2", "timestamp", at(time.Second), "entityId", "e2"),
		event("id", "e3", "timestamp", at(time.Second), "entityId", "e3"), // same timestamp: higher sequence first
		event("id", "e4", "timestamp", at(-time.Hour)),                    // history import, out of order
	)
	all := s.MustRead(tok, "gh", "acme", "")
	var got []string
	for _, e := range all {
		got = append(got, e["timestamp"].(string))
	}
	want := []string{at(time.Second), at(time.Second), at(time.Millisecond), at(0), at(-time.Hour)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	// Equal timestamps: sequence descending. e3 was stored after e2.
	if all[0]["entityId"] != "e3" || all[1]["entityId"] != "e2" {
		t.Errorf("equal timestamps not newest sequence first: %v, %v", all[0]["entityId"], all[1]["entityId"])
	}
	raw := s.MustDo(200, "GET", "/api/v3/organizations/gh/acme/audit", nil, apiTok(tok)...)

	first := all[3] // e0
	var keys []string
	for k := range first {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"action", "actor", "description", "details", "entityId", "repositoryName", "result", "source", "timestamp"}, keys); diff != "" {
		t.Errorf("AuditLog fields (-want +got):\n%s", diff)
	}
	wantFirst := map[string]any{
		"actor":  map[string]any{"email": "ana@acme.example", "role": "organizationAdmin"},
		"action": "repositories.tools.update", "result": "failed", "timestamp": at(0), "source": "API",
		"repositoryName": "api", "description": "Can be change parameters or disable/enable tool",
		"details": map[string]any{"tool": "eslint", "enabled": false}, "entityId": "tool-7",
	}
	if diff := cmp.Diff(wantFirst, first); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(raw), `"timestamp":"2025-03-10T12:00:00.000Z"`) {
		t.Errorf("timestamps not in millisecond UTC form: %.300s", raw)
	}

	// Inclusive bounds at exact milliseconds.
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"?from=" + ms(base) + "&to=" + ms(base), 1},
		{"?from=" + ms(base) + "&to=" + ms(base.Add(time.Millisecond)), 2},
		{"?from=" + ms(base.Add(time.Millisecond)) + "&to=" + ms(base.Add(time.Second-time.Millisecond)), 1},
		{"?from=" + ms(base.Add(time.Second)), 2},
		{"?from=" + ms(base.Add(time.Second+time.Millisecond)), 0},
		{"?to=" + ms(base.Add(-time.Hour)), 1},
		{"?to=" + ms(base.Add(-time.Hour-time.Millisecond)), 0},
		{"?from=0", 5},
	} {
		if got := s.MustRead(tok, "gh", "acme", tc.query); len(got) != tc.want {
			t.Errorf("%s: %d events, want %d", tc.query, len(got), tc.want)
		}
	}
	// An empty range is an empty array, not null.
	if body := s.MustDo(200, "GET", "/api/v3/organizations/gh/acme/audit?from=1&to=2", nil, apiTok(tok)...); strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("empty range body = %q, want []", body)
	}
	// to defaults to now: an event up to 5 minutes in the future is stored but not yet listed.
	s.MustIngest(event("timestamp", time.Now().Add(4*time.Minute).UTC().Format(time.RFC3339)))
	if got := s.MustRead(tok, "gh", "acme", ""); len(got) != 5 {
		t.Errorf("default to=now listed %d events, want 5", len(got))
	}

	// Bad from/to.
	for _, q := range []string{"?from=abc", "?to=1.5", "?from=10&to=9", "?from=-1", "?to=99999999999999999999"} {
		status, body, _ := s.Do("GET", "/api/v3/organizations/gh/acme/audit"+q, nil, apiTok(tok)...)
		var e map[string]any
		_ = json.Unmarshal(body, &e)
		if status != http.StatusBadRequest || e["error"] != "BadRequest" || e["message"] == "" {
			t.Errorf("%s: %d %s, want a 400 ApiError", q, status, body)
		}
	}
}
