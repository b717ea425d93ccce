package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

type listPage struct {
	Data       []auditlog.Event `json:"data"`
	Pagination struct {
		Cursor string `json:"cursor"`
		Limit  int    `json:"limit"`
	} `json:"pagination"`
}

func (s *TestService) MustList(tok, org, params string) listPage {
	s.tb.Helper()
	var p listPage
	mustUnmarshal(s.tb, s.MustDo(200, "GET", "/api/v1/organizations/"+org+"/events"+params, nil, apiTok(tok)...), &p)
	return p
}

// TestListPaging: keyset cursors page through every event exactly once, in
// list order, even while events keep arriving, including ones whose
// timestamps fall inside the pages already read.
func TestListPaging(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var batch []map[string]any
	for i := 0; i < 95; i++ {
		// Groups of three share a timestamp: the sequence breaks the tie.
		batch = append(batch, event("id", fmt.Sprint("e", i), "timestamp", base.Add(time.Duration(i/3)*time.Minute).Format(time.RFC3339)))
	}
	s.MustIngest(batch...)

	var (
		wg   sync.WaitGroup
		stop = make(chan struct{})
	)
	wg.Add(1)
	go func() { // concurrent ingest of new and back-dated events
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ts := base.Add(time.Duration(i%40) * time.Minute).Add(17 * time.Second)
			s.MustIngest(event("id", fmt.Sprint("late", i), "timestamp", ts.Format(time.RFC3339)))
		}
	}()
	seen := map[string]bool{}
	var prev *auditlog.Event
	cursor, pages := "", 0
	for {
		params := "?limit=7&q=" + url.QueryEscape("created:<2026-03-02 -entity:late")
		if cursor != "" {
			params += "&cursor=" + cursor
		}
		p := s.MustList(tok, "gh/acme", params)
		pages++
		if p.Pagination.Limit != 7 || len(p.Data) > 7 {
			t.Fatalf("page %d: limit %d, %d events", pages, p.Pagination.Limit, len(p.Data))
		}
		for i := range p.Data {
			e := &p.Data[i]
			if strings.HasPrefix(e.ID, "e") {
				if seen[e.ID] {
					t.Fatalf("event %s repeated", e.ID)
				}
				seen[e.ID] = true
			}
			if prev != nil && (e.Timestamp.After(prev.Timestamp) || e.Timestamp.Equal(prev.Timestamp) && e.Sequence >= prev.Sequence) {
				t.Fatalf("out of order: %s/%d after %s/%d", e.Timestamp, e.Sequence, prev.Timestamp, prev.Sequence)
			}
			prev = e
		}
		if p.Pagination.Cursor == "" {
			break
		}
		cursor = p.Pagination.Cursor
	}
	close(stop)
	wg.Wait()
	if len(seen) != 95 {
		t.Fatalf("paging saw %d of the 95 events that existed when it began", len(seen))
	}
	// The last page has no cursor; an exact multiple ends with an empty page or none.
	all := s.MustList(tok, "gh/acme", "?limit=1000")
	if all.Pagination.Cursor != "" || len(all.Data) < 95 {
		t.Errorf("one page of 1000: %d events, cursor %q", len(all.Data), all.Pagination.Cursor)
	}
	if def := s.MustList(tok, "gh/acme", ""); def.Pagination.Limit != 100 {
		t.Errorf("default limit %d, want 100", def.Pagination.Limit)
	}
}

// TestListBadInput: bad limits, tampered and foreign cursors and invalid
// queries are 400s that say what is wrong, never another organization's data.
func TestListBadInput(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gh", "beta", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	s.MustMemberToken("gh", "beta", "ana@acme.example", "organizationAdmin", false)
	var batch []map[string]any
	for i := 0; i < 5; i++ {
		batch = append(batch, event(), event("organization", map[string]any{"provider": "gh", "name": "beta"}, "entityId", "beta-secret"))
	}
	s.MustIngest(batch...)
	betaCursor := s.MustList(tok, "gh/beta", "?limit=2").Pagination.Cursor
	acmeCursor := s.MustList(tok, "gh/acme", "?limit=2").Pagination.Cursor
	if betaCursor == "" || acmeCursor == "" {
		t.Fatal("no cursors")
	}
	tampered := []byte(acmeCursor)
	tampered[5] ^= 1
	for _, tc := range []struct{ params, want string }{
		{"?limit=0", "limit"},
		{"?limit=1001", "limit"},
		{"?limit=ten", "limit"},
		{"?cursor=" + betaCursor, "invalid cursor"},
		{"?cursor=" + string(tampered), "invalid cursor"},
		{"?cursor=garbage", "invalid cursor"},
		{"?cursor=" + strings.Repeat("A", 5000), "invalid cursor"},
		{"?q=" + url.QueryEscape("action:user.dance"), "user.dance"},
		{"?q=" + url.QueryEscape("colour:red"), "colour"},
		{"?q=" + url.QueryEscape(`repo:"unterminated`), "q"},
	} {
		status, body, _ := s.Do("GET", "/api/v1/organizations/gh/acme/events"+tc.params, nil, apiTok(tok)...)
		var e map[string]any
		_ = json.Unmarshal(body, &e)
		msg, _ := e["message"].(string)
		if status != 400 || e["error"] != "BadRequest" || !strings.Contains(msg, tc.want) || strings.Contains(string(body), "beta-secret") {
			t.Errorf("%s: %d %s, want 400 mentioning %q", tc.params, status, body, tc.want)
		}
	}
}

// TestListQuery: the search language filters the list and the exports.
func TestListQuery(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	day := func(d int) string { return time.Date(2026, 1, d, 10, 0, 0, 0, time.UTC).Format(time.RFC3339) }
	s.MustIngest(
		event("id", "a", "action", "organizations.gatepolicies.create", "timestamp", day(4), "details", map[string]any{"policy": "Strict Gate"}),
		event("id", "b", "action", "organizations.gatepolicies.delete", "timestamp", day(5), "result", "failed"),
		event("id", "c", "action", "repositories.tools.update", "timestamp", day(5), "repositoryName", "api", "actor", map[string]any{"email": "bob@acme.example"}),
		event("id", "d", "action", "user.login", "timestamp", day(6), "source", "API"),
	)
	ids := func(p listPage) string {
		var out []string
		for _, e := range p.Data {
			out = append(out, e.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ q, want string }{
		{"action:organizations.gatepolicies.*", "b,a"},
		{"action:user.login", "d"},
		{"-action:organizations.gatepolicies.*", "d,c"},
		{"actor:bob@acme.example", "c"},
		{"repo:api", "c"},
		{"result:failed", "b"},
		{"source:API", "d"},
		{"level:repository", "c"},
		{"created:2026-01-05", "c,b"},
		{"created:>=2026-01-05", "d,c,b"},
		{"created:<2026-01-05", "a"},
		{"created:2026-01-04..2026-01-05", "c,b,a"},
		{"strict", "a"},
		{"gate*", "b,a"}, // "Gate policy deleted" and details "Strict Gate"
		{"stric*", "a"},
		{"action:organizations.gatepolicies.* result:succeed", "a"},
		{"nothing-matches-this", ""},
	} {
		if got := ids(s.MustList(tok, "gh/acme", "?q="+url.QueryEscape(tc.q))); got != tc.want {
			t.Errorf("q=%s: %q, want %q", tc.q, got, tc.want)
		}
	}
	// Exports take the same q; a filtered bundle is not complete.
	body := s.MustDo(200, "GET", "/api/v1/organizations/gh/acme/events/export?format=ndjson&q="+url.QueryEscape("created:2026-01-05"), nil, apiTok(tok)...)
	if n := strings.Count(string(body), "\n"); n != 2 {
		t.Errorf("filtered ndjson export has %d lines, want 2:\n%s", n, body)
	}
	s.MustWaitCheckpoint(tok, "gh/acme", 4)
	bundle := s.MustDo(200, "GET", "/api/v1/organizations/gh/acme/events/export?format=bundle&q="+url.QueryEscape("result:failed"), nil, apiTok(tok)...)
	lines := strings.Split(strings.TrimSpace(string(bundle)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"complete":false`) {
		t.Errorf("filtered bundle:\n%s", bundle)
	}
}
