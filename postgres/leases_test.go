package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/postgres"
)

// mustOpenReplicas opens n stores (n servers) on one new schema, whose stream
// leases last ttl, and creates gh/acme with streams streams in it.
func mustOpenReplicas(t *testing.T, n, streams int, ttl time.Duration) ([]*DB, []*auditlog.Stream) {
	t.Helper()
	base := MustOpenDB(t)
	key := storetest.MustStreamKey(t, 5)
	var dbs []*DB
	for range n {
		dbs = append(dbs, MustOpenAgainWith(t, base, func(db *postgres.DB) {
			db.StreamLeaseTTL = ttl
			db.StreamKey = key
		}))
	}
	storetest.MustCreateOrg(t, dbs[0], acme, auditlog.PlanBusiness)
	var out []*auditlog.Stream
	for range streams {
		out = append(out, storetest.MustCreateStream(t, dbs[0], auditlog.Stream{Org: acme, Type: auditlog.StreamWebhook, URL: "http://127.0.0.1:9/x"},
			auditlog.StreamSecrets{URL: "http://127.0.0.1:9/x", Secret: []byte("k")}))
	}
	return dbs, out
}

func mustClaim(tb testing.TB, db *DB) map[string]int64 {
	tb.Helper()
	leases, err := db.ClaimStreams(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int64{}
	for _, l := range leases {
		out[l.ID] = l.Token
	}
	return out
}

// Servers claiming at the same time, again and again, each get a share of
// the streams such that every stream is held by exactly one of them.
func TestStreamLeases_Exclusive(t *testing.T) {
	dbs, streams := mustOpenReplicas(t, 3, 12, time.Minute)
	for round := range 5 {
		claims := make([]map[string]int64, len(dbs))
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Go(func() { claims[i] = mustClaim(t, db) })
		}
		wg.Wait()
		holders := map[string][]int{}
		for i, c := range claims {
			for id := range c {
				holders[id] = append(holders[id], i)
			}
		}
		for _, s := range streams {
			if len(holders[s.ID]) != 1 {
				t.Errorf("round %d: stream %s held by servers %v, want exactly one", round, s.ID, holders[s.ID])
			}
		}
	}
}

// When the holder stops renewing, another server takes its streams over
// once the lease expired, under a larger token; the former holder's status
// writes are then refused (ECONFLICT) and change nothing, so it can neither
// move the cursor back nor overwrite the new holder's status.
func TestStreamLeases_TakeoverAndFencing(t *testing.T) {
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	dbs, streams := mustOpenReplicas(t, 2, 2, ttl)
	a, b := dbs[0], dbs[1]
	id := streams[0].ID
	old := mustClaim(t, a)
	if len(old) != 2 {
		t.Fatalf("the first server holds %v, want both streams", old)
	}
	if got := mustClaim(t, b); len(got) != 0 {
		t.Fatalf("the second server holds %v while the first's leases are live", got)
	}
	st := func(cursor int64) auditlog.StreamStatus {
		return auditlog.StreamStatus{State: auditlog.StreamActive, Cursor: cursor, LastDeliveredSequence: cursor - 1}
	}
	if err := a.SetStreamStatus(ctx, acme, id, old[id], st(5)); err != nil {
		t.Fatal(err)
	}
	// Renewed within the lease time, the leases stay with the first server.
	for range 3 {
		time.Sleep(ttl / 3)
		if got := mustClaim(t, a); len(got) != 2 || got[id] != old[id] {
			t.Fatalf("renewal: %v, want both streams under %v", got, old)
		}
		if got := mustClaim(t, b); len(got) != 0 {
			t.Fatalf("the second server took %v from a live holder", got)
		}
	}

	time.Sleep(ttl + 100*time.Millisecond) // the first server stops renewing
	taken := mustClaim(t, b)
	if len(taken) != 2 || taken[id] <= old[id] {
		t.Fatalf("after the lease time the second server holds %v, want both streams under tokens above %v", taken, old)
	}
	lease := storetest.MustClaim(t, b, acme, id)
	if lease.Cursor != 5 {
		t.Errorf("the new holder starts at cursor %d, want 5, the last one recorded", lease.Cursor)
	}
	if err := b.SetStreamStatus(ctx, acme, id, taken[id], st(10)); err != nil {
		t.Fatal(err)
	}
	// The former holder, late: refused, nothing changed.
	err := a.SetStreamStatus(ctx, acme, id, old[id], st(6))
	if auditlog.ErrorCode(err) != auditlog.ECONFLICT {
		t.Errorf("a write under a lost lease: %v, want a conflict", err)
	}
	if got, err := b.FindStream(ctx, acme, id); err != nil || got.Cursor != 10 {
		t.Errorf("after the late write the cursor is %d (%v), want 10", got.Cursor, err)
	}
	// Nor may the new holder's token be used by another server.
	if err := a.SetStreamStatus(ctx, acme, id, taken[id], st(6)); auditlog.ErrorCode(err) != auditlog.ECONFLICT {
		t.Errorf("a write by a server that does not hold the lease: %v, want a conflict", err)
	}
	if got := mustClaim(t, a); len(got) != 0 {
		t.Errorf("the former holder claimed %v back from a live holder", got)
	}

	// A clean close releases the leases: the other server takes them at its next claim.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	back := mustClaim(t, a)
	if len(back) != 2 || back[id] <= taken[id] {
		t.Errorf("after the holder closed, the other holds %v, want both streams under tokens above %v", back, taken)
	}
	if err := a.SetStreamStatus(ctx, acme, id, back[id], st(11)); err != nil {
		t.Fatal(err)
	}
}

// A server hears of the other servers' commits (LISTEN/NOTIFY), so that the
// stream worker holding a stream wakes for events ingested elsewhere.
func TestCommitNotifications(t *testing.T) {
	base := MustOpenDB(t)
	type grew struct {
		ref  auditlog.OrgRef
		size int64
	}
	heard := make(chan grew, 100)
	listener := MustOpenAgainWith(t, base, func(db *postgres.DB) {
		db.Committed = func(ref auditlog.OrgRef, size int64) { heard <- grew{ref, size} }
	})
	other := MustOpenAgainWith(t, base, func(*postgres.DB) {})
	storetest.MustCreateOrg(t, other, acme, auditlog.PlanBusiness)
	// The listener's LISTEN runs in the background: commit until it hears one.
	var size int64
	for deadline := time.Now().Add(10 * time.Second); size == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no notification of another server's commits within 10s")
		}
		storetest.MustAppend(t, other, storetest.NewEvent(acme, ""))
		select {
		case g := <-heard:
			size = g.size
		case <-time.After(100 * time.Millisecond):
		}
	}
	var got, want []grew
	for i := range 3 {
		storetest.MustAppend(t, other, storetest.NewEvent(acme, ""), storetest.NewEvent(acme, ""))
		want = append(want, grew{acme, size + 2*int64(i+1)})
		select {
		case g := <-heard:
			got = append(got, g)
		case <-time.After(10 * time.Second):
			t.Fatalf("commit %d of another server: no notification", i)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("heard %v, want %v", got, want)
	}
	// Its own commits are told at once, once.
	storetest.MustAppend(t, listener, storetest.NewEvent(acme, ""))
	if g, w := <-heard, (grew{acme, size + 7}); g != w {
		t.Errorf("own commit: heard %v, want %v", g, w)
	}
	select {
	case g := <-heard:
		t.Errorf("own commit heard twice: %v", g)
	case <-time.After(300 * time.Millisecond):
	}

	// One commit that grows many organizations with long names: more than
	// one notification's worth, every one heard.
	var batch []auditlog.Event
	want = nil
	for i := range 60 {
		ref := auditlog.OrgRef{Provider: "gl", Name: fmt.Sprintf("%03d-%s", i, strings.Repeat("n", 200))}
		storetest.MustCreateOrg(t, other, ref, auditlog.PlanBusiness)
		batch = append(batch, storetest.NewEvent(ref, ""))
		want = append(want, grew{ref, 1})
	}
	storetest.MustAppend(t, other, batch...)
	got = nil
	for len(got) < len(want) {
		select {
		case g := <-heard:
			got = append(got, g)
		case <-time.After(10 * time.Second):
			t.Fatalf("heard %d of the %d organizations of one commit", len(got), len(want))
		}
	}
	slices.SortFunc(got, func(a, b grew) int { return strings.Compare(a.ref.Name, b.ref.Name) })
	if !slices.Equal(got, want) {
		t.Errorf("heard %v,\nwant %v", got, want)
	}
}
