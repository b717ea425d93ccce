package baseline_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/baseline"
)

// mustRows turns n events of two organizations into rows: org a gets the
// even ones, b the odd ones, a minute apart.
func mustRows(tb testing.TB, n int) []baseline.Row {
	tb.Helper()
	a, b := auditlog.OrgRef{Provider: "gh", Name: "a"}, auditlog.OrgRef{Provider: "gh", Name: "b"}
	conv := baseline.NewRows(func(r auditlog.OrgRef) uint32 {
		if r == a {
			return 1
		}
		return 2
	})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := make([]auditlog.Event, n)
	for i := range events {
		org := a
		if i%2 == 1 {
			org = b
		}
		events[i] = auditlog.Event{Organization: org, Action: "user.login", Actor: auditlog.Actor{Email: "ana@acme.example", Role: auditlog.RoleOrganizationAdmin},
			Result: auditlog.ResultFailed, Source: auditlog.SourceAPI, Timestamp: start.Add(time.Duration(i) * time.Minute),
			Details: json.RawMessage(`{"n":1}`), IPAddress: "10.0.0.1", UserAgent: "curl/8"}
		if i == n-2 {
			events[i].Description = "a description of its own"
		}
	}
	return conv.Append(nil, events, start)
}
