package http

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// MustOpenAdmission returns an admission control of budget bytes with queue
// waiters, each waiting at most wait.
func MustOpenAdmission(tb testing.TB, budget int64, queue int, wait time.Duration) *admission {
	tb.Helper()
	a := newAdmission(budget, queue, wait, prometheus.NewRegistry())
	if a == nil {
		tb.Fatal("no admission control")
	}
	return a
}

// mustAdmit acquires n bytes without waiting.
func mustAdmit(tb testing.TB, a *admission, n int64) func() {
	tb.Helper()
	waiting := a.waiting.Load()
	release, err := a.acquire(context.Background(), n)
	if err != nil {
		tb.Fatalf("a request of %d bytes was not admitted: %v", n, err)
	}
	if a.waiting.Load() != waiting {
		tb.Fatalf("a request of %d bytes waited", n)
	}
	return release
}

// pending is a request waiting for admission in the background.
type pending struct {
	done    chan struct{}
	release func()
	err     error
}

func startAcquire(ctx context.Context, a *admission, n int64) *pending {
	p := &pending{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.release, p.err = a.acquire(ctx, n)
	}()
	return p
}

func (p *pending) admitted() bool {
	select {
	case <-p.done:
		return p.err == nil
	default:
		return false
	}
}

func (p *pending) mustFinish(tb testing.TB) {
	tb.Helper()
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		tb.Fatal("the request is still waiting")
	}
}

// mustQueue waits until n requests wait and the semaphore's queue is not
// empty (a request of 1 byte would not be let past it while there is room).
func mustQueue(tb testing.TB, a *admission, n int64) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for a.waiting.Load() != n || a.sem.TryAcquire(1) && func() bool { a.sem.Release(1); return true }() {
		if time.Now().After(deadline) {
			tb.Fatalf("%d requests wait, want %d in the queue", a.waiting.Load(), n)
		}
		runtime.Gosched()
	}
}

func gauge(tb testing.TB, g prometheus.Gauge) float64 {
	tb.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func counter(tb testing.TB, c prometheus.Counter) float64 {
	tb.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// Small requests are admitted together while their sum fits the budget;
// the next one waits until one of them is done.
func TestAdmissionSmallRequestsShareTheBudget(t *testing.T) {
	a := MustOpenAdmission(t, 1000, 10, time.Minute)
	var releases []func()
	for range 10 {
		releases = append(releases, mustAdmit(t, a, 100))
	}
	if got := gauge(t, a.inflightGauge); got != 10 {
		t.Errorf("auditlog_ingest_inflight %v, want 10", got)
	}
	if got := gauge(t, a.bytesGauge); got != 1000 {
		t.Errorf("auditlog_ingest_inflight_bytes %v, want 1000", got)
	}
	p := startAcquire(context.Background(), a, 100)
	mustQueue(t, a, 1)
	if got := gauge(t, a.waitingGauge); got != 1 {
		t.Errorf("auditlog_ingest_waiting %v, want 1", got)
	}
	releases[0]()
	p.mustFinish(t)
	if p.err != nil {
		t.Fatal(p.err)
	}
	p.release()
	for _, r := range releases[1:] {
		r()
	}
	if got := gauge(t, a.bytesGauge); got != 0 {
		t.Errorf("auditlog_ingest_inflight_bytes %v after all are done, want 0", got)
	}
	// The whole budget is free again.
	mustAdmit(t, a, 1000)()
}

// A large request waits until its whole weight is free, not just some.
func TestAdmissionLargeRequestWaitsForItsWeight(t *testing.T) {
	a := MustOpenAdmission(t, 1000, 10, time.Minute)
	r1 := mustAdmit(t, a, 300)
	r2 := mustAdmit(t, a, 300)
	big := startAcquire(context.Background(), a, 800)
	mustQueue(t, a, 1)
	r1() // 700 free: not enough
	mustQueue(t, a, 1)
	if big.admitted() {
		t.Fatal("800 bytes admitted with 700 free")
	}
	r2()
	big.mustFinish(t)
	if big.err != nil {
		t.Fatal(big.err)
	}
	if got := gauge(t, a.bytesGauge); got != 800 {
		t.Errorf("auditlog_ingest_inflight_bytes %v, want 800", got)
	}
	big.release()
}

// Requests are admitted in the order they came: a small one that would fit
// does not overtake a large one waiting before it.
func TestAdmissionFIFO(t *testing.T) {
	a := MustOpenAdmission(t, 1000, 10, time.Minute)
	r := mustAdmit(t, a, 900)
	big := startAcquire(context.Background(), a, 1000)
	mustQueue(t, a, 1)
	small := startAcquire(context.Background(), a, 50) // 100 free: it would fit
	mustQueue(t, a, 2)
	if small.admitted() {
		t.Fatal("a small request overtook the large one waiting before it")
	}
	r()
	big.mustFinish(t)
	if big.err != nil {
		t.Fatal(big.err)
	}
	mustQueue(t, a, 1)
	if small.admitted() {
		t.Fatal("the small request was admitted beside a batch that weighs the whole budget")
	}
	big.release()
	small.mustFinish(t)
	if small.err != nil {
		t.Fatal(small.err)
	}
	small.release()
}

// Past the queue bound a request is refused at once; one that waits too long
// is refused after the wait; both are 503 with Retry-After.
func TestAdmissionRefuses(t *testing.T) {
	a := MustOpenAdmission(t, 1000, 2, time.Minute)
	r := mustAdmit(t, a, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	w1, w2 := startAcquire(ctx, a, 10), startAcquire(ctx, a, 10)
	mustQueue(t, a, 2)
	_, err := a.acquire(context.Background(), 10)
	if !errors.Is(err, errIngestQueueFull) {
		t.Fatalf("third waiter: %v, want the queue-full refusal", err)
	}
	if got := counter(t, a.refused.WithLabelValues("queue_full")); got != 1 {
		t.Errorf(`auditlog_ingest_refused_total{reason="queue_full"} %v, want 1`, got)
	}
	mustRefuse503(t, err)

	// A client that goes away is no refusal.
	cancel()
	w1.mustFinish(t)
	w2.mustFinish(t)
	if !errors.Is(w1.err, context.Canceled) || !errors.Is(w2.err, context.Canceled) {
		t.Fatalf("canceled waiters: %v, %v", w1.err, w2.err)
	}
	if got := counter(t, a.refused.WithLabelValues("timeout")); got != 0 {
		t.Errorf(`auditlog_ingest_refused_total{reason="timeout"} %v after canceled waits, want 0`, got)
	}
	if got := gauge(t, a.waitingGauge); got != 0 {
		t.Errorf("auditlog_ingest_waiting %v, want 0", got)
	}

	a.wait = 20 * time.Millisecond
	start := time.Now()
	_, err = a.acquire(context.Background(), 10)
	if !errors.Is(err, errIngestBusy) {
		t.Fatalf("after the wait: %v, want the busy refusal", err)
	}
	if took := time.Since(start); took < a.wait {
		t.Errorf("refused after %v, before the wait of %v", took, a.wait)
	}
	if got := counter(t, a.refused.WithLabelValues("timeout")); got != 1 {
		t.Errorf(`auditlog_ingest_refused_total{reason="timeout"} %v, want 1`, got)
	}
	mustRefuse503(t, err)

	a.wait = 0 // no waiting: refused at once
	if _, err := a.acquire(context.Background(), 10); !errors.Is(err, errIngestBusy) {
		t.Fatalf("with no wait: %v, want the busy refusal", err)
	}
	r()
}

func mustRefuse503(tb testing.TB, err error) {
	tb.Helper()
	w := httptest.NewRecorder()
	Error(w, httptest.NewRequest("POST", "/api/v1/events", nil), slog.New(slog.DiscardHandler), err)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		tb.Errorf("refusal answered %d with Retry-After %q, want 503 with one", w.Code, w.Header().Get("Retry-After"))
	}
}

// A request without Content-Length (chunked) weighs the whole budget: it
// waits for the requests in flight and runs alone; so does one larger
// than the budget.
func TestAdmissionChunkedRunsAlone(t *testing.T) {
	a := MustOpenAdmission(t, 1000, 10, time.Minute)
	for _, n := range []int64{-1, 5000} {
		small := mustAdmit(t, a, 1)
		alone := startAcquire(context.Background(), a, n)
		mustQueue(t, a, 1)
		small()
		alone.mustFinish(t)
		if alone.err != nil {
			t.Fatal(alone.err)
		}
		if got := gauge(t, a.bytesGauge); got != 1000 {
			t.Errorf("a request of %d bytes weighs %v, want the budget, 1000", n, got)
		}
		after := startAcquire(context.Background(), a, 1)
		mustQueue(t, a, 1)
		alone.release()
		after.mustFinish(t)
		after.release()
	}
}

// A budget of 0 admits everything.
func TestAdmissionOff(t *testing.T) {
	a := newAdmission(0, 0, 0, prometheus.NewRegistry())
	for range 100 {
		release, err := a.acquire(context.Background(), -1)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
}
