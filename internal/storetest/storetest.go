// Package storetest is the contract that every auditlog.Store implementation
// must meet, written once: the embedded Pebble store runs it always, the
// PostgreSQL store whenever a database is reachable.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB, now func() time.Time) auditlog.Store {
//			db := pebble.NewDB(tb.TempDir())
//			db.Now = now
//			...
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// Opener returns a new, empty, open store whose clock is now. It closes the
// store when tb ends (tb.Cleanup).
type Opener func(tb testing.TB, now func() time.Time) auditlog.Store

// T0 is the time every test starts at: millisecond precision, in UTC.
var T0 = time.Date(2025, 6, 28, 14, 29, 13, 430_000_000, time.UTC)

// Run runs the whole contract against the stores that open returns. Each
// subtest opens its own store.
func Run(t *testing.T, open func(tb testing.TB, now func() time.Time) auditlog.Store) {
	t.Run("Organizations", func(t *testing.T) { testOrganizations(t, open) })
	t.Run("Members", func(t *testing.T) { testMembers(t, open) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("Append", func(t *testing.T) { testAppend(t, open) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open) })
	t.Run("InvalidBatch", func(t *testing.T) { testInvalidBatch(t, open) })
	t.Run("Validation", func(t *testing.T) { testValidation(t, open) })
	t.Run("FindEvents", func(t *testing.T) { testFindEvents(t, open) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("Time", func(t *testing.T) { testTime(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustOpen opens a store whose clock starts at T0.
func mustOpen(tb testing.TB, open Opener) (auditlog.Store, *Clock) {
	tb.Helper()
	clock := NewClock(T0)
	s := open(tb, clock.Now)
	if s == nil {
		tb.Fatal("open returned a nil store")
	}
	return s, clock
}

// MustCreateOrg creates the organization ref on plan, failing tb if it cannot
// or if it already existed.
func MustCreateOrg(tb testing.TB, s auditlog.DirectoryService, ref auditlog.OrgRef, plan string) *auditlog.Organization {
	tb.Helper()
	org, created, err := s.PutOrganization(context.Background(), ref, auditlog.OrganizationUpdate{Plan: &plan})
	if err != nil {
		tb.Fatalf("create organization %s: %v", ref, err)
	}
	if !created {
		tb.Fatalf("create organization %s: it already existed", ref)
	}
	return org
}

// MustPutMember creates or updates the membership of email in ref.
func MustPutMember(tb testing.TB, s auditlog.DirectoryService, ref auditlog.OrgRef, email, role string, manager bool) *auditlog.Member {
	tb.Helper()
	m, _, err := s.PutMember(context.Background(), ref, email, auditlog.MemberUpdate{Role: &role, Manager: &manager})
	if err != nil {
		tb.Fatalf("put member %s of %s: %v", email, ref, err)
	}
	return m
}

// MustAppend appends events as one batch, failing tb on error.
func MustAppend(tb testing.TB, s auditlog.EventService, events ...auditlog.Event) *auditlog.AppendResult {
	tb.Helper()
	res, err := s.AppendEvents(context.Background(), events)
	if err != nil {
		tb.Fatalf("append %d events: %v (details %v)", len(events), err, auditlog.ErrorDetails(err))
	}
	if got, want := len(res.Events), len(events); got != want {
		tb.Fatalf("append: result lists %d events, want %d", got, want)
	}
	if got, want := res.Accepted+res.Duplicates, len(events); got != want {
		tb.Fatalf("append: accepted %d + duplicates %d, want %d", res.Accepted, res.Duplicates, want)
	}
	return res
}

// MustFindEvents reads every event of ref that f selects, failing tb on error.
func MustFindEvents(tb testing.TB, s auditlog.EventService, ref auditlog.OrgRef, f auditlog.EventFilter) []auditlog.Event {
	tb.Helper()
	var out []auditlog.Event
	for e, err := range s.FindEvents(context.Background(), ref, f) {
		if err != nil {
			tb.Fatalf("find events of %s: %v", ref, err)
		}
		// Every stored event commits to its personal fields: a salt, or once erased their hash.
		// Tests compare the rest; the salt is random.
		if len(e.Salt) != auditlog.SaltSize && !e.Erased() {
			tb.Fatalf("event %s/%d has no salt and is not erased", ref, e.Sequence)
		}
		e.Salt = nil
		out = append(out, *e)
	}
	return out
}

// NewEvent returns a valid event of ref with client id id (none if empty):
// a user.login of alice@example.com at T0 - 1h. Callers change what they test.
func NewEvent(ref auditlog.OrgRef, id string) auditlog.Event {
	return auditlog.Event{
		Organization: ref,
		ID:           id,
		Action:       "user.login",
		Actor:        auditlog.Actor{Email: "alice@example.com", Role: auditlog.RoleOrganizationAdmin},
		Timestamp:    T0.Add(-time.Hour),
	}
}

// wantCode fails tb unless err carries the auditlog error code want.
func wantCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want code %q", want)
	}
	if got := auditlog.ErrorCode(err); got != want {
		tb.Fatalf("error code %q (%v), want %q", got, err, want)
	}
	var e *auditlog.Error
	if !errors.As(err, &e) || e.Message == "" {
		tb.Fatalf("error %v has no client message", err)
	}
}

// batchErrors returns the per-event errors of a rejected batch, failing tb
// unless err is an EUNPROCESSABLE batch error.
func batchErrors(tb testing.TB, err error) []auditlog.EventError {
	tb.Helper()
	wantCode(tb, err, auditlog.EUNPROCESSABLE)
	bad, ok := auditlog.ErrorDetails(err).([]auditlog.EventError)
	if !ok {
		tb.Fatalf("error details are %T, want []auditlog.EventError", auditlog.ErrorDetails(err))
	}
	for _, b := range bad {
		if b.Reason == "" {
			tb.Errorf("event %d: empty reason", b.Index)
		}
	}
	return bad
}

// indexes returns the indexes that bad names, in order.
func indexes(bad []auditlog.EventError) []int {
	out := make([]int, len(bad))
	for i, b := range bad {
		out[i] = b.Index
	}
	return out
}

// ids returns the ids of events, in order.
func ids(events []auditlog.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// sequences returns the sequences of events, sorted.
func sequences(events []auditlog.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Sequence
	}
	slices.Sort(out)
	return out
}

func ptr[T any](v T) *T { return &v }
