package stream_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/pebble"
	"github.com/auditlog/auditlog/stream"
)

var acme = auditlog.OrgRef{Provider: "gh", Name: "acme"}

// receiver is a Deliverer that keeps what it receives and fails while told to.
type receiver struct {
	mu      sync.Mutex
	got     []*auditlog.Event
	batches int
	fail    int           // fail this many more deliveries
	block   chan struct{} // if set, deliveries wait for it (or their context)
	secrets [][]byte
}

func (r *receiver) Deliver(ctx context.Context, s *auditlog.Stream, secret []byte, events []*auditlog.Event) error {
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("receiver down")
	}
	r.got = append(r.got, events...)
	r.batches++
	r.secrets = append(r.secrets, secret)
	return nil
}

func (r *receiver) sequences() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int64
	for _, e := range r.got {
		out = append(out, e.Sequence)
	}
	return out
}

type fixture struct {
	db  *pebble.DB
	w   *stream.Worker
	dir string
}

// mustStart opens a store in dir (a new one if dir is "") and a worker over
// it that delivers webhook streams to hook, with fast retries.
func mustStart(tb testing.TB, dir string, hook auditlog.Deliverer, edit ...func(*stream.Worker, *pebble.DB)) *fixture {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	w := stream.NewWorker(nil)
	w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	w.RetryBase, w.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	w.PollInterval = time.Hour // only commits wake the streams: a missed notification fails the test
	w.Deliverers[auditlog.StreamWebhook] = hook
	db := pebble.NewDB(dir)
	db.StreamKey = storetest.MustStreamKey(tb, 3)
	db.Committed = w.Notify
	for _, e := range edit {
		e(w, db)
	}
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	w.Store = db
	if err := w.Open(); err != nil {
		tb.Fatal(err)
	}
	f := &fixture{db: db, w: w, dir: dir}
	tb.Cleanup(f.close)
	return f
}

func (f *fixture) close() {
	_ = f.w.Close()
	_ = f.db.Close()
}

func (f *fixture) mustCreate(tb testing.TB, q string) *auditlog.Stream {
	tb.Helper()
	return storetest.MustCreateStream(tb, f.w, auditlog.Stream{Org: acme, Type: auditlog.StreamWebhook, URL: "http://127.0.0.1:9/hook", Query: q},
		auditlog.StreamSecrets{URL: "http://127.0.0.1:9/hook", Secret: []byte("s3cret")})
}

func (f *fixture) mustAppend(tb testing.TB, n int, action string) {
	tb.Helper()
	var batch []auditlog.Event
	for range n {
		e := storetest.NewEvent(acme, "")
		e.Action = action
		batch = append(batch, e)
	}
	storetest.MustAppend(tb, f.db, batch...)
}

// waitFor polls cond until it holds or d passes.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func span(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestDeliversNewEventsInOrder(t *testing.T) {
	rcv := &receiver{}
	f := mustStart(t, "", rcv)
	storetest.MustCreateOrg(t, f.db, acme, auditlog.PlanBusiness)
	f.mustAppend(t, 5, "user.login") // before the stream: not delivered
	st := f.mustCreate(t, "")
	for range 10 {
		f.mustAppend(t, 30, "user.login")
	}
	want := span(5, 305)
	waitFor(t, 5*time.Second, "300 events", func() bool { return len(rcv.sequences()) >= len(want) })
	if got := rcv.sequences(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	for _, b := range rcv.secrets {
		if string(b) != "s3cret" {
			t.Fatalf("deliverer got secret %q", b)
		}
	}
	waitFor(t, time.Second, "the status", func() bool {
		got, _ := f.db.FindStream(context.Background(), acme, st.ID)
		return got.Cursor == 305
	})
	got, _ := f.db.FindStream(context.Background(), acme, st.ID)
	if got.State != auditlog.StreamActive || got.LastDeliveredSequence != 304 || got.LastSuccessAt == nil || got.LastError != "" {
		t.Errorf("status %+v", got.StreamStatus)
	}
	if rcv.batches > 3*10+1 && rcv.batches > len(want)/stream.DefaultBatchSize*3 {
		t.Errorf("%d batches for %d events", rcv.batches, len(want))
	}
}

// Only events matching q are delivered, and the cursor moves past the others.
func TestFilter(t *testing.T) {
	rcv := &receiver{}
	f := mustStart(t, "", rcv)
	storetest.MustCreateOrg(t, f.db, acme, auditlog.PlanBusiness)
	st := f.mustCreate(t, "action:repositories.*")
	f.mustAppend(t, 3, "user.login")                // 0..2
	f.mustAppend(t, 2, "repositories.tools.update") // 3..4
	f.mustAppend(t, 3, "user.login")                // 5..7
	waitFor(t, 5*time.Second, "the cursor past every event", func() bool {
		got, _ := f.db.FindStream(context.Background(), acme, st.ID)
		return got.Cursor == 8
	})
	if got := rcv.sequences(); !slices.Equal(got, []int64{3, 4}) {
		t.Errorf("delivered %v, want [3 4]", got)
	}
	got, _ := f.db.FindStream(context.Background(), acme, st.ID)
	if got.LastDeliveredSequence != 4 {
		t.Errorf("lastDeliveredSequence %d, want 4", got.LastDeliveredSequence)
	}
}

// A receiver that fails for a while gets every event after it recovers, in
// order; meanwhile the stream is failing with the error.
func TestRetriesUntilRecovered(t *testing.T) {
	rcv := &receiver{fail: 6}
	f := mustStart(t, "", rcv)
	storetest.MustCreateOrg(t, f.db, acme, auditlog.PlanBusiness)
	st := f.mustCreate(t, "")
	f.mustAppend(t, 10, "user.login")
	waitFor(t, 5*time.Second, "the stream failing", func() bool {
		got, _ := f.db.FindStream(context.Background(), acme, st.ID)
		return got.State == auditlog.StreamFailing
	})
	got, _ := f.db.FindStream(context.Background(), acme, st.ID)
	if got.LastError != "receiver down" || got.FailingSince == nil || got.LastDeliveredSequence != -1 {
		t.Errorf("failing status %+v", got.StreamStatus)
	}
	start := time.Now()
	f.mustAppend(t, 10, "user.login")
	waitFor(t, 10*time.Second, "20 events", func() bool { return len(rcv.sequences()) >= 20 })
	if got := rcv.sequences(); !slices.Equal(got, span(0, 20)) {
		t.Errorf("delivered %v", got)
	}
	// Six failures at 20 ms doubling to at most 200 ms: about 0.8 s in all.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("recovery took %v", d)
	}
	waitFor(t, time.Second, "the stream active", func() bool {
		got, _ := f.db.FindStream(context.Background(), acme, st.ID)
		return got.State == auditlog.StreamActive
	})
	got, _ = f.db.FindStream(context.Background(), acme, st.ID)
	if got.FailingSince != nil || got.LastSuccessAt == nil || got.LastError != "receiver down" {
		t.Errorf("recovered status %+v", got.StreamStatus)
	}
}

// A receiver that hangs holds up neither ingest nor another stream.
func TestSlowReceiverIsolated(t *testing.T) {
	slow := &receiver{block: make(chan struct{})}
	fast := &receiver{}
	f := mustStart(t, "", slow)
	f.w.Deliverers[auditlog.StreamNATS] = fast
	defer close(slow.block)
	storetest.MustCreateOrg(t, f.db, acme, auditlog.PlanBusiness)
	f.mustCreate(t, "")
	storetest.MustCreateStream(t, f.w, auditlog.Stream{Org: acme, Type: auditlog.StreamNATS, URL: "nats://127.0.0.1:4222", Subject: "x"}, auditlog.StreamSecrets{URL: "nats://127.0.0.1:4222"})
	start := time.Now()
	for range 50 {
		f.mustAppend(t, 10, "user.login")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("50 appends took %v while a receiver hangs", d)
	}
	waitFor(t, 5*time.Second, "the other stream's 500 events", func() bool { return len(fast.sequences()) == 500 })
	if n := len(slow.sequences()); n != 0 {
		t.Errorf("the hanging receiver got %d events", n)
	}
}

// A deleted stream gets nothing more.
func TestDeleteStops(t *testing.T) {
	rcv := &receiver{}
	f := mustStart(t, "", rcv)
	storetest.MustCreateOrg(t, f.db, acme, auditlog.PlanBusiness)
	st := f.mustCreate(t, "")
	f.mustAppend(t, 3, "user.login")
	waitFor(t, 5*time.Second, "3 events", func() bool { return len(rcv.sequences()) == 3 })
	if err := f.w.DeleteStream(context.Background(), acme, st.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	f.mustAppend(t, 3, "user.login")
	time.Sleep(200 * time.Millisecond)
	if n := len(rcv.sequences()); n != 3 {
		t.Errorf("%d events after the delete, want 3", n)
	}
}

// The cursor is durable: after a restart delivery resumes where it was,
// losing nothing.
func TestResumesAfterRestart(t *testing.T) {
	rcv := &receiver{}
	f := mustStart(t, "", rcv)
	storetest.MustCreateOrg(t, f.db, acme, auditlog.PlanBusiness)
	f.mustCreate(t, "")
	f.mustAppend(t, 20, "user.login")
	waitFor(t, 5*time.Second, "20 events", func() bool { return len(rcv.sequences()) == 20 })

	// The receiver goes down; events arrive; the server restarts.
	rcv.mu.Lock()
	rcv.fail = 1 << 30
	rcv.mu.Unlock()
	f.mustAppend(t, 20, "user.login")
	time.Sleep(50 * time.Millisecond)
	f.close()
	rcv.mu.Lock()
	rcv.fail = 0
	rcv.mu.Unlock()
	f = mustStart(t, f.dir, rcv)
	f.mustAppend(t, 5, "user.login")
	waitFor(t, 5*time.Second, "45 events", func() bool { return len(rcv.sequences()) >= 45 })
	if got := rcv.sequences(); !slices.Equal(got, span(0, 45)) {
		t.Errorf("delivered %v", got)
	}
}

// Events that no commit notified (another server's, on a shared database)
// are found by the poll.
func TestPoll(t *testing.T) {
	rcv := &receiver{}
	f := mustStart(t, "", rcv, func(w *stream.Worker, db *pebble.DB) {
		db.Committed = nil
		w.PollInterval = 20 * time.Millisecond
	})
	storetest.MustCreateOrg(t, f.db, acme, auditlog.PlanBusiness)
	st := f.mustCreate(t, "")
	waitFor(t, 5*time.Second, "the stream running", func() bool {
		got, _ := f.db.FindStream(context.Background(), acme, st.ID)
		return got != nil
	})
	time.Sleep(50 * time.Millisecond)
	f.mustAppend(t, 2, "user.login")
	waitFor(t, 5*time.Second, "2 events", func() bool { return len(rcv.sequences()) == 2 })
}
