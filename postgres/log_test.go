package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/pgtest"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/postgres"
)

func TestLog(t *testing.T) {
	storetest.RunLog(t, func(tb testing.TB, now func() time.Time, key *merkle.Key) storetest.LogStore {
		dsn, _ := pgtest.MustSchema(tb)
		return mustOpenDBAt(tb, dsn, now, key, 0)
	})
}

var (
	acme  = auditlog.OrgRef{Provider: "gh", Name: "acme"}
	beta  = auditlog.OrgRef{Provider: "gl", Name: "beta"}
	gamma = auditlog.OrgRef{Provider: "bb", Name: "gamma"}
)

// waitCheckpoint waits for a signed checkpoint of ref of at least size events.
func waitCheckpoint(tb testing.TB, db *DB, ref auditlog.OrgRef, size int64) int64 {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, got, err := db.LatestCheckpoint(context.Background(), ref)
		if err == nil && got >= size {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no checkpoint of %s with %d events after 10s (latest %d, %v)", ref, size, got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLog_BackgroundSigner(t *testing.T) {
	ctx := context.Background()
	key := MustNewKey(t)
	db := MustOpenSignedDB(t, key, 50*time.Millisecond)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustAppend(t, db, storetest.LogEvent(acme, 0, "a@acme.example"), storetest.LogEvent(acme, 1, "a@acme.example"))
	if got := waitCheckpoint(t, db, acme, 2); got != 2 {
		t.Errorf("checkpoint of %d events, want 2", got)
	}
	storetest.MustAppend(t, db, storetest.LogEvent(acme, 2, "a@acme.example"))
	if got := waitCheckpoint(t, db, acme, 3); got != 3 {
		t.Errorf("checkpoint of %d events, want 3", got)
	}
	// The older checkpoint stays: proofs against it, and from it, still work.
	if _, err := db.ProveInclusion(ctx, acme, 1, 2); err != nil {
		t.Errorf("prove in the older checkpoint: %v", err)
	}
	if _, err := db.ProveConsistency(ctx, acme, 2, 3); err != nil {
		t.Errorf("consistency 2..3: %v", err)
	}
}

// TestLog_SignerCatchesUp checks that events no server signed (their server
// had no key, as after a crash between a commit and its signing round) are
// signed by the full round of a server that starts.
func TestLog_SignerCatchesUp(t *testing.T) {
	writer := MustOpenDB(t)
	storetest.MustCreateOrg(t, writer, acme, auditlog.PlanBusiness)
	storetest.MustAppend(t, writer, storetest.LogEvent(acme, 0, "a@acme.example"), storetest.LogEvent(acme, 1, "a@acme.example"))
	MustOpenAgain(t, writer, MustNewKey(t), time.Hour)
	if got := waitCheckpoint(t, writer, acme, 2); got != 2 {
		t.Errorf("checkpoint of %d events, want 2", got)
	}
}

func TestLog_CloseSignsTheLastEvents(t *testing.T) {
	// A clean shutdown leaves every event checkpointed, even those the
	// background signer was still resting before.
	ctx := context.Background()
	key := MustNewKey(t)
	db := MustOpenSignedDB(t, key, time.Hour)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustAppend(t, db, storetest.LogEvent(acme, 0, "a@acme.example"))
	waitCheckpoint(t, db, acme, 1)
	storetest.MustAppend(t, db, storetest.LogEvent(acme, 1, "a@acme.example"), storetest.LogEvent(acme, 2, "a@acme.example"))
	if _, size, _ := db.LatestCheckpoint(ctx, acme); size != 1 {
		t.Fatalf("the resting signer signed %d events already", size)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro := MustOpenAgainWith(t, db, func(s *postgres.DB) { s.ReadOnly = true })
	note, size, err := ro.LatestCheckpoint(ctx, acme)
	if err != nil || size != 3 {
		t.Fatalf("after close: checkpoint of %d events, %v; want 3", size, err)
	}
	storetest.MustOpenNote(t, key, acme, note)
	if rep, err := ro.Verify(ctx, key.Verifier, nil); err != nil || rep.Checkpoints != 2 || rep.Events != 3 {
		t.Errorf("verify: %+v, %v", rep, err)
	}
}
