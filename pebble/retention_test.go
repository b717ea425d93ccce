package pebble_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
	"github.com/auditlog/auditlog/query"
)

// TestRetention: expired events are purged unless under legal hold; what
// remains still lists, proves, exports as a verifying bundle and passes the
// store audit; an event deleted by hand does not pass for a purge.
func TestRetention(t *testing.T) {
	dir := t.TempDir()
	key := MustNewKey(t)
	clock := storetest.T0
	db := pebble.NewDB(dir)
	db.Now = func() time.Time { return clock }
	db.SigningKey, db.CheckpointInterval, db.RetentionInterval = key, 0, 0
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acme := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	held := auditlog.OrgRef{Provider: "gh", Name: "held"}
	days := 30
	hold := true
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustCreateOrg(t, db, held, auditlog.PlanBusiness)
	for _, ref := range []auditlog.OrgRef{acme, held} {
		if _, _, err := db.PutOrganization(ctx, ref, auditlog.OrganizationUpdate{RetentionDays: &days}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.PutOrganization(ctx, held, auditlog.OrganizationUpdate{LegalHold: &hold}); err != nil {
		t.Fatal(err)
	}
	// Ages in days, out of order: 0, 3 and 5 expire (older than 30 days), the others stay.
	ages := []int{40, 10, 5, 45, 2, 31, 29, 1}
	for _, ref := range []auditlog.OrgRef{acme, held} {
		for i, age := range ages {
			e := storetest.NewEvent(ref, "e"+string(rune('0'+i)))
			e.Timestamp = clock.Add(-time.Duration(age) * 24 * time.Hour)
			storetest.MustAppend(t, db, e)
		}
	}
	n, err := db.PurgeExpired(ctx)
	if err != nil || n != 3 {
		t.Fatalf("purged %d, %v; want 3 (legal hold keeps the other organization's)", n, err)
	}
	if got := len(storetest.MustFindEvents(t, db, acme, auditlog.EventFilter{})); got != 5 {
		t.Errorf("acme lists %d events after the purge, want 5", got)
	}
	if got := len(storetest.MustFindEvents(t, db, held, auditlog.EventFilter{})); got != 8 {
		t.Errorf("the organization under legal hold lists %d events, want 8", got)
	}
	if n, _ := db.PurgeExpired(ctx); n != 0 {
		t.Errorf("a second run purged %d", n)
	}
	if err := db.SignCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
	// Proofs of the remaining events still verify; a complete bundle holds the purged leaves.
	note, size, err := db.LatestCheckpoint(ctx, acme)
	if err != nil || size != 8 {
		t.Fatalf("checkpoint %d, %v", size, err)
	}
	if _, err := db.ProveInclusion(ctx, acme, 1, 0); err != nil {
		t.Errorf("proof of a remaining event: %v", err)
	}
	var bundle []byte
	bundle = merkle.AppendBundleHeader(bundle, note, true)
	for pe, err := range db.LogEvents(ctx, acme, size) {
		if err != nil {
			t.Fatal(err)
		}
		if pe.Event == nil {
			bundle = merkle.AppendPurgedLine(bundle, pe.Sequence, pe.LeafHash, pe.Proof)
		} else {
			bundle = merkle.AppendBundleLine(bundle, pe.Event, pe.Proof)
		}
	}
	rep, err := merkle.VerifyBundle(bytes.NewReader(bundle), key.Verifier, nil)
	if err != nil || rep.Events != 5 || rep.Purged != 3 {
		t.Fatalf("bundle after purge: %+v, %v", rep, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	audit := func() (*pebble.VerifyReport, error) {
		ro := pebble.NewDB(dir)
		ro.ReadOnly = true
		if err := ro.Open(); err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		return ro.Verify(ctx, key.Verifier, nil)
	}
	if rep, err := audit(); err != nil || rep.Events != 16 || rep.Purged != 3 {
		t.Fatalf("store audit after purge: %+v, %v", rep, err)
	}
	// An intruder deletes a recent event and marks it purged: no signed purge note covers it.
	mustTamper(t, dir, func(x *intruder) {
		k, _ := x.event(acme, 1)
		sk := rawKey('S', x.org(acme), 1)
		v := x.get(sk) // ts, the leaf hash's first 4 bytes, the other hashes: the whole leaf hash in place of the 4 (seqvalue.go)
		x.set(sk, append(append(append(v[:8:8], make([]byte, 32)...), v[12:]...), 'P'))
		x.delete(k)
	})
	_, err = audit()
	var ve *pebble.VerifyError
	if !errors.As(err, &ve) || ve.Sequence != 1 || !strings.Contains(ve.Problem, "no signed purge note covers it") {
		t.Fatalf("audit after a hand-made purge: %v", err)
	}
}

// TestRetention_KeepsWhatCameMeanwhile: an event with an old timestamp
// (imported history) committed while retention purges, older than the last
// event it purges, is neither purged nor dropped from its actor's and
// action's postings: searches find it, and erasure reaches it.
func TestRetention_KeepsWhatCameMeanwhile(t *testing.T) {
	clock := storetest.T0
	db := mustOpenManualDB(t, &clock)
	ctx := context.Background()
	acme := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	days := 30
	if _, _, err := db.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{RetentionDays: &days}); err != nil {
		t.Fatal(err)
	}
	const alice = "alice@acme.example"
	event := func(id string, age time.Duration) auditlog.Event {
		e := storetest.NewEvent(acme, id)
		e.Actor.Email, e.Action = alice, "user.login"
		e.Timestamp = clock.Add(-age)
		return e
	}
	storetest.MustAppend(t, db, event("old-1", 40*24*time.Hour), event("old-2", 39*24*time.Hour), event("new", time.Hour))
	pebble.AfterPurgeSnapshot(db, func() {
		pebble.AfterPurgeSnapshot(db, nil)
		storetest.MustAppend(t, db, event("imported", 60*24*time.Hour)) // older than both purged
	})
	if n, err := db.PurgeExpired(ctx); err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want the 2 events of the snapshot", n, err)
	}
	for _, q := range []string{"actor:" + alice, "action:user.login"} {
		parsed, err := query.Parse(q, clock)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range storetest.MustFindEvents(t, db, acme, auditlog.EventFilter{Query: parsed}) {
			ids = append(ids, e.ID)
		}
		if want := []string{"new", "imported"}; !slices.Equal(ids, want) {
			t.Errorf("%s finds %v after the purge, want %v", q, ids, want)
		}
	}
	if _, err := db.EraseUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	for _, e := range storetest.MustFindEvents(t, db, acme, auditlog.EventFilter{}) {
		if e.Actor.Email != auditlog.Redacted {
			t.Errorf("event %s still shows %s after erasure", e.ID, e.Actor.Email)
		}
	}
}

// mustOpenManualDB opens a signed store in tb.TempDir() whose clock reads
// *clock and whose checkpoints and retention run only when a test calls
// them. It is closed when tb ends.
func mustOpenManualDB(tb testing.TB, clock *time.Time) *pebble.DB {
	tb.Helper()
	db := pebble.NewDB(tb.TempDir())
	db.Now = func() time.Time { return *clock }
	db.SigningKey, db.CheckpointInterval, db.RetentionInterval = MustNewKey(tb), 0, 0
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}
