package storetest

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// uuidV7 matches a canonical lower-case UUID of version 7, variant RFC 9562.
var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func testAppend(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("Sequences", func(t *testing.T) {
		// Each organization's sequences start at 0 and have no gap, whatever
		// the other organizations do.
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustCreateOrg(t, s, beta, auditlog.PlanBusiness)
		MustCreateOrg(t, s, zeta, auditlog.PlanFree)

		res := MustAppend(t, s, NewEvent(acme, "a1"), NewEvent(beta, "b1"), NewEvent(acme, "a2"))
		want := &auditlog.AppendResult{Accepted: 3, Events: []auditlog.Appended{ap("a1", 0), ap("b1", 0), ap("a2", 1)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("first batch (-want +got):\n%s", diff)
		}
		res = MustAppend(t, s, NewEvent(beta, "b2"), NewEvent(acme, "a3"), NewEvent(beta, "b3"))
		want = &auditlog.AppendResult{Accepted: 3, Events: []auditlog.Appended{ap("b2", 1), ap("a3", 2), ap("b3", 2)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("second batch (-want +got):\n%s", diff)
		}
		res = MustAppend(t, s, NewEvent(acme, "a4"))
		if got, want := res.Events[0].Sequence, int64(3); got != want {
			t.Errorf("third batch: sequence %d, want %d", got, want)
		}

		for ref, want := range map[auditlog.OrgRef][]int64{acme: {0, 1, 2, 3}, beta: {0, 1, 2}, zeta: {}} {
			events := MustFindEvents(t, s, ref, auditlog.EventFilter{})
			if diff := cmp.Diff(want, sequences(events), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: sequences (-want +got):\n%s", ref, diff)
			}
			for _, e := range events {
				if e.Organization != ref {
					t.Errorf("%s: found an event of %s", ref, e.Organization)
				}
			}
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		res := MustAppend(t, s, auditlog.Event{
			Organization: acme,
			Action:       "organizations.gatepolicies.create",
			Actor:        auditlog.Actor{Email: "Alice@Example.COM"},
		})
		events := MustFindEvents(t, s, acme, auditlog.EventFilter{})
		if len(events) != 1 {
			t.Fatalf("found %d events, want 1", len(events))
		}
		got := events[0]
		a, _ := auditlog.LookupAction("organizations.gatepolicies.create")
		want := auditlog.Event{
			Organization: acme,
			Sequence:     0,
			ID:           res.Events[0].ID,
			Action:       "organizations.gatepolicies.create",
			Actor:        auditlog.Actor{Email: "alice@example.com"},
			Result:       auditlog.ResultSucceed,
			Source:       auditlog.SourceUI,
			Timestamp:    T0,
			ReceivedAt:   T0,
			Description:  a.Description,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored event (-want +got):\n%s", diff)
		}
	})

	t.Run("ServerIDs", func(t *testing.T) {
		s, clock := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustCreateOrg(t, s, beta, auditlog.PlanBusiness)
		batch := make([]auditlog.Event, 100)
		for i := range batch {
			batch[i] = NewEvent([]auditlog.OrgRef{acme, beta}[i%2], "")
		}
		res := MustAppend(t, s, batch...)
		clock.Advance(time.Millisecond)
		res2 := MustAppend(t, s, NewEvent(acme, ""), NewEvent(beta, ""))
		seen := map[string]bool{}
		for _, ap := range append(res.Events, res2.Events...) {
			if !uuidV7.MatchString(ap.ID) {
				t.Errorf("server-assigned id %q is not a canonical UUIDv7", ap.ID)
			}
			if seen[ap.ID] {
				t.Errorf("id %q assigned twice", ap.ID)
			}
			seen[ap.ID] = true
		}
		// A UUIDv7 starts with its Unix millisecond time, here the time of receipt.
		if got, want := res.Events[0].ID[:13], uuidTimePrefix(T0); got != want {
			t.Errorf("id %s: time prefix %s, want %s (T0)", res.Events[0].ID, got, want)
		}
		// What was answered is what was stored.
		stored := map[string]int64{}
		for _, ref := range []auditlog.OrgRef{acme, beta} {
			for _, e := range MustFindEvents(t, s, ref, auditlog.EventFilter{}) {
				stored[e.ID] = e.Sequence
			}
		}
		for _, ap := range append(res.Events, res2.Events...) {
			if seq, ok := stored[ap.ID]; !ok || seq != ap.Sequence {
				t.Errorf("answered %s at %d; stored: %d, %v", ap.ID, ap.Sequence, seq, ok)
			}
		}
		if len(stored) != 102 {
			t.Errorf("stored %d events, want 102", len(stored))
		}
	})

	t.Run("EmptyBatch", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		_, err := s.AppendEvents(ctx, nil)
		wantCode(t, err, auditlog.EINVALID)
	})
}

// uuidTimePrefix returns the first 13 characters of a UUIDv7 made at t:
// its 48-bit millisecond time, as "xxxxxxxx-xxxx".
func uuidTimePrefix(t time.Time) string {
	ms := fmt.Sprintf("%012x", t.UnixMilli())
	return ms[:8] + "-" + ms[8:]
}

func testIdempotency(t *testing.T, open Opener) {
	t.Run("Retry", func(t *testing.T) {
		s, clock := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		first := NewEvent(acme, "evt-1")
		first.Description = "the original"
		MustAppend(t, s, NewEvent(acme, "evt-0"), first)

		// The same id again, even with other content: nothing is stored, the
		// answer names the original sequence.
		clock.Advance(time.Minute)
		retry := NewEvent(acme, "evt-1")
		retry.Description = "a changed retry"
		retry.Action = "user.tokens.create"
		res := MustAppend(t, s, retry)
		want := &auditlog.AppendResult{Accepted: 0, Duplicates: 1, Events: []auditlog.Appended{ap("evt-1", 1)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("retry (-want +got):\n%s", diff)
		}

		// A batch mixing old and new events stores only the new ones.
		res = MustAppend(t, s, NewEvent(acme, "evt-0"), NewEvent(acme, "evt-2"), NewEvent(acme, "evt-1"))
		want = &auditlog.AppendResult{Accepted: 1, Duplicates: 2, Events: []auditlog.Appended{ap("evt-0", 0), ap("evt-2", 2), ap("evt-1", 1)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("mixed batch (-want +got):\n%s", diff)
		}

		events := MustFindEvents(t, s, acme, auditlog.EventFilter{})
		if diff := cmp.Diff([]int64{0, 1, 2}, sequences(events)); diff != "" {
			t.Errorf("sequences (-want +got):\n%s", diff)
		}
		for _, e := range events {
			if e.ID == "evt-1" && (e.Description != "the original" || e.Action != "user.login" || !e.ReceivedAt.Equal(T0)) {
				t.Errorf("evt-1 was changed by its retry: %+v", e)
			}
		}
	})

	t.Run("WithinBatch", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		res := MustAppend(t, s, NewEvent(acme, "x"), NewEvent(acme, "y"), NewEvent(acme, "x"), NewEvent(acme, "x"))
		want := &auditlog.AppendResult{Accepted: 2, Duplicates: 2, Events: []auditlog.Appended{ap("x", 0), ap("y", 1), ap("x", 0), ap("x", 0)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("batch (-want +got):\n%s", diff)
		}
		if n := len(MustFindEvents(t, s, acme, auditlog.EventFilter{})); n != 2 {
			t.Errorf("stored %d events, want 2", n)
		}
	})

	t.Run("PerOrganization", func(t *testing.T) {
		// Ids are unique within an organization: the same id in two is two events.
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustCreateOrg(t, s, beta, auditlog.PlanBusiness)
		MustAppend(t, s, NewEvent(beta, "other"))
		res := MustAppend(t, s, NewEvent(acme, "shared"), NewEvent(beta, "shared"))
		want := &auditlog.AppendResult{Accepted: 2, Events: []auditlog.Appended{ap("shared", 0), ap("shared", 1)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("batch (-want +got):\n%s", diff)
		}
		res = MustAppend(t, s, NewEvent(beta, "shared"), NewEvent(acme, "shared"))
		want = &auditlog.AppendResult{Duplicates: 2, Events: []auditlog.Appended{ap("shared", 1), ap("shared", 0)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("retry (-want +got):\n%s", diff)
		}
		for ref, n := range map[auditlog.OrgRef]int{acme: 1, beta: 2} {
			if got := len(MustFindEvents(t, s, ref, auditlog.EventFilter{})); got != n {
				t.Errorf("%s: %d events, want %d", ref, got, n)
			}
		}
	})

	t.Run("ServerIDAsClientID", func(t *testing.T) {
		// An id the server assigned is the event's id like any other: sending it back is a retry.
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		res := MustAppend(t, s, NewEvent(acme, ""))
		id := res.Events[0].ID
		res = MustAppend(t, s, NewEvent(acme, id))
		want := &auditlog.AppendResult{Duplicates: 1, Events: []auditlog.Appended{ap(id, 0)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("retry with the assigned id (-want +got):\n%s", diff)
		}
	})

	t.Run("CaseSensitive", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		upper := "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B"
		lower := "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
		res := MustAppend(t, s, NewEvent(acme, upper), NewEvent(acme, lower), NewEvent(acme, upper))
		want := &auditlog.AppendResult{Accepted: 2, Duplicates: 1, Events: []auditlog.Appended{ap(upper, 0), ap(lower, 1), ap(upper, 0)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("ids differing in case (-want +got):\n%s", diff)
		}
	})
}

func testInvalidBatch(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("NothingStored", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustCreateOrg(t, s, beta, auditlog.PlanBusiness)
		MustAppend(t, s, NewEvent(acme, "before"))

		badAction := NewEvent(acme, "bad-1")
		badAction.Action = "user.logout"
		badResult := NewEvent(beta, "bad-3")
		badResult.Result = "ok"
		batch := []auditlog.Event{NewEvent(acme, "good-0"), badAction, NewEvent(beta, "good-2"), badResult, NewEvent(acme, "good-4")}
		_, err := s.AppendEvents(ctx, batch)
		if diff := cmp.Diff([]int{1, 3}, indexes(batchErrors(t, err))); diff != "" {
			t.Errorf("bad indexes (-want +got):\n%s", diff)
		}
		if got := ids(MustFindEvents(t, s, acme, auditlog.EventFilter{})); !cmp.Equal(got, []string{"before"}) {
			t.Errorf("%s holds %v after a rejected batch, want only [before]", acme, got)
		}
		if got := MustFindEvents(t, s, beta, auditlog.EventFilter{}); len(got) != 0 {
			t.Errorf("%s holds %d events after a rejected batch", beta, len(got))
		}

		// A rejected batch uses no sequence and records no id: the good events
		// sent again are stored, right after the last one.
		res := MustAppend(t, s, NewEvent(acme, "good-0"), NewEvent(beta, "good-2"), NewEvent(acme, "good-4"))
		want := &auditlog.AppendResult{Accepted: 3, Events: []auditlog.Appended{ap("good-0", 1), ap("good-2", 0), ap("good-4", 2)}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("after the rejected batch (-want +got):\n%s", diff)
		}
	})

	t.Run("UnknownOrganization", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		ghost := auditlog.OrgRef{Provider: "gh", Name: "ghost"}
		batch := []auditlog.Event{NewEvent(acme, "a"), NewEvent(ghost, "b"), NewEvent(acme, "c"), NewEvent(ghost, "d"), NewEvent(beta, "e")}
		_, err := s.AppendEvents(ctx, batch)
		if diff := cmp.Diff([]int{1, 3, 4}, indexes(batchErrors(t, err))); diff != "" {
			t.Errorf("bad indexes (-want +got):\n%s", diff)
		}
		if got := MustFindEvents(t, s, acme, auditlog.EventFilter{}); len(got) != 0 {
			t.Errorf("%s holds %d events after a rejected batch", acme, len(got))
		}
	})

	t.Run("InvalidAndUnknown", func(t *testing.T) {
		// Every bad event is named, whether it is invalid or its organization does not exist.
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		invalid := NewEvent(acme, "a")
		invalid.Actor.Email = ""
		both := NewEvent(beta, "d") // unknown and invalid: named once
		both.Source = "CLI"
		batch := []auditlog.Event{invalid, NewEvent(acme, "b"), NewEvent(beta, "c"), both}
		_, err := s.AppendEvents(ctx, batch)
		if diff := cmp.Diff([]int{0, 2, 3}, indexes(batchErrors(t, err))); diff != "" {
			t.Errorf("bad indexes (-want +got):\n%s", diff)
		}
		if got := MustFindEvents(t, s, acme, auditlog.EventFilter{}); len(got) != 0 {
			t.Errorf("%s holds %d events after a rejected batch", acme, len(got))
		}
	})

	t.Run("TooMany", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		batch := make([]auditlog.Event, auditlog.MaxBatchEvents+1)
		for i := range batch {
			batch[i] = NewEvent(acme, "")
		}
		_, err := s.AppendEvents(ctx, batch)
		wantCode(t, err, auditlog.ETOOLARGE)
		if got := MustFindEvents(t, s, acme, auditlog.EventFilter{Limit: 1}); len(got) != 0 {
			t.Errorf("%s holds events after a rejected batch", acme)
		}
	})
}

// ap is where an event was stored: its id and sequence.
func ap(id string, seq int64) auditlog.Appended { return auditlog.Appended{ID: id, Sequence: seq} }
