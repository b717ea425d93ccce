package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type activityDay struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

type activity struct {
	From  string        `json:"from"`
	To    string        `json:"to"`
	Total int           `json:"total"`
	Days  []activityDay `json:"days"`
}

// GET .../events/activity counts the events of each UTC day of a bounded
// range, filtered by q, for the readers of the log.
func TestActivity(t *testing.T) {
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)
	day := func(d string, hms string) string { return d + "T" + hms + "Z" }
	s.MustIngest(
		event("timestamp", day("2026-01-05", "00:00:00.000")),
		event("timestamp", day("2026-01-05", "23:59:59.999"), "result", "failed"),
		event("timestamp", day("2026-01-07", "12:00:00"), "result", "failed"),
		event("timestamp", day("2026-01-08", "00:00:00"), "result", "failed"), // after the range below
		event("timestamp", day("2026-01-04", "23:59:59.999")),                 // before it
	)
	get := func(query url.Values) activity {
		t.Helper()
		var a activity
		mustUnmarshal(t, s.MustDo(http.StatusOK, "GET", "/api/v1/organizations/gh/acme/events/activity?"+query.Encode(), nil, apiTok(tok)...), &a)
		return a
	}

	got := get(url.Values{"from": {"2026-01-05"}, "to": {"2026-01-07"}})
	want := activity{From: "2026-01-05", To: "2026-01-07", Total: 3,
		Days: []activityDay{{"2026-01-05", 2}, {"2026-01-06", 0}, {"2026-01-07", 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("activity (-want +got):\n%s", diff)
	}
	got = get(url.Values{"from": {"2026-01-05"}, "to": {"2026-01-07"}, "q": {"result:failed"}})
	want = activity{From: "2026-01-05", To: "2026-01-07", Total: 2,
		Days: []activityDay{{"2026-01-05", 1}, {"2026-01-06", 0}, {"2026-01-07", 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("activity of result:failed (-want +got):\n%s", diff)
	}

	// The default: the 90 days that end today (UTC).
	got = get(nil)
	today := time.Now().UTC()
	if got.To != today.Format(time.DateOnly) || got.From != today.AddDate(0, 0, -89).Format(time.DateOnly) || len(got.Days) != 90 {
		t.Errorf("default range %s..%s with %d days, want the 90 days ending %s", got.From, got.To, len(got.Days), today.Format(time.DateOnly))
	}
	// A full year, leap day included, is allowed.
	if got := get(url.Values{"from": {"2024-01-01"}, "to": {"2024-12-31"}}); len(got.Days) != 366 || got.Days[59].Day != "2024-02-29" {
		t.Errorf("2024: %d days, day 60 is %s", len(got.Days), got.Days[59].Day)
	}

	for _, q := range []string{
		"from=2026-01-08&to=2026-01-07", // from after to
		"from=2024-01-01&to=2025-01-01", // 367 days
		"from=2026-1-5",                 // not YYYY-MM-DD
		"to=2026-01-07T00:00:00Z",       // a datetime
		"from=2026-01-05&q=bogus:1",     // a bad query
		"from=2026-01-05&to=2026-02-30", // no such day
		"from=1969-12-31&to=1970-01-01", // before 1970
	} {
		code, body, _ := s.Do("GET", "/api/v1/organizations/gh/acme/events/activity?"+q, nil, apiTok(tok)...)
		var e struct{ Error, Message string }
		_ = json.Unmarshal(body, &e)
		if code != http.StatusBadRequest || e.Error != "BadRequest" || e.Message == "" {
			t.Errorf("?%s: %d %s, want 400", q, code, body)
		}
	}

	// The same access rules as the list.
	s.MustCreateOrg("gh", "small", "free")
	free := s.MustMemberToken("gh", "small", "bo@small.example", "organizationAdmin", false)
	reader := s.MustMemberToken("gh", "acme", "cy@acme.example", "repositoryRead", false)
	for _, c := range []struct {
		path string
		tok  string
		want int
	}{
		{"/api/v1/organizations/gh/acme/events/activity", "", http.StatusUnauthorized},
		{"/api/v1/organizations/gh/acme/events/activity", reader, http.StatusForbidden},
		{"/api/v1/organizations/gh/small/events/activity", free, http.StatusForbidden},
		{"/api/v1/organizations/gh/acme/events/activity", free, http.StatusNotFound},
		{"/api/v1/organizations/gh/nope/events/activity", tok, http.StatusNotFound},
	} {
		var h []string
		if c.tok != "" {
			h = apiTok(c.tok)
		}
		if code, body, _ := s.Do("GET", c.path, nil, h...); code != c.want {
			t.Errorf("GET %s: %d %s, want %d", c.path, code, body, c.want)
		}
	}
}
