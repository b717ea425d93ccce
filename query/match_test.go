package query_test

import (
	"testing"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/query"
)

// TestParseMatch checks parsed queries against events at the edges of what they select.
func TestParseMatch(t *testing.T) {
	event := func(ts string) *auditlog.Event {
		return &auditlog.Event{
			Action:      "organizations.gatepolicies.update",
			Actor:       auditlog.Actor{Email: "alice@example.com", Role: auditlog.RoleOrganizationAdmin},
			Result:      auditlog.ResultFailed,
			Source:      auditlog.SourceAPI,
			Timestamp:   instant(ts),
			Description: "Quality gate definition updated",
			Details:     []byte(`{"policy":{"name":"Strict-Gatekeeper"}}`),
		}
	}
	for _, tt := range []struct {
		q    string
		ts   string
		want bool
	}{
		{"created:2026-01-05", "2026-01-05T00:00:00Z", true},
		{"created:2026-01-05", "2026-01-05T23:59:59.999Z", true},
		{"created:2026-01-05", "2026-01-06T00:00:00Z", false},
		{"created:2026-01-05", "2026-01-04T23:59:59.999Z", false},
		{"created:>2026-01-05", "2026-01-05T23:59:59.999Z", false},
		{"created:>2026-01-05", "2026-01-06T00:00:00Z", true},
		{"created:>=2026-01-05", "2026-01-05T00:00:00Z", true},
		{"created:<2026-01-05", "2026-01-05T00:00:00Z", false},
		{"created:<2026-01-05", "2026-01-04T23:59:59.999Z", true},
		{"created:<=2026-01-05", "2026-01-05T23:59:59.999Z", true},
		{"created:<=2026-01-05", "2026-01-06T00:00:00Z", false},
		{"created:2026-01-05..2026-01-06", "2026-01-06T23:59:59.999Z", true},
		{"created:2026-01-05..2026-01-06", "2026-01-07T00:00:00Z", false},
		{"created:2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z", true},
		{"created:2026-01-05T10:00:00Z", "2026-01-05T10:00:00.001Z", false},
		{"created:>2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z", false},
		{"created:>2026-01-05T10:00:00Z", "2026-01-05T10:00:00.001Z", true},
		{"created:<=2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z", true},
		{"created:<2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z", false},
		{"created:2026-01-05T09:00:00Z..2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z", true},
		{"created:2026-01-05T09:00:00Z..2026-01-05T10:00:00Z", "2026-01-05T10:00:00.001Z", false},
		{"created:>=2026-01-05T12:00:00+02:00", "2026-01-05T10:00:00Z", true},
		{"created:today", "2026-03-15T00:00:00Z", true},
		{"created:yesterday", "2026-03-15T00:00:00Z", false},

		{"action:organizations.gatepolicies.* actor:ALICE@example.com level:organization source:api", "2026-01-05T10:00:00Z", true},
		{"action:organizations.codingstandards.*", "2026-01-05T10:00:00Z", false},
		{"QUALITY gate*", "2026-01-05T10:00:00Z", true},
		{"strict-gatekeeper", "2026-01-05T10:00:00Z", true},
		{`"gatekeeper strict"`, "2026-01-05T10:00:00Z", true},
		{`"gatekeeper strict" dance`, "2026-01-05T10:00:00Z", false},
		{"-result:failed", "2026-01-05T10:00:00Z", false},
		{"-role:repositoryread -dance", "2026-01-05T10:00:00Z", true},
	} {
		q, err := query.Parse(tt.q, now)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.q, err)
			continue
		}
		if got := q.Match(event(tt.ts)); got != tt.want {
			t.Errorf("%q on an event at %s: Match = %v, want %v", tt.q, tt.ts, got, tt.want)
		}
	}
}
