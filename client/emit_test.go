package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
)

// TestEmitBatches: full batches go out on their own, Flush sends the rest,
// and N events take N/BatchSize requests, not N.
func TestEmitBatches(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	cnt := &counter{}
	c := client.New(s.URL, client.WithToken(adminToken), client.WithHTTPClient(&http.Client{Transport: cnt}),
		client.WithBatchSize(100), client.WithFlushInterval(0))
	defer c.Close(context.Background())
	ctx := t.Context()
	for i := range 250 {
		if err := c.Emit(ctx, login(acme, "")); err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
	}
	waitFor(t, "two full batches", func() bool { return len(s.MustStored(acme)) == 200 })
	if got := cnt.Count("POST /api/v1/events"); got != 2 {
		t.Fatalf("%d requests before Flush, want 2", got)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(cnt.Sizes()), "[100 100 50]"; got != want {
		t.Errorf("batch sizes %s, want %s", got, want)
	}
	s.MustHaveExactly(acme, 250)
	if err := c.Flush(ctx); err != nil { // nothing left: no request
		t.Fatal(err)
	}
	if got := cnt.Count("POST /api/v1/events"); got != 3 {
		t.Errorf("%d requests after an empty Flush, want 3", got)
	}
}

// TestEmitFlushInterval: a batch that never fills goes out when its first
// event has waited the flush interval, without Flush.
func TestEmitFlushInterval(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	cnt := &counter{}
	c := client.New(s.URL, client.WithToken(adminToken), client.WithHTTPClient(&http.Client{Transport: cnt}),
		client.WithFlushInterval(30*time.Millisecond))
	defer c.Close(context.Background())
	start := time.Now()
	for range 3 {
		if err := c.Emit(t.Context(), login(acme, "")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the timed batch", func() bool { return len(s.MustStored(acme)) == 3 })
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("the batch went out after %v, before the 30ms interval", d)
	}
	if got, want := fmt.Sprint(cnt.Sizes()), "[3]"; got != want {
		t.Errorf("batch sizes %s, want %s", got, want)
	}
}

// TestEmitClientFields: the client gives an event without an id a UUIDv7 of
// its own clock before sending, keeps an id it was given, and stamps an
// event without a timestamp with the time of Emit.
func TestEmitClientFields(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	then := time.Date(2025, 6, 28, 14, 29, 13, 430_000_000, time.UTC)
	c := client.New(s.URL, client.WithToken(adminToken), client.WithClock(func() time.Time { return then }))
	if err := c.Emit(t.Context(), login(acme, "")); err != nil {
		t.Fatal(err)
	}
	if err := c.Emit(t.Context(), login(acme, "mine-1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	events := s.MustHaveExactly(acme, 2)
	byID := map[string]*auditlog.Event{}
	for _, e := range events {
		byID[e.ID] = e
		if !e.Timestamp.Equal(then) {
			t.Errorf("event %s: timestamp %v, want the client's %v", e.ID, e.Timestamp, then)
		}
	}
	if byID["mine-1"] == nil {
		t.Fatalf("the given id was not kept: %v", byID)
	}
	// A UUIDv7's first 48 bits are its Unix milliseconds: the client's clock, not the server's.
	prefix := fmt.Sprintf("%08x-%04x-7", then.UnixMilli()>>16, then.UnixMilli()&0xffff)
	for id := range byID {
		if id != "mine-1" && !strings.HasPrefix(id, prefix) {
			t.Errorf("id %s is not a UUIDv7 of the client's clock (%s...)", id, prefix)
		}
	}
}

// TestEmitRetries: batches that meet 5xx answers, or whose answers are lost
// after the server stored them, are sent again with the same ids: every
// event is stored exactly once.
func TestEmitRetries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string
		status int
		fail   int
	}{
		{"503", "status", http.StatusServiceUnavailable, 3},
		{"502 from the proxy", "status", http.StatusBadGateway, 2},
		{"500", "status", http.StatusInternalServerError, 2},
		{"429", "status", http.StatusTooManyRequests, 2},
		{"answers lost after the commit", "drop", 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustRunServer(t)
			s.MustCreateOrg(acme, auditlog.PlanBusiness)
			p := MustRunProxy(t, s.URL)
			p.FailNext("/api/v1/events", tc.mode, tc.status, "0", tc.fail)
			var reported []error
			c := client.New(p.URL, client.WithToken(adminToken), fastRetry, client.WithBatchSize(50), client.WithFlushInterval(0),
				client.WithErrorHandler(func(err error) { reported = append(reported, err) }))
			for i := range 120 {
				id := ""
				if i%3 == 0 {
					id = fmt.Sprint("given-", i)
				}
				if err := c.Emit(t.Context(), login(acme, id)); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if len(reported) > 0 {
				t.Fatalf("errors reported: %v", reported)
			}
			if seen, _ := p.Seen(); seen != 3+tc.fail {
				t.Errorf("the proxy saw %d requests, want 3 batches + %d failures", seen, tc.fail)
			}
			s.MustHaveExactly(acme, 120)
			if tc.mode == "drop" {
				// The server stored the first attempt; the retries found every id known.
				answers := p.Dropped()
				if len(answers) != tc.fail || !strings.Contains(answers[0], `"accepted":50,"duplicates":0`) {
					t.Fatalf("dropped answers %q", answers)
				}
				for _, a := range answers[1:] {
					if !strings.Contains(a, `"accepted":0,"duplicates":50`) {
						t.Errorf("a retry stored something: %s", a)
					}
				}
			}
		})
	}
}

// TestAppendEventsLostAnswer: AppendEvents over HTTP gives events client ids
// before the first attempt; when answers are lost the retry's answer says
// they were all stored already, at their first sequences.
func TestAppendEventsLostAnswer(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	p := MustRunProxy(t, s.URL)
	p.FailNext("/api/v1/events", "drop", 0, "", 2)
	c := client.New(p.URL, client.WithToken(adminToken), fastRetry)
	events := []auditlog.Event{login(acme, ""), login(acme, ""), login(acme, "x"), login(acme, "")}
	res, err := c.AppendEvents(t.Context(), events)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 0 || res.Duplicates != 4 || len(res.Events) != 4 {
		t.Fatalf("result %+v, want the first attempt's 4 events reported as duplicates", res)
	}
	stored := s.MustHaveExactly(acme, 4)
	bySeq := map[int64]string{}
	for _, e := range stored {
		bySeq[e.Sequence] = e.ID
	}
	for i, a := range res.Events {
		if a.Sequence != int64(i) || bySeq[a.Sequence] != a.ID {
			t.Errorf("result event %d: %+v, stored id %q", i, a, bySeq[a.Sequence])
		}
	}
	if events[0].ID != "" {
		t.Error("AppendEvents changed the caller's events")
	}
}

// TestRetryAfter: a 429's Retry-After is honoured even when the backoff is shorter.
func TestRetryAfter(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	p := MustRunProxy(t, s.URL)
	p.FailNext("/api/v1/events", "status", http.StatusTooManyRequests, "1", 1)
	c := client.New(p.URL, client.WithToken(adminToken), fastRetry)
	if _, err := c.AppendEvents(t.Context(), []auditlog.Event{login(acme, "")}); err != nil {
		t.Fatal(err)
	}
	seen, times := p.Seen()
	if seen != 2 {
		t.Fatalf("%d requests, want 2", seen)
	}
	if gap := times[1].Sub(times[0]); gap < 950*time.Millisecond {
		t.Errorf("retried after %v, before Retry-After: 1", gap)
	}
	s.MustHaveExactly(acme, 1)

	// A client that bounds Retry-After gives up at once on a longer one.
	p.FailNext("/api/v1/events", "status", http.StatusTooManyRequests, "5", 1)
	impatient := client.New(p.URL, client.WithToken(adminToken),
		client.WithRetry(client.Retry{MaxAttempts: 5, MinBackoff: time.Millisecond, MaxRetryAfter: time.Second}))
	start := time.Now()
	_, err := impatient.AppendEvents(t.Context(), []auditlog.Event{login(acme, "")})
	wantCode(t, err, auditlog.ETOOMANY)
	if seen, _ := p.Seen(); seen != 3 || time.Since(start) > time.Second {
		t.Errorf("%d requests in %v, want one more, at once", seen, time.Since(start))
	}
}

// TestRetryGivesUp: a batch that keeps failing is tried MaxAttempts times,
// then reported with its events, by the error handler and by Flush; an
// answer that retrying cannot change (400) is not retried.
func TestRetryGivesUp(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	for _, tc := range []struct {
		status   int
		attempts int
		code     string
	}{
		{http.StatusInternalServerError, 3, auditlog.EINTERNAL},
		{http.StatusServiceUnavailable, 3, auditlog.EUNAVAILABLE},
		{http.StatusBadRequest, 1, auditlog.EINVALID},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			p := MustRunProxy(t, s.URL)
			p.FailNext("/api/v1/events", "status", tc.status, "", 1000)
			var mu sync.Mutex
			var reported []error
			c := client.New(p.URL, client.WithToken(adminToken), client.WithFlushInterval(0),
				client.WithRetry(client.Retry{MaxAttempts: 3, MinBackoff: time.Millisecond}),
				client.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
			defer c.Close(context.Background())
			for i := range 10 {
				if err := c.Emit(t.Context(), login(acme, fmt.Sprint("e", i))); err != nil {
					t.Fatal(err)
				}
			}
			err := c.Flush(t.Context())
			var se *client.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Flush: %v, want a *SendError", err)
			}
			if len(se.Events) != 10 || se.Events[3].ID != "e3" {
				t.Errorf("the error holds %d events", len(se.Events))
			}
			wantCode(t, err, tc.code)
			wantMessage(t, err, fmt.Sprintf("the server answered %d", tc.status))
			if seen, _ := p.Seen(); seen != tc.attempts {
				t.Errorf("%d attempts, want %d", seen, tc.attempts)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reported) != 1 || !errors.As(reported[0], &se) {
				t.Errorf("error handler got %v", reported)
			}
			if err := c.Flush(t.Context()); err != nil {
				t.Errorf("a second Flush reports again: %v", err)
			}
		})
	}
}

// TestEmitInvalid: an invalid event is refused by Emit and never sent, so it
// cannot sink the batch of valid ones.
func TestEmitInvalid(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	cnt := &counter{}
	c := client.New(s.URL, client.WithToken(adminToken), client.WithHTTPClient(&http.Client{Transport: cnt}))
	defer c.Close(context.Background())
	bad := login(acme, "")
	bad.Action = "user.dance"
	err := c.Emit(t.Context(), bad)
	wantCode(t, err, auditlog.EUNPROCESSABLE)
	wantMessage(t, err, `unknown action "user.dance"`)
	noActor := login(acme, "")
	noActor.Actor = auditlog.Actor{}
	wantCode(t, c.Emit(t.Context(), noActor), auditlog.EUNPROCESSABLE)
	if err := c.Emit(t.Context(), login(acme, "")); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.MustHaveExactly(acme, 1)
	if got := fmt.Sprint(cnt.Sizes()); got != "[1]" {
		t.Errorf("batches %s, want [1]", got)
	}
}

// TestEmitRefused: events the server refuses (an organization that does not
// exist) are reported with the server's reasons; the rest of their batch is
// sent again and stored.
func TestEmitRefused(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	cnt := &counter{}
	c := client.New(s.URL, client.WithToken(adminToken), client.WithHTTPClient(&http.Client{Transport: cnt}))
	defer c.Close(context.Background())
	for i := range 5 {
		ref := acme
		if i == 1 || i == 3 {
			ref = beta
		}
		if err := c.Emit(t.Context(), login(ref, fmt.Sprint("e", i))); err != nil {
			t.Fatal(err)
		}
	}
	err := c.Flush(t.Context())
	var se *client.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Flush: %v, want a *SendError", err)
	}
	if len(se.Events) != 2 || se.Events[0].ID != "e1" || se.Events[1].ID != "e3" {
		t.Fatalf("refused events %v", se.Events)
	}
	wantCode(t, err, auditlog.EUNPROCESSABLE)
	got := fmt.Sprint(auditlog.ErrorDetails(err))
	if want := "[{0 organization gl/beta does not exist} {1 organization gl/beta does not exist}]"; got != want {
		t.Errorf("details %s, want %s", got, want)
	}
	stored := s.MustHaveExactly(acme, 3)
	for _, e := range stored {
		if e.ID == "e1" || e.ID == "e3" {
			t.Errorf("refused event %s stored", e.ID)
		}
	}
	if got := fmt.Sprint(cnt.Sizes()); got != "[5 3]" {
		t.Errorf("batches %s, want [5 3]", got)
	}
}

// TestEmitBufferFull: the queue is bounded. A full queue fails Emit at once
// with WithFailWhenFull, and otherwise makes it wait until its context ends;
// what was queued is delivered once the server answers again.
func TestEmitBufferFull(t *testing.T) {
	for _, failWhenFull := range []bool{true, false} {
		t.Run(fmt.Sprint("failWhenFull=", failWhenFull), func(t *testing.T) {
			s := MustRunServer(t)
			s.MustCreateOrg(acme, auditlog.PlanBusiness)
			p := MustRunProxy(t, s.URL)
			release := p.Hold("/api/v1/events")
			defer release()
			opts := []client.Option{client.WithToken(adminToken), client.WithBatchSize(1), client.WithBufferSize(2), client.WithFlushInterval(0)}
			if failWhenFull {
				opts = append(opts, client.WithFailWhenFull())
			}
			c := client.New(p.URL, opts...)
			if err := c.Emit(t.Context(), login(acme, "")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the first batch to be held", func() bool { n, _ := p.Seen(); return n == 1 })
			for range 2 { // the queue's room
				if err := c.Emit(t.Context(), login(acme, "")); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			err := c.Emit(ctx, login(acme, ""))
			if failWhenFull && !errors.Is(err, client.ErrBufferFull) {
				t.Fatalf("Emit on a full queue: %v, want ErrBufferFull", err)
			}
			if !failWhenFull && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Emit on a full queue: %v, want it to wait until its context ends", err)
			}
			release()
			if err := c.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			s.MustHaveExactly(acme, 3)
		})
	}
}

// TestClose: Close sends what is queued and stops; afterwards Emit and Flush
// fail with ErrClosed and Close does nothing.
func TestClose(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	c := client.New(s.URL, client.WithToken(adminToken), client.WithFlushInterval(0))
	for range 10 {
		if err := c.Emit(t.Context(), login(acme, "")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.MustHaveExactly(acme, 10)
	if err := c.Emit(t.Context(), login(acme, "")); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Emit after Close: %v", err)
	}
	if err := c.Flush(t.Context()); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := c.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A client that never emitted closes at once.
	if err := client.New(s.URL).Close(t.Context()); err != nil {
		t.Error(err)
	}
}

// TestCloseDeadline: when Close's context ends before the server answers, the
// events not stored come back in the error.
func TestCloseDeadline(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	p := MustRunProxy(t, s.URL)
	release := p.Hold("/api/v1/events")
	defer release()
	c := client.New(p.URL, client.WithToken(adminToken), client.WithBatchSize(3), client.WithFlushInterval(0))
	for range 5 {
		if err := c.Emit(t.Context(), login(acme, "")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := c.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want its deadline", err)
	}
	lost := 0
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		for _, e := range flatten(e) {
			var se *client.SendError
			if errors.As(e, &se) {
				lost += len(se.Events)
			}
		}
	}
	if lost != 5 {
		t.Errorf("the error names %d events, want the 5 not stored: %v", lost, err)
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// TestEmitConcurrentClose: Emits racing Close either queue their event, which
// is then stored, or get ErrClosed; none is lost.
func TestEmitConcurrentClose(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	c := client.New(s.URL, client.WithToken(adminToken), client.WithBatchSize(7), client.WithBufferSize(5))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				err := c.Emit(t.Context(), login(acme, fmt.Sprint(g, "-", i)))
				if errors.Is(err, client.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		})
	}
	waitFor(t, "some events", func() bool { return len(s.MustStored(acme)) > 50 })
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s.MustHaveExactly(acme, accepted)
}
