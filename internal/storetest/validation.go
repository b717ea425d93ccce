package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
)

// detailsOfSize returns a JSON object of exactly n bytes.
func detailsOfSize(n int) json.RawMessage {
	return json.RawMessage(`{"a":"` + strings.Repeat("x", n-8) + `"}`)
}

// testValidation checks every rule of SPEC §4, each in a batch with a valid
// event before it: a rejected event names index 1 and nothing is stored.
func testValidation(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := mustOpen(t, open)
	MustCreateOrg(t, s, acme, auditlog.PlanBusiness)

	for _, tt := range []struct {
		name string
		mod  func(e *auditlog.Event)
		ok   bool
	}{
		{"valid", func(e *auditlog.Event) {}, true},

		{"missing organization", func(e *auditlog.Event) { e.Organization = auditlog.OrgRef{} }, false},
		{"bad provider", func(e *auditlog.Event) { e.Organization.Provider = "github" }, false},
		{"missing organization name", func(e *auditlog.Event) { e.Organization.Name = "" }, false},

		{"missing action", func(e *auditlog.Event) { e.Action = "" }, false},
		{"unknown action", func(e *auditlog.Event) { e.Action = "user.logout" }, false},
		{"action in the wrong case", func(e *auditlog.Event) { e.Action = "User.Login" }, false},
		{"every catalog action", nil, true}, // below

		{"missing actor email", func(e *auditlog.Event) { e.Actor.Email = "" }, false},
		{"blank actor email", func(e *auditlog.Event) { e.Actor.Email = "  " }, false},
		{"bad actor email", func(e *auditlog.Event) { e.Actor.Email = "alice" }, false},
		{"actor email with a space", func(e *auditlog.Event) { e.Actor.Email = "al ice@example.com" }, false},
		{"bad actor role", func(e *auditlog.Event) { e.Actor.Role = "owner" }, false},
		{"actor role in the wrong case", func(e *auditlog.Event) { e.Actor.Role = "OrganizationAdmin" }, false},
		{"actor role organizationManager", func(e *auditlog.Event) { e.Actor.Role = auditlog.RoleOrganizationManager }, true},
		{"actor role repositoryRead", func(e *auditlog.Event) { e.Actor.Role = auditlog.RoleRepositoryRead }, true},
		{"no actor role", func(e *auditlog.Event) { e.Actor.Role = "" }, true},

		{"bad result", func(e *auditlog.Event) { e.Result = "ok" }, false},
		{"result in the wrong case", func(e *auditlog.Event) { e.Result = "Succeed" }, false},
		{"result failed", func(e *auditlog.Event) { e.Result = auditlog.ResultFailed }, true},
		{"result rejected", func(e *auditlog.Event) { e.Result = auditlog.ResultRejected }, true},
		{"bad source", func(e *auditlog.Event) { e.Source = "CLI" }, false},
		{"source in the wrong case", func(e *auditlog.Event) { e.Source = "ui" }, false},
		{"source API", func(e *auditlog.Event) { e.Source = auditlog.SourceAPI }, true},

		{"timestamp 4 minutes ahead", func(e *auditlog.Event) { e.Timestamp = T0.Add(4 * time.Minute) }, true},
		{"timestamp 5 minutes ahead", func(e *auditlog.Event) { e.Timestamp = T0.Add(5 * time.Minute) }, true},
		{"timestamp 5 minutes 1 ms ahead", func(e *auditlog.Event) { e.Timestamp = T0.Add(5*time.Minute + time.Millisecond) }, false},
		{"timestamp a day ahead", func(e *auditlog.Event) { e.Timestamp = T0.Add(24 * time.Hour) }, false},
		{"timestamp ten years ago", func(e *auditlog.Event) { e.Timestamp = T0.AddDate(-10, 0, 0) }, true},
		{"timestamp in 1999", func(e *auditlog.Event) { e.Timestamp = time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC) }, true},

		{"details not an object: array", func(e *auditlog.Event) { e.Details = json.RawMessage(`[1,2]`) }, false},
		{"details not an object: string", func(e *auditlog.Event) { e.Details = json.RawMessage(`"text"`) }, false},
		{"details not an object: number", func(e *auditlog.Event) { e.Details = json.RawMessage(`42`) }, false},
		{"details not JSON", func(e *auditlog.Event) { e.Details = json.RawMessage(`{"a":`) }, false},
		{"details with trailing data", func(e *auditlog.Event) { e.Details = json.RawMessage(`{"a":1}{}`) }, false},
		{"details with invalid UTF-8", func(e *auditlog.Event) { e.Details = json.RawMessage("{\"a\":\"\xff\"}") }, false},
		{"details null", func(e *auditlog.Event) { e.Details = json.RawMessage(`null`) }, true},
		{"details empty object", func(e *auditlog.Event) { e.Details = json.RawMessage(`{}`) }, true},
		{"details with spaces", func(e *auditlog.Event) { e.Details = json.RawMessage(" {\"a\" : [1, 2]}\n") }, true},
		{"details of 64 KiB", func(e *auditlog.Event) { e.Details = detailsOfSize(64 << 10) }, true},
		{"details over 64 KiB", func(e *auditlog.Event) { e.Details = detailsOfSize(64<<10 + 1) }, false},

		{"id of 128 characters", func(e *auditlog.Event) { e.ID = strings.Repeat("i", 128) }, true},
		{"id of 129 characters", func(e *auditlog.Event) { e.ID = strings.Repeat("j", 129) }, false},
		{"id with invalid UTF-8", func(e *auditlog.Event) { e.ID = "id-\xff" }, false},

		{"bad ipAddress", func(e *auditlog.Event) { e.IPAddress = "999.1.1.1" }, false},
		{"ipAddress not an address", func(e *auditlog.Event) { e.IPAddress = "localhost" }, false},
		{"ipAddress with a port", func(e *auditlog.Event) { e.IPAddress = "192.0.2.1:443" }, false},
		{"ipAddress v4", func(e *auditlog.Event) { e.IPAddress = "192.0.2.1" }, true},
		{"ipAddress v6", func(e *auditlog.Event) { e.IPAddress = "2001:db8::1" }, true},

		{"repositoryName too long", func(e *auditlog.Event) { e.RepositoryName = strings.Repeat("r", 1025) }, false},
		{"repositoryName invalid UTF-8", func(e *auditlog.Event) { e.RepositoryName = "repo\xfe" }, false},
		{"entityId too long", func(e *auditlog.Event) { e.EntityID = strings.Repeat("e", 1025) }, false},
		{"userAgent too long", func(e *auditlog.Event) { e.UserAgent = strings.Repeat("u", 1025) }, false},
		{"description too long", func(e *auditlog.Event) { e.Description = strings.Repeat("d", 4097) }, false},
		{"long but allowed fields", func(e *auditlog.Event) {
			e.RepositoryName, e.EntityID, e.UserAgent = strings.Repeat("r", 1024), strings.Repeat("e", 1024), strings.Repeat("u", 1024)
			e.Description = strings.Repeat("d", 4096)
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(MustFindEvents(t, s, acme, auditlog.EventFilter{}))
			var batch []auditlog.Event
			if tt.mod == nil {
				for _, a := range auditlog.Actions() {
					e := NewEvent(acme, "")
					e.Action = a.Name
					batch = append(batch, e)
				}
			} else {
				e := NewEvent(acme, "")
				tt.mod(&e)
				batch = []auditlog.Event{NewEvent(acme, ""), e}
			}
			res, err := s.AppendEvents(ctx, batch)
			after := len(MustFindEvents(t, s, acme, auditlog.EventFilter{}))
			if tt.ok {
				if err != nil {
					t.Fatalf("rejected: %v (details %v)", err, auditlog.ErrorDetails(err))
				}
				if res.Accepted != len(batch) || after != before+len(batch) {
					t.Errorf("accepted %d, stored %d more events, want %d", res.Accepted, after-before, len(batch))
				}
				return
			}
			if diff := cmp.Diff([]int{1}, indexes(batchErrors(t, err))); diff != "" {
				t.Errorf("bad indexes (-want +got):\n%s", diff)
			}
			if after != before {
				t.Errorf("a rejected batch stored %d events", after-before)
			}
		})
	}
}
