package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/seal"
	"github.com/google/go-cmp/cmp"
)

// StreamStore is a store that keeps streams.
type StreamStore interface {
	auditlog.Store
	auditlog.StreamStore
}

// StreamOpener returns a new, empty, open store whose clock is now and
// whose stream secrets key seals. It closes the store when tb ends.
type StreamOpener func(tb testing.TB, now func() time.Time, key *seal.Key) StreamStore

// RunStreams runs the contract of auditlog.StreamStore against the stores
// that open returns. Each subtest opens its own store.
func RunStreams(t *testing.T, open StreamOpener) {
	t.Run("Streams", func(t *testing.T) { testStreams(t, open) })
	t.Run("StreamStatus", func(t *testing.T) { testStreamStatus(t, open) })
	t.Run("ClaimStreams", func(t *testing.T) { testClaimStreams(t, open) })
	t.Run("EventsFrom", func(t *testing.T) { testEventsFrom(t, open) })
}

// MustStreamKey returns a stream secrets key made of fill bytes.
func MustStreamKey(tb testing.TB, fill byte) *seal.Key {
	tb.Helper()
	k, err := seal.NewKey(bytes.Repeat([]byte{fill}, seal.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustCreateStream creates a stream and fails tb on error.
func MustCreateStream(tb testing.TB, s auditlog.StreamService, st auditlog.Stream, secrets auditlog.StreamSecrets) *auditlog.Stream {
	tb.Helper()
	out, err := s.CreateStream(context.Background(), &st, secrets)
	if err != nil {
		tb.Fatalf("create stream %+v: %v", st, err)
	}
	return out
}

func testStreams(t *testing.T, open StreamOpener) {
	ctx := context.Background()
	clock := NewClock(T0)
	s := open(t, clock.Now, MustStreamKey(t, 7))
	acme := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	beta := auditlog.OrgRef{Provider: "gl", Name: "beta"}
	MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
	MustCreateOrg(t, s, beta, auditlog.PlanBusiness)
	MustAppend(t, s, NewEvent(acme, "a"), NewEvent(acme, "b"), NewEvent(acme, "c"))

	hook := MustCreateStream(t, s, auditlog.Stream{Org: acme, Type: auditlog.StreamWebhook, URL: "https://siem.example/hook?token=xxxxx", Query: "action:user.login"},
		auditlog.StreamSecrets{URL: "https://siem.example/hook?token=t0p", Secret: []byte("whsec-1")})
	if hook.ID == "" || !hook.CreatedAt.Equal(T0) {
		t.Errorf("created %+v: want an id and createdAt %v", hook, T0)
	}
	want := auditlog.StreamStatus{State: auditlog.StreamActive, Cursor: 3, LastDeliveredSequence: -1}
	if diff := cmp.Diff(want, hook.StreamStatus); diff != "" {
		t.Errorf("a new stream's status (-want +got):\n%s", diff)
	}
	clock.Advance(time.Second)
	bus := MustCreateStream(t, s, auditlog.Stream{Org: acme, Type: auditlog.StreamNATS, URL: "nats://127.0.0.1:4222", Subject: "audit.acme"},
		auditlog.StreamSecrets{URL: "nats://127.0.0.1:4222"})
	other := MustCreateStream(t, s, auditlog.Stream{Org: beta, Type: auditlog.StreamWebhook, URL: "http://127.0.0.1:9/x"},
		auditlog.StreamSecrets{URL: "http://127.0.0.1:9/x", Secret: []byte("whsec-2")})
	if other.Cursor != 0 {
		t.Errorf("a stream of an empty organization starts at %d, want 0", other.Cursor)
	}

	list, err := s.Streams(ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*auditlog.Stream{hook, bus}, list); diff != "" {
		t.Errorf("Streams(acme), oldest first (-want +got):\n%s", diff)
	}
	got, err := s.FindStream(ctx, acme, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hook, got); diff != "" {
		t.Errorf("FindStream (-want +got):\n%s", diff)
	}
	all, err := s.AllStreams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var allIDs []string
	for _, st := range all {
		allIDs = append(allIDs, st.Org.String()+"/"+st.ID)
	}
	slices.Sort(allIDs)
	wantIDs := []string{"gh/acme/" + hook.ID, "gh/acme/" + bus.ID, "gl/beta/" + other.ID}
	slices.Sort(wantIDs)
	if !slices.Equal(allIDs, wantIDs) {
		t.Errorf("AllStreams = %v, want %v", allIDs, wantIDs)
	}

	sec, err := s.StreamSecrets(ctx, acme, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sec.URL != "https://siem.example/hook?token=t0p" || string(sec.Secret) != "whsec-1" {
		t.Errorf("StreamSecrets = %+v", sec)
	}
	if sec, err := s.StreamSecrets(ctx, acme, bus.ID); err != nil || sec.URL != "nats://127.0.0.1:4222" || len(sec.Secret) != 0 {
		t.Errorf("StreamSecrets(nats) = %+v, %v", sec, err)
	}

	// Another organization's stream, or an unknown id, is not found.
	_, err = s.FindStream(ctx, beta, hook.ID)
	wantCode(t, err, auditlog.ENOTFOUND)
	_, err = s.FindStream(ctx, acme, "nope")
	wantCode(t, err, auditlog.ENOTFOUND)
	_, err = s.StreamSecrets(ctx, beta, hook.ID)
	wantCode(t, err, auditlog.ENOTFOUND)
	wantCode(t, s.DeleteStream(ctx, beta, hook.ID), auditlog.ENOTFOUND)
	_, err = s.Streams(ctx, auditlog.OrgRef{Provider: "gh", Name: "nobody"})
	wantCode(t, err, auditlog.ENOTFOUND)
	_, err = s.CreateStream(ctx, &auditlog.Stream{Org: auditlog.OrgRef{Provider: "gh", Name: "nobody"}, Type: auditlog.StreamWebhook, URL: "http://x"}, auditlog.StreamSecrets{URL: "http://x", Secret: []byte("s")})
	wantCode(t, err, auditlog.ENOTFOUND)

	// Delete.
	if err := s.DeleteStream(ctx, acme, hook.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindStream(ctx, acme, hook.ID)
	wantCode(t, err, auditlog.ENOTFOUND)
	wantCode(t, s.DeleteStream(ctx, acme, hook.ID), auditlog.ENOTFOUND)
	wantCode(t, s.SetStreamStatus(ctx, acme, hook.ID, 0, want), auditlog.ENOTFOUND)
	if list, _ := s.Streams(ctx, acme); len(list) != 1 || list[0].ID != bus.ID {
		t.Errorf("after delete, Streams = %v", list)
	}

	// At most MaxStreamsPerOrg per organization.
	for range auditlog.MaxStreamsPerOrg - 1 {
		MustCreateStream(t, s, auditlog.Stream{Org: acme, Type: auditlog.StreamNATS, URL: "nats://h", Subject: "s"}, auditlog.StreamSecrets{URL: "nats://h"})
	}
	_, err = s.CreateStream(ctx, &auditlog.Stream{Org: acme, Type: auditlog.StreamNATS, URL: "nats://h", Subject: "s"}, auditlog.StreamSecrets{URL: "nats://h"})
	wantCode(t, err, auditlog.EUNPROCESSABLE)
}

func testStreamStatus(t *testing.T, open StreamOpener) {
	ctx := context.Background()
	s := open(t, NewClock(T0).Now, MustStreamKey(t, 7))
	acme := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
	st := MustCreateStream(t, s, auditlog.Stream{Org: acme, Type: auditlog.StreamWebhook, URL: "http://127.0.0.1:9/x"},
		auditlog.StreamSecrets{URL: "http://127.0.0.1:9/x", Secret: []byte("k")})
	since, success := T0.Add(time.Minute), T0.Add(-time.Minute)
	status := auditlog.StreamStatus{State: auditlog.StreamFailing, Cursor: 41, LastDeliveredSequence: 40,
		LastError: "the receiver answered 500 Internal Server Error", LastSuccessAt: &success, FailingSince: &since}
	lease := MustClaim(t, s, acme, st.ID)
	if err := s.SetStreamStatus(ctx, acme, st.ID, lease.Token, status); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindStream(ctx, acme, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(status, got.StreamStatus); diff != "" {
		t.Errorf("status read back (-want +got):\n%s", diff)
	}
	if got.URL != st.URL || got.Type != st.Type || !got.CreatedAt.Equal(st.CreatedAt) {
		t.Errorf("SetStreamStatus changed the stream: %+v, was %+v", got, st)
	}
}

// MustClaim claims s's streams and returns the lease of stream id, failing
// tb unless s holds it.
func MustClaim(tb testing.TB, s auditlog.StreamStore, ref auditlog.OrgRef, id string) auditlog.StreamLease {
	tb.Helper()
	leases, err := s.ClaimStreams(context.Background())
	if err != nil {
		tb.Fatalf("claim streams: %v", err)
	}
	for _, l := range leases {
		if l.Org == ref && l.ID == id {
			return l
		}
	}
	tb.Fatalf("the store does not hold stream %s/%s after a claim", ref, id)
	return auditlog.StreamLease{}
}

// A store alone on its data holds every stream: each claim returns them all,
// with their current status, and the status is written under the claimed
// token. (Leases shared by servers are the PostgreSQL store's own tests.)
func testClaimStreams(t *testing.T, open StreamOpener) {
	ctx := context.Background()
	s := mustOpenWithOrgs(t, open)
	if leases, err := s.ClaimStreams(ctx); err != nil || len(leases) != 0 {
		t.Fatalf("ClaimStreams with no streams = %v, %v", leases, err)
	}
	a := MustCreateStream(t, s, auditlog.Stream{Org: acme, Type: auditlog.StreamWebhook, URL: "http://127.0.0.1:9/a"},
		auditlog.StreamSecrets{URL: "http://127.0.0.1:9/a", Secret: []byte("k")})
	b := MustCreateStream(t, s, auditlog.Stream{Org: beta, Type: auditlog.StreamNATS, URL: "nats://127.0.0.1:4222", Subject: "b"},
		auditlog.StreamSecrets{URL: "nats://127.0.0.1:4222"})
	first := MustClaim(t, s, acme, a.ID)
	if diff := cmp.Diff(a, first.Stream); diff != "" {
		t.Errorf("claimed stream (-want +got):\n%s", diff)
	}
	MustClaim(t, s, beta, b.ID)
	status := auditlog.StreamStatus{State: auditlog.StreamActive, Cursor: 9, LastDeliveredSequence: 8}
	if err := s.SetStreamStatus(ctx, acme, a.ID, first.Token, status); err != nil {
		t.Fatal(err)
	}
	again := MustClaim(t, s, acme, a.ID)
	if again.Token != first.Token {
		t.Errorf("a renewed lease has token %d, was %d: only a new holder changes it", again.Token, first.Token)
	}
	if diff := cmp.Diff(status, again.StreamStatus); diff != "" {
		t.Errorf("status in the next claim (-want +got):\n%s", diff)
	}
	if err := s.DeleteStream(ctx, acme, a.ID); err != nil {
		t.Fatal(err)
	}
	leases, err := s.ClaimStreams(ctx)
	if err != nil || len(leases) != 1 || leases[0].ID != b.ID {
		t.Errorf("ClaimStreams after a delete = %v, %v; want only %s", leases, err, b.ID)
	}
	wantCode(t, s.SetStreamStatus(ctx, acme, a.ID, first.Token, status), auditlog.ENOTFOUND)
}

// mustOpenWithOrgs opens a store at T0 with organizations acme and beta on the Business plan.
func mustOpenWithOrgs(t *testing.T, open StreamOpener) StreamStore {
	t.Helper()
	s := open(t, NewClock(T0).Now, MustStreamKey(t, 7))
	MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
	MustCreateOrg(t, s, beta, auditlog.PlanBusiness)
	return s
}

func testEventsFrom(t *testing.T, open StreamOpener) {
	ctx := context.Background()
	s := mustOpenWithOrgs(t, open)
	var batch []auditlog.Event
	for i := range 7 {
		e := NewEvent(acme, "")
		e.Timestamp = T0.Add(-time.Duration(i) * time.Minute) // timestamps against sequence order
		batch = append(batch, e)
	}
	MustAppend(t, s, batch...)
	MustAppend(t, s, NewEvent(beta, "b0"))
	seqs := func(from int64, limit int) []int64 {
		t.Helper()
		var out []int64
		for e, err := range s.EventsFrom(ctx, acme, from, limit) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Organization != acme || e.ID == "" || e.ReceivedAt.IsZero() {
				t.Errorf("event %+v", e)
			}
			out = append(out, e.Sequence)
		}
		return out
	}
	for _, tc := range []struct {
		from  int64
		limit int
		want  []int64
	}{
		{0, 0, []int64{0, 1, 2, 3, 4, 5, 6}},
		{3, 0, []int64{3, 4, 5, 6}},
		{3, 2, []int64{3, 4}},
		{6, 10, []int64{6}},
		{7, 0, nil},
		{-1, 1, []int64{0}},
	} {
		if got := seqs(tc.from, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("EventsFrom(%d, %d) = %v, want %v", tc.from, tc.limit, got, tc.want)
		}
	}
	for _, err := range s.EventsFrom(ctx, auditlog.OrgRef{Provider: "gh", Name: "nobody"}, 0, 0) {
		wantCode(t, err, auditlog.ENOTFOUND)
	}
}
