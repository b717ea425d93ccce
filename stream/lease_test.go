package stream_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/pebble"
	"github.com/auditlog/auditlog/stream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fencedStore is an embedded store whose stream leases the test moves, as
// other servers sharing a store would: ClaimStreams returns the streams
// under token while held, and SetStreamStatus refuses any other token.
type fencedStore struct {
	*pebble.DB
	held    atomic.Bool
	token   atomic.Int64
	refused atomic.Int32
	fail    atomic.Int32 // fail this many more claims
}

var errUnreachable = errors.New("the database is unreachable")

func (s *fencedStore) ClaimStreams(ctx context.Context) ([]auditlog.StreamLease, error) {
	if s.fail.Add(-1) >= 0 {
		return nil, errUnreachable
	}
	if !s.held.Load() {
		return nil, nil
	}
	leases, err := s.DB.ClaimStreams(ctx)
	for i := range leases {
		leases[i].Token = s.token.Load()
	}
	return leases, err
}

func (s *fencedStore) SetStreamStatus(ctx context.Context, ref auditlog.OrgRef, id string, token int64, st auditlog.StreamStatus) error {
	if !s.held.Load() || token != s.token.Load() {
		s.refused.Add(1)
		return auditlog.Errorf(auditlog.ECONFLICT, "another server has taken this stream over")
	}
	return s.DB.SetStreamStatus(ctx, ref, id, token, st)
}

// A worker runs only the streams it holds: it stops a stream's delivery
// when a claim no longer returns it, and when a status write is refused
// because another server took the stream over; when the stream comes back
// under a new token it resumes from the recorded cursor. Every event
// arrives, first receipts in order; the batch whose write was refused twice.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	rcv := &receiver{}
	w, store := mustStartFenced(t, rcv, time.Hour) // only commits and Reload act
	db := store.DB
	held := func() float64 {
		for _, c := range w.Collectors() {
			if g, ok := c.(prometheus.Gauge); ok {
				var m dto.Metric
				if err := g.Write(&m); err != nil {
					t.Fatal(err)
				}
				return m.GetGauge().GetValue()
			}
		}
		t.Fatal("no auditlog_streams_held gauge")
		return 0
	}
	f := &fixture{db: db, w: w}
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	st := f.mustCreate(t, "")
	cursor := func() int64 {
		got, err := db.FindStream(ctx, acme, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Cursor
	}
	f.mustAppend(t, 10, "user.login")
	waitFor(t, 5*time.Second, "events 0..9", func() bool { return cursor() == 10 })
	if held() != 1 {
		t.Errorf("auditlog_streams_held = %v, want 1", held())
	}

	// A claim no longer returns the stream: its delivery stops.
	store.held.Store(false)
	w.Reload()
	waitFor(t, 5*time.Second, "the stream released", func() bool { return held() == 0 })
	f.mustAppend(t, 10, "user.login") // 10..19
	time.Sleep(200 * time.Millisecond)
	if got := rcv.sequences(); len(got) != 10 {
		t.Fatalf("delivered %v while another server held the stream", got)
	}

	// Back under a new token: delivery resumes from the recorded cursor.
	store.token.Store(2)
	store.held.Store(true)
	w.Reload()
	waitFor(t, 5*time.Second, "events 10..19", func() bool { return cursor() == 20 })

	// Taken over unnoticed (no claim in between): the next status write is
	// refused, the delivery stops, and the cursor stays.
	store.token.Store(3)
	f.mustAppend(t, 10, "user.login") // 20..29
	waitFor(t, 5*time.Second, "a refused status write", func() bool { return store.refused.Load() > 0 })
	time.Sleep(100 * time.Millisecond)
	if c := cursor(); c != 20 {
		t.Errorf("after a refused write the cursor is %d, want 20", c)
	}
	refused := store.refused.Load()
	f.mustAppend(t, 5, "user.login") // 30..34: nobody delivers them yet
	time.Sleep(200 * time.Millisecond)
	if n := store.refused.Load(); n != refused {
		t.Errorf("the runner under the lost lease went on writing: %d refusals, then %d", refused, n)
	}

	// The next claim returns the stream under token 3: a new delivery from cursor 20.
	w.Reload()
	waitFor(t, 5*time.Second, "every event", func() bool { return cursor() == 35 })
	var firsts []int64
	seen := map[int64]bool{}
	for _, s := range rcv.sequences() {
		if !seen[s] {
			seen[s] = true
			firsts = append(firsts, s)
		}
	}
	if !slices.Equal(firsts, span(0, 35)) {
		t.Errorf("first receipts %v, want 0..34 in order", firsts)
	}
	if n := len(rcv.sequences()); n < 45 {
		t.Errorf("%d events received; the batch 20..29 under the lost lease should come twice", n)
	}
}

// mustStartFenced opens an embedded store and a worker over it, as
// fencedStore, holding every stream under token 1, claiming every reload.
func mustStartFenced(t *testing.T, rcv *receiver, reload time.Duration) (*stream.Worker, *fencedStore) {
	t.Helper()
	w := stream.NewWorker(nil)
	w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	w.RetryBase, w.RetryMax = 20*time.Millisecond, time.Hour
	w.PollInterval, w.ReloadInterval = time.Hour, reload
	w.Deliverers[auditlog.StreamWebhook] = rcv
	db := pebble.NewDB(t.TempDir())
	db.StreamKey = storetest.MustStreamKey(t, 3)
	db.Committed = w.Notify
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	store := &fencedStore{DB: db}
	store.held.Store(true)
	store.token.Store(1)
	w.Store = store
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close(); _ = db.Close() })
	return w, store
}

// After the store fails claims for a while, the worker claims again within
// a reload interval of its recovery: failed claims back off up to the
// reload interval, not up to RetryMax (an hour here), since leases must be
// renewed or taken back soon.
func TestClaimRetriesWithinReloadInterval(t *testing.T) {
	rcv := &receiver{}
	_, store := mustStartFenced(t, rcv, 50*time.Millisecond)
	storetest.MustCreateOrg(t, store.DB, acme, auditlog.PlanBusiness)
	store.fail.Store(10) // doubling from 20ms, uncapped: 20s of waits
	storetest.MustCreateStream(t, store.DB, auditlog.Stream{Org: acme, Type: auditlog.StreamWebhook, URL: "http://127.0.0.1:9/hook"},
		auditlog.StreamSecrets{URL: "http://127.0.0.1:9/hook", Secret: []byte("s3cret")})
	f := &fixture{db: store.DB}
	f.mustAppend(t, 3, "user.login")
	waitFor(t, 5*time.Second, "the stream claimed after the failures", func() bool { return len(rcv.sequences()) == 3 })
	if n := store.fail.Load(); n > 0 {
		t.Errorf("%d failing claims left", n)
	}
}
