package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// TestPostgres_StreamsAcrossReplicas starts three auditlog serve --postgres
// processes on one database with a webhook stream of gh/acme, and ingests
// through all of them: the receiver gets every event, in sequence order,
// from one server at a time (the lease holder; the others deliver nothing).
// Then the holder is killed (SIGKILL) in the middle of a delivery: another
// server takes the stream over once the lease expires, resumes from the
// recorded cursor, and no event is skipped. Last, the new holder stops
// cleanly, and the last server carries on.
func TestPostgres_StreamsAcrossReplicas(t *testing.T) {
	const admin = "stream-replica-admin-token"
	servers := mustStartReplicas(t, admin, 3, "--stream-lease-ttl", "1s", "--stream-retry-base", "20ms", "--stream-retry-max", "200ms").servers
	servers[0].mustDo(t, "PUT", "/api/v1/organizations/gh/acme", admin, `{"plan":"business"}`, http.StatusCreated, nil)
	servers[0].mustDo(t, "PUT", "/api/v1/organizations/gh/acme/members/alice@example.com", admin, `{"role":"organizationAdmin"}`, http.StatusCreated, nil)

	// The receiver: deliveries checked and kept by hookReceiver, at most one at a time.
	const secret = "whsec_replicas"
	h := mustHookReceiver(t, secret)
	h.delay = 50 * time.Millisecond // about 2,000 events a second at 100 a POST
	var inflight, overlaps atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inflight.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer inflight.Add(-1)
		h.serve(w, r)
	}))
	t.Cleanup(recv.Close)
	body, _ := json.Marshal(map[string]string{"type": "webhook", "url": recv.URL + "/hook", "secret": secret, "q": "action:user.login"})
	var st auditlog.Stream
	servers[1].mustDo(t, "POST", "/api/v1/organizations/gh/acme/streams", aliceToken(t, servers[1], admin), string(body), http.StatusCreated, &st)

	// 3 servers x 3 clients x 5 batches of 40 events, at once.
	want := ingestThrough(t, servers, admin, 3, 5, 40)
	waitUntil(t, 30*time.Second, "every event of the first round", func() bool { return h.distinct() >= len(want) })
	distinctInOrder(t, h.sequences(), want)
	holder := streamHolder(t, servers)
	t.Logf("server %d delivers the stream", holder)
	for i, s := range servers {
		if n := deliveredTotal(t, s); (i == holder) != (n > 0) {
			t.Errorf("server %d delivered %d events; only the holder, server %d, delivers", i, n, holder)
		}
	}

	// A second round, then the holder dies in the middle of its delivery.
	want = append(want, ingestThrough(t, servers, admin, 2, 5, 100)...)
	before := len(want) - 3000
	waitUntil(t, 30*time.Second, "part of the second round", func() bool { return h.distinct() >= before+300 })
	if err := servers[holder].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-servers[holder].done
	killed := time.Now()
	time.Sleep(2 * h.delay) // the receiver finishes the dead server's last request
	atKill := h.distinct()
	if atKill >= len(want) {
		t.Fatalf("all %d events were delivered before the holder was killed", atKill)
	}
	var survivors []*replica
	for i, s := range servers {
		if i != holder {
			survivors = append(survivors, s)
		}
	}
	want = append(want, ingestThrough(t, survivors, admin, 2, 2, 50)...)
	waitUntil(t, 30*time.Second, "the stream to resume on another server", func() bool { return h.distinct() > atKill })
	t.Logf("the holder was killed with %d of %d events delivered; delivery resumed after %v", atKill, len(want), time.Since(killed).Round(10*time.Millisecond))
	waitUntil(t, 30*time.Second, "every event", func() bool { return h.distinct() >= len(want) })
	distinctInOrder(t, h.sequences(), want)
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d deliveries overlapped another: two servers delivered at once", n)
	}
	next := streamHolder(t, survivors)
	t.Logf("server %d of the survivors took the stream over; %d events received for %d distinct", next, len(h.sequences()), len(want))

	tok := aliceToken(t, survivors[0], admin)
	waitUntil(t, 10*time.Second, "the recorded cursor", func() bool {
		var got auditlog.Stream
		survivors[0].mustDo(t, "GET", "/api/v1/organizations/gh/acme/streams/"+st.ID, tok, "", http.StatusOK, &got)
		return got.LastDeliveredSequence == want[len(want)-1] && got.State == auditlog.StreamActive
	})

	// The new holder stops cleanly (SIGTERM): it releases the lease, and the
	// last server takes the stream at its next claim, without waiting for
	// the lease to expire.
	last := survivors[1-next]
	survivors[next].stop(t)
	stopped := time.Now()
	want = append(want, ingestThrough(t, []*replica{last}, admin, 1, 1, 100)...)
	waitUntil(t, 30*time.Second, "every event after the clean stop", func() bool { return h.distinct() >= len(want) })
	t.Logf("after the holder's clean stop, the last server delivered the next %d events within %v", 100, time.Since(stopped).Round(10*time.Millisecond))
	distinctInOrder(t, h.sequences(), want)
	if streamHolder(t, []*replica{last}) != 0 {
		t.Error("the last server does not hold the stream")
	}
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d deliveries overlapped another: two servers delivered at once", n)
	}
	last.stop(t)
}

// ingestThrough sends, through each server at once, clients concurrent
// series of batches of size user.login events of gh/acme, and returns the
// sequences the servers answered, ascending.
func ingestThrough(tb testing.TB, servers []*replica, admin string, clients, batches, size int) []int64 {
	tb.Helper()
	var (
		mu   sync.Mutex
		seqs []int64
		wg   sync.WaitGroup
		errs = make(chan error, len(servers)*clients)
	)
	for _, s := range servers {
		for range clients {
			wg.Go(func() {
				for range batches {
					batch := make([]map[string]any, size)
					for i := range batch {
						batch[i] = map[string]any{
							"organization": map[string]string{"provider": "gh", "name": "acme"},
							"action":       "user.login",
							"actor":        map[string]string{"email": "user@example.com"},
						}
					}
					body, _ := json.Marshal(batch)
					var res ingestResult
					if err := s.do("POST", "/api/v1/events", admin, string(body), http.StatusOK, &res); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for _, e := range res.Events {
						seqs = append(seqs, e.Sequence)
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	slices.Sort(seqs)
	return seqs
}

var heldMetric = regexp.MustCompile(`(?m)^auditlog_streams_held (\d+)$`)

// streamHolder returns the index of the one server that reports holding the
// stream (auditlog_streams_held 1), waiting for the leases to settle.
func streamHolder(tb testing.TB, servers []*replica) int {
	tb.Helper()
	holder := -1
	waitUntil(tb, 10*time.Second, "one server holding the stream", func() bool {
		holder = -1
		for i, s := range servers {
			var text string
			if err := s.doText("GET", "/metrics", "", &text); err != nil {
				tb.Fatal(err)
			}
			m := heldMetric.FindStringSubmatch(text)
			if m == nil {
				tb.Fatalf("server %d reports no auditlog_streams_held", i)
			}
			switch m[1] {
			case "0":
			case "1":
				if holder >= 0 {
					return false
				}
				holder = i
			default:
				tb.Fatalf("server %d holds %s streams; there is one", i, m[1])
			}
		}
		return holder >= 0
	})
	return holder
}

var deliveredMetric = regexp.MustCompile(`(?m)^auditlog_stream_events_delivered_total\{type="webhook"\} (\d+)$`)

// deliveredTotal returns how many events s delivered to webhooks.
func deliveredTotal(tb testing.TB, s *replica) int {
	tb.Helper()
	var text string
	if err := s.doText("GET", "/metrics", "", &text); err != nil {
		tb.Fatal(err)
	}
	m := deliveredMetric.FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
