package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
)

func testFindEvents(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := mustOpen(t, open)
	MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
	MustCreateOrg(t, s, beta, auditlog.PlanBusiness)

	at := func(id string, ts time.Time) auditlog.Event {
		e := NewEvent(acme, id)
		e.Timestamp = ts
		return e
	}
	t10, t20, t30 := T0.Add(-10*time.Minute), T0.Add(-20*time.Minute), T0.Add(-30*time.Minute)
	old := time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC)
	// Appended out of timestamp order, as a history import and late events are.
	MustAppend(t, s, at("a", t10), at("b", t30), at("c", t10)) // sequences 0, 1, 2
	MustAppend(t, s, at("d", t20))                             // 3
	MustAppend(t, s, at("e", old), at("f", T0))                // 4, 5
	MustAppend(t, s, at("g", t20.Add(time.Millisecond)))       // 6
	other := NewEvent(beta, "other")
	other.Timestamp = t10
	MustAppend(t, s, other)

	ms := time.Millisecond
	for _, tt := range []struct {
		name string
		f    auditlog.EventFilter
		want []string
	}{
		// Newest first: timestamp descending, then sequence descending.
		{"all", auditlog.EventFilter{}, []string{"f", "c", "a", "g", "d", "b", "e"}},
		{"limit 1", auditlog.EventFilter{Limit: 1}, []string{"f"}},
		{"limit 3", auditlog.EventFilter{Limit: 3}, []string{"f", "c", "a"}},
		{"limit above count", auditlog.EventFilter{Limit: 100}, []string{"f", "c", "a", "g", "d", "b", "e"}},
		{"from inclusive", auditlog.EventFilter{From: t20}, []string{"f", "c", "a", "g", "d"}},
		{"from one ms later", auditlog.EventFilter{From: t20.Add(ms)}, []string{"f", "c", "a", "g"}},
		{"from two ms later", auditlog.EventFilter{From: t20.Add(2 * ms)}, []string{"f", "c", "a"}},
		{"to inclusive", auditlog.EventFilter{To: t10}, []string{"c", "a", "g", "d", "b", "e"}},
		{"to one ms earlier", auditlog.EventFilter{To: t10.Add(-ms)}, []string{"g", "d", "b", "e"}},
		{"from equals to", auditlog.EventFilter{From: t10, To: t10}, []string{"c", "a"}},
		{"from equals to, one event", auditlog.EventFilter{From: t20, To: t20}, []string{"d"}},
		{"range", auditlog.EventFilter{From: t30, To: t20.Add(ms)}, []string{"g", "d", "b"}},
		{"range and limit", auditlog.EventFilter{From: t30, To: T0, Limit: 2}, []string{"f", "c"}},
		{"from after to", auditlog.EventFilter{From: t10, To: t20}, nil},
		{"from after every event", auditlog.EventFilter{From: T0.Add(ms)}, nil},
		{"to before every event", auditlog.EventFilter{To: old.Add(-ms)}, nil},
		{"to before 1970", auditlog.EventFilter{To: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)}, nil},
		{"from before 1970", auditlog.EventFilter{From: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), To: old}, []string{"e"}},
		{"old history only", auditlog.EventFilter{To: old}, []string{"e"}},
		// A bound between two milliseconds: an event at the earlier one is before From.
		{"from within a millisecond", auditlog.EventFilter{From: t20.Add(ms / 2)}, []string{"f", "c", "a", "g"}},
		{"to within a millisecond", auditlog.EventFilter{To: t20.Add(ms / 2)}, []string{"d", "b", "e"}},
		{"bounds in another zone", auditlog.EventFilter{From: t10.In(time.FixedZone("X", -7*3600)), To: t10.In(time.FixedZone("Y", 9*3600))}, []string{"c", "a"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(MustFindEvents(t, s, acme, tt.f))
			if diff := cmp.Diff(tt.want, got, cmpEmpty); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("sequences", func(t *testing.T) {
		events := MustFindEvents(t, s, acme, auditlog.EventFilter{})
		var got []int64
		for _, e := range events {
			got = append(got, e.Sequence)
		}
		if diff := cmp.Diff([]int64{5, 2, 0, 6, 3, 1, 4}, got); diff != "" {
			t.Errorf("sequences newest first (-want +got):\n%s", diff)
		}
	})

	t.Run("early stop", func(t *testing.T) {
		n := 0
		for e, err := range s.FindEvents(ctx, acme, auditlog.EventFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; e.ID != "f" {
				t.Errorf("first event %s, want f", e.ID)
			}
			break
		}
		if n != 1 {
			t.Errorf("iterated %d times before the break, want 1", n)
		}
	})

	t.Run("unknown organization", func(t *testing.T) {
		n := 0
		for e, err := range s.FindEvents(ctx, auditlog.OrgRef{Provider: "gh", Name: "ghost"}, auditlog.EventFilter{}) {
			n++
			if e != nil {
				t.Errorf("got event %+v", e)
			}
			wantCode(t, err, auditlog.ENOTFOUND)
		}
		if n != 1 {
			t.Errorf("yielded %d times, want one error", n)
		}
	})

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		for _, err := range s.FindEvents(ctx, acme, auditlog.EventFilter{}) {
			if err == nil {
				t.Fatal("a canceled context yielded an event")
			}
			break
		}
	})
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return cmp.Equal(a, b)
})

func testRoundTrip(t *testing.T, open Opener) {
	t.Run("EveryField", func(t *testing.T) {
		s, clock := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		clock.Advance(42 * time.Second)
		in := auditlog.Event{
			Organization:   acme,
			ID:             "client-Ünïcode-id-🙂",
			Action:         "repositories.tools.update",
			Actor:          auditlog.Actor{Email: "Zoë.Müller@Example.COM", Role: auditlog.RoleRepositoryAdmin},
			Result:         auditlog.ResultFailed,
			Source:         auditlog.SourceAPI,
			Timestamp:      T0.Add(-36*time.Hour + 123*time.Millisecond),
			RepositoryName: "リポジトリ-ü",
			EntityID:       "tool-42",
			Description:    "Tool \"ESLint\" disabled — ünïcode ✓\nsecond line\ttab",
			Details: json.RawMessage(`{ "tool": "ESLint", "enabled": false, "params": {"max": 3, "list": [1, 2.5e3, "x", null]},` +
				` "emoji": "🙂", "esc": "a\"b\\c\u0000\n", "zkey": 1, "akey": 2 }`),
			IPAddress: "2001:db8::8a2e:370:7334",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) 漢字",
		}
		MustAppend(t, s, in)
		want := in
		want.Actor.Email = "zoë.müller@example.com"
		// Details are kept byte for byte, compacted: key order and number forms included.
		want.Details = json.RawMessage(`{"tool":"ESLint","enabled":false,"params":{"max":3,"list":[1,2.5e3,"x",null]},` +
			`"emoji":"🙂","esc":"a\"b\\c\u0000\n","zkey":1,"akey":2}`)
		want.ReceivedAt = T0.Add(42 * time.Second)
		got := MustFindEvents(t, s, acme, auditlog.EventFilter{})
		if len(got) != 1 {
			t.Fatalf("found %d events, want 1", len(got))
		}
		if diff := cmp.Diff(want, got[0]); diff != "" {
			t.Errorf("stored event (-want +got):\n%s", diff)
		}
		if string(got[0].Details) != string(want.Details) {
			t.Errorf("details\n got %s\nwant %s", got[0].Details, want.Details)
		}
	})

	t.Run("Values", func(t *testing.T) {
		// Each value read back exactly as it was stored, in every field that takes a string.
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		for _, tt := range []struct {
			name string
			mod  func(e *auditlog.Event)
		}{
			{"IPv4", func(e *auditlog.Event) { e.IPAddress = "192.0.2.1" }},
			{"IPv6 loopback", func(e *auditlog.Event) { e.IPAddress = "::1" }},
			{"IPv4-mapped IPv6", func(e *auditlog.Event) { e.IPAddress = "::ffff:192.0.2.1" }},
			{"IPv6 full", func(e *auditlog.Event) { e.IPAddress = "2001:0db8:0000:0000:0000:ff00:0042:8329" }},
			{"description is the catalog's", func(e *auditlog.Event) { e.Description = "User logged in to Codacy" }},
			{"description of another action", func(e *auditlog.Event) { e.Description = "Organization added to Codacy" }},
			{"description with a prefix of the catalog's", func(e *auditlog.Event) { e.Description = "User logged in" }},
			{"details with an empty key", func(e *auditlog.Event) { e.Details = json.RawMessage(`{"":""}`) }},
			{"actor role organizationManager", func(e *auditlog.Event) { e.Actor.Role = auditlog.RoleOrganizationManager }},
			{"control characters", func(e *auditlog.Event) {
				e.RepositoryName, e.EntityID, e.UserAgent = "a\x00b", "\x01\x1f", "\u2028\u2029"
			}},
			{"emoji everywhere", func(e *auditlog.Event) { e.RepositoryName, e.EntityID, e.UserAgent = "🙂", "𝄞", "ü" }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				in := NewEvent(acme, tt.name)
				tt.mod(&in)
				res := MustAppend(t, s, in)
				var got *auditlog.Event
				for _, e := range MustFindEvents(t, s, acme, auditlog.EventFilter{}) {
					if e.Sequence == res.Events[0].Sequence {
						got = &e
					}
				}
				if got == nil {
					t.Fatal("the event was not found")
				}
				want := in
				want.Result, want.Source = auditlog.ResultSucceed, auditlog.SourceUI
				want.Sequence, want.ReceivedAt = res.Events[0].Sequence, T0
				if want.Description == "" {
					want.Description = "User logged in to Codacy"
				}
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("stored event (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("ClientIDs", func(t *testing.T) {
		// Client ids are opaque: each one is read back and recognized on a retry
		// exactly as sent, including those that look like UUIDs.
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		clientIDs := []string{
			"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", // canonical lower-case UUID
			"0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", // the same UUID in upper case: another id
			"0190a1b2-C3D4-7e5f-8a9b-0c1d2e3f4a5b", // mixed case
			"00000000-0000-0000-0000-000000000000", // nil UUID
			"ffffffff-ffff-ffff-ffff-ffffffffffff", // max UUID
			"--a1b2c3-c3d4-7e5f-8a9b-0c1d2e3f4a5b", // UUID-shaped, with dashes where digits go
			"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a-b", // UUID-shaped, a dash among the last digits
			"------------------------------------", // 36 dashes
			"0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",     // UUID without dashes
			"{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}",
			"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", // not hex
			"order-4711",
			"ünïcode-🙂",
			" spaced id ",
		}
		batch := make([]auditlog.Event, len(clientIDs))
		for i, id := range clientIDs {
			batch[i] = NewEvent(acme, id)
		}
		res := MustAppend(t, s, batch...)
		if res.Accepted != len(clientIDs) {
			t.Errorf("accepted %d of %d distinct ids", res.Accepted, len(clientIDs))
		}
		got := map[int64]string{}
		for _, e := range MustFindEvents(t, s, acme, auditlog.EventFilter{}) {
			got[e.Sequence] = e.ID
		}
		for i, id := range clientIDs {
			if got[int64(i)] != id {
				t.Errorf("id %q read back as %q", id, got[int64(i)])
			}
		}
		res = MustAppend(t, s, batch...)
		if res.Duplicates != len(clientIDs) {
			t.Errorf("retry: %d duplicates of %d", res.Duplicates, len(clientIDs))
		}
		for i, ap := range res.Events {
			if ap.ID != clientIDs[i] || ap.Sequence != int64(i) {
				t.Errorf("retry of %q: answered %+v, want sequence %d", clientIDs[i], ap, i)
			}
		}
	})
}

func testTime(t *testing.T, open Opener) {
	// Timestamps are kept in UTC with millisecond precision, whatever the zone
	// and precision of the clock and of the event.
	s, clock := mustOpen(t, open)
	MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
	cest := time.FixedZone("CEST", 2*3600)
	clock.Set(time.Date(2025, 6, 28, 16, 29, 13, 430_999_999, cest))
	explicit := NewEvent(acme, "explicit")
	explicit.Timestamp = time.Date(2025, 6, 28, 9, 0, 0, 123_456_789, time.FixedZone("EST", -5*3600))
	implicit := NewEvent(acme, "implicit")
	implicit.Timestamp = time.Time{}
	MustAppend(t, s, explicit, implicit)

	now := time.Date(2025, 6, 28, 14, 29, 13, 430_000_000, time.UTC)
	want := map[string][2]string{ // timestamp, receivedAt
		"explicit": {"2025-06-28T14:00:00.123Z", "2025-06-28T14:29:13.430Z"},
		"implicit": {"2025-06-28T14:29:13.430Z", "2025-06-28T14:29:13.430Z"},
	}
	for _, e := range MustFindEvents(t, s, acme, auditlog.EventFilter{}) {
		for _, tm := range []struct {
			name string
			t    time.Time
		}{{"timestamp", e.Timestamp}, {"receivedAt", e.ReceivedAt}} {
			if tm.t.Location() != time.UTC {
				t.Errorf("%s: %s in %s, want UTC", e.ID, tm.name, tm.t.Location())
			}
			if tm.t.Nanosecond()%int(time.Millisecond) != 0 {
				t.Errorf("%s: %s %s has sub-millisecond digits", e.ID, tm.name, tm.t.Format(time.RFC3339Nano))
			}
		}
		got := [2]string{auditlog.FormatTime(e.Timestamp), auditlog.FormatTime(e.ReceivedAt)}
		if got != want[e.ID] {
			t.Errorf("%s: timestamp, receivedAt = %v, want %v", e.ID, got, want[e.ID])
		}
		if e.ID == "implicit" && !e.Timestamp.Equal(now) {
			t.Errorf("implicit timestamp %s, want the clock's %s", e.Timestamp, now)
		}
	}

	// The stored millisecond is the one a filter at that exact millisecond finds.
	ts := time.Date(2025, 6, 28, 14, 0, 0, 123_000_000, time.UTC)
	got := ids(MustFindEvents(t, s, acme, auditlog.EventFilter{From: ts, To: ts}))
	if diff := cmp.Diff([]string{"explicit"}, got); diff != "" {
		t.Errorf("filter at the stored millisecond (-want +got):\n%s", diff)
	}
}
