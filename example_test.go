package auditlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/pebble"
)

// A Go program can keep an audit log in-process, without the HTTP server:
// open the embedded store, create an organization, append events and read
// them back, newest first.
func Example() {
	dir, err := os.MkdirTemp("", "auditlog-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db := pebble.NewDB(dir)
	db.Now = func() time.Time { return time.Date(2025, 6, 28, 14, 30, 0, 0, time.UTC) } // a fixed clock, for stable output
	if err := db.Open(); err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	acme := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	plan := auditlog.PlanBusiness
	org, created, err := db.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{Plan: &plan})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("organization %s: created %v, plan %s, retention %d days\n", org.OrgRef, created, org.Plan, org.RetentionDays)

	events := []auditlog.Event{
		{
			Organization: acme,
			ID:           "login-4711",
			Action:       "user.login",
			Actor:        auditlog.Actor{Email: "Alice@Example.com", Role: auditlog.RoleOrganizationAdmin},
			Timestamp:    time.Date(2025, 6, 28, 14, 29, 13, 430e6, time.UTC),
			IPAddress:    "192.0.2.10",
		},
		{
			Organization: acme,
			ID:           "gate-4712",
			Action:       "organizations.gatepolicies.update",
			Actor:        auditlog.Actor{Email: "alice@example.com", Role: auditlog.RoleOrganizationAdmin},
			Source:       auditlog.SourceAPI,
			Timestamp:    time.Date(2025, 6, 28, 14, 29, 20, 1e6, time.UTC),
			Details:      json.RawMessage(`{"policy": "strict", "minCoverage": 80}`),
		},
	}
	res, err := db.AppendEvents(ctx, events)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("accepted %d, duplicates %d\n", res.Accepted, res.Duplicates)
	for _, e := range res.Events {
		fmt.Printf("  %s at sequence %d\n", e.ID, e.Sequence)
	}

	// Sending an event again with the same id stores nothing new.
	res, err = db.AppendEvents(ctx, []auditlog.Event{{
		Organization: acme, ID: "login-4711", Action: "user.login", Actor: auditlog.Actor{Email: "alice@example.com"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("retry: accepted %d, duplicates %d, sequence %d\n", res.Accepted, res.Duplicates, res.Events[0].Sequence)

	for e, err := range db.FindEvents(ctx, acme, auditlog.EventFilter{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("#%d %s %s by %s via %s: %s %s\n", e.Sequence, auditlog.FormatTime(e.Timestamp), e.Action,
			e.Actor.Email, e.Source, e.Description, e.AppendDetails(nil))
	}
	// Output:
	// organization gh/acme: created true, plan business, retention 365 days
	// accepted 2, duplicates 0
	//   login-4711 at sequence 0
	//   gate-4712 at sequence 1
	// retry: accepted 0, duplicates 1, sequence 0
	// #1 2025-06-28T14:29:20.001Z organizations.gatepolicies.update by alice@example.com via API: Quality gate definition updated {"policy":"strict","minCoverage":80}
	// #0 2025-06-28T14:29:13.430Z user.login by alice@example.com via UI: User logged in to Codacy {}
}
