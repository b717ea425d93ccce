package nats_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/natstest"
	"github.com/auditlog/auditlog/nats"
)

func events(from, to int) []*auditlog.Event {
	var out []*auditlog.Event
	for i := from; i < to; i++ {
		out = append(out, &auditlog.Event{
			Organization: auditlog.OrgRef{Provider: "gh", Name: "acme"}, Sequence: int64(i), ID: "evt-" + strconv.Itoa(i),
			Action: "user.login", Actor: auditlog.Actor{Email: "ana@acme.example"}, Result: "succeed", Source: "UI",
			Timestamp: time.UnixMilli(1_750_000_000_000).UTC(), ReceivedAt: time.UnixMilli(1_750_000_000_123).UTC(),
		})
	}
	return out
}

// JetStream gets one message per event, in order, with Nats-Msg-Id the
// event's id, and drops the events a retry publishes again.
func TestDeliver(t *testing.T) {
	js := natstest.MustStream(t, time.Minute)
	d := nats.NewDeliverer()
	defer d.Close()
	s := &auditlog.Stream{ID: "st", Org: auditlog.OrgRef{Provider: "gh", Name: "acme"}, Type: auditlog.StreamNATS, URL: js.URL, Subject: js.Subject}
	ctx := context.Background()
	if err := d.Deliver(ctx, s, nil, events(0, 150)); err != nil {
		t.Fatal(err)
	}
	// A retry after a lost acknowledgement: the overlap is published again.
	if err := d.Deliver(ctx, s, nil, events(100, 200)); err != nil {
		t.Fatal(err)
	}
	msgs := js.Messages(t)
	if len(msgs) != 200 {
		t.Fatalf("%d messages, want 200 (the redelivered 50 dropped)", len(msgs))
	}
	for i, m := range msgs {
		var e map[string]any
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			t.Fatal(err)
		}
		id := "evt-" + strconv.Itoa(i)
		if e["id"] != id || int(e["sequence"].(float64)) != i || e["receivedAt"] != "2025-06-15T15:06:40.123Z" {
			t.Fatalf("message %d: %s", i, m.Data())
		}
		if h := m.Headers(); h.Get("Nats-Msg-Id") != id || h.Get(nats.HeaderOrganization) != "gh/acme" || h.Get(nats.HeaderSequence) != strconv.Itoa(i) {
			t.Fatalf("message %d headers %v", i, h)
		}
		if m.Subject() != js.Subject {
			t.Fatalf("subject %q", m.Subject())
		}
	}
}

func TestDeliverFailures(t *testing.T) {
	js := natstest.MustStream(t, time.Minute)
	d := nats.NewDeliverer()
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A subject no JetStream stream captures.
	s := &auditlog.Stream{ID: "st", Type: auditlog.StreamNATS, URL: js.URL, Subject: js.Subject + ".elsewhere"}
	err := d.Deliver(ctx, s, nil, events(0, 3))
	if err == nil || !strings.Contains(err.Error(), "no JetStream stream") {
		t.Errorf("unbound subject: %v", err)
	}
	// No server there.
	s = &auditlog.Stream{ID: "st", Type: auditlog.StreamNATS, URL: "nats://127.0.0.1:1", Subject: js.Subject}
	if err := d.Deliver(ctx, s, nil, events(0, 1)); err == nil {
		t.Error("no error without a server")
	}
}
