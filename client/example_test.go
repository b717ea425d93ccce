package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
)

// A host platform sends its users' events with the admin token. Emit
// queues them; they go out in batches, retried without duplicates, and
// Close sends what is left.
func ExampleClient_Emit() {
	c := client.New("https://auditlog.example.com", client.WithToken(os.Getenv("AUDITLOG_ADMIN_TOKEN")),
		client.WithBatchSize(500), client.WithFlushInterval(time.Second),
		client.WithErrorHandler(func(err error) {
			var se *client.SendError
			if errors.As(err, &se) {
				log.Printf("audit events not stored: %d: %v", len(se.Events), se.Err)
			}
		}))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			log.Print(err)
		}
	}()

	err := c.Emit(context.Background(), auditlog.Event{
		Organization: auditlog.OrgRef{Provider: "gh", Name: "acme"},
		Action:       "organizations.gatepolicies.update",
		Actor:        auditlog.Actor{Email: "ana@acme.example", Role: auditlog.RoleOrganizationAdmin},
		Source:       auditlog.SourceAPI,
		Details:      json.RawMessage(`{"policy": "strict"}`),
		IPAddress:    "203.0.113.7",
	})
	if err != nil { // an invalid event, or the client is closed
		log.Fatal(err)
	}
}

// An organization admin reads the events that match a search, newest
// first; the iterator fetches page after page.
func ExampleClient_Events() {
	c := client.New("https://auditlog.example.com", client.WithToken(os.Getenv("AUDITLOG_TOKEN")))
	acme := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	for e, err := range c.Events(context.Background(), acme, "action:organizations.gatepolicies.* created:>=2026-01-01") {
		if err != nil {
			log.Fatal(auditlog.ErrorMessage(err))
		}
		fmt.Println(auditlog.FormatTime(e.Timestamp), e.Actor.Email, e.Action)
	}
}

// An evidence bundle is exported to a file, for "auditlog verify".
func ExampleClient_Export() {
	c := client.New("https://auditlog.example.com", client.WithToken(os.Getenv("AUDITLOG_TOKEN")))
	f, err := os.Create("acme.bundle.ndjson")
	if err != nil {
		log.Fatal(err)
	}
	n, err := c.Export(context.Background(), auditlog.OrgRef{Provider: "gh", Name: "acme"}, "bundle", "", f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes\n", n)
}

// The API's errors are *auditlog.Error values: their code says what went
// wrong, their message is the server's.
func ExampleClient_FindOrganization() {
	c := client.New("https://auditlog.example.com", client.WithToken(os.Getenv("AUDITLOG_ADMIN_TOKEN")))
	org, err := c.FindOrganization(context.Background(), auditlog.OrgRef{Provider: "gh", Name: "acme"})
	switch auditlog.ErrorCode(err) {
	case "":
		fmt.Println(org.Plan)
	case auditlog.ENOTFOUND:
		fmt.Println("no such organization")
	default:
		log.Fatal(err)
	}
}
