package pebble_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
)

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := auditlog.ErrorCode(err); got != code {
		tb.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// waitCheckpoint waits for a signed checkpoint of ref of at least size events.
func waitCheckpoint(tb testing.TB, db *pebble.DB, ref auditlog.OrgRef, size int64) int64 {
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

// TestLog runs the log contract (proofs against every checkpoint, erasure)
// shared with the PostgreSQL store.
func TestLog(t *testing.T) {
	storetest.RunLog(t, func(tb testing.TB, now func() time.Time, key *merkle.Key) storetest.LogStore {
		db := pebble.NewDB(tb.TempDir())
		db.Logger, db.Now, db.SigningKey, db.CheckpointInterval = quiet, now, key, 0
		if err := db.Open(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = db.Close() })
		return db
	})
}

func TestLog_BackgroundSigner(t *testing.T) {
	ctx := context.Background()
	key := MustNewKey(t)
	db := MustOpenSignedDB(t, t.TempDir(), key, 50*time.Millisecond)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustAppend(t, db, auditEvent(acme, 0, "a@acme.example"), auditEvent(acme, 1, "a@acme.example"))
	if got := waitCheckpoint(t, db, acme, 2); got != 2 {
		t.Errorf("checkpoint of %d events, want 2", got)
	}
	storetest.MustAppend(t, db, auditEvent(acme, 2, "a@acme.example"))
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

func TestLog_CloseSignsTheLastEvents(t *testing.T) {
	// A clean shutdown leaves every event checkpointed, even those the
	// background signer was still resting before.
	ctx := context.Background()
	key := MustNewKey(t)
	dir := t.TempDir()
	db := MustOpenSignedDB(t, dir, key, time.Hour)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustAppend(t, db, auditEvent(acme, 0, "a@acme.example"))
	waitCheckpoint(t, db, acme, 1)
	storetest.MustAppend(t, db, auditEvent(acme, 1, "a@acme.example"), auditEvent(acme, 2, "a@acme.example"))
	if _, size, _ := db.LatestCheckpoint(ctx, acme); size != 1 {
		t.Fatalf("the resting signer signed %d events already", size)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro := MustOpenReadOnly(t, dir)
	note, size, err := ro.LatestCheckpoint(ctx, acme)
	if err != nil || size != 3 {
		t.Fatalf("after close: checkpoint of %d events, %v; want 3", size, err)
	}
	storetest.MustOpenNote(t, key, acme, note)
	if rep, err := ro.Verify(ctx, key.Verifier, nil); err != nil || rep.Checkpoints != 2 || rep.Events != 3 {
		t.Errorf("verify: %+v, %v", rep, err)
	}
}

func TestLog_SignerCatchesUpAfterRestart(t *testing.T) {
	// Events stored while no key signed them are checkpointed once a key is there.
	ctx := context.Background()
	dir := t.TempDir()
	db := MustOpenSignedDB(t, dir, nil, 0)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustAppend(t, db, auditEvent(acme, 0, "a@acme.example"), auditEvent(acme, 1, "a@acme.example"))
	if err := db.SignCheckpoints(ctx); err == nil {
		t.Error("SignCheckpoints without a key succeeded")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro := MustOpenReadOnly(t, dir)
	_, _, err := ro.LatestCheckpoint(ctx, acme)
	wantCode(t, "checkpoint without a key", err, auditlog.ENOTFOUND)
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	key := MustNewKey(t)
	db = MustOpenSignedDB(t, dir, key, 0)
	if err := db.SignCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
	note, size, err := db.LatestCheckpoint(ctx, acme)
	if err != nil || size != 2 {
		t.Fatalf("checkpoint of %d events, %v; want 2", size, err)
	}
	if cp := storetest.MustOpenNote(t, key, acme, note); cp.Root != storetest.MTH(storetest.MustLeaves(t, storetest.MustLogEvents(t, db, acme))) {
		t.Error("the checkpoint's root is not the tree of the stored events")
	}
}

// mustFindInFiles reports which files under dir hold s.
func mustFindInFiles(tb testing.TB, dir string, s string) []string {
	tb.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			found = append(found, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return found
}

// TestLog_EraseUser: what the shared log contract (TestLog) cannot see:
// after an erasure the values are in no file of the database, and the store
// audit still passes.
func TestLog_EraseUser(t *testing.T) {
	ctx := context.Background()
	key := MustNewKey(t)
	dir := t.TempDir()
	db := MustOpenSignedDB(t, dir, key, 0)
	for _, ref := range []auditlog.OrgRef{acme, beta} {
		storetest.MustCreateOrg(t, db, ref, auditlog.PlanBusiness)
		storetest.MustPutMember(t, db, ref, "bob@acme.example", auditlog.RoleOrganizationAdmin, true)
	}
	if _, err := db.CreateToken(ctx, "bob@acme.example", nil); err != nil { // its record holds his email too
		t.Fatal(err)
	}
	const bob, bobIP, bobUA = "bob@acme.example", "198.51.100.77", "BobBrowser/7.7"
	var batch []auditlog.Event
	for i := range 6 {
		for _, ref := range []auditlog.OrgRef{acme, beta} {
			e := auditEvent(ref, i, userEmail(ref, i))
			if i%2 == 1 {
				e.Actor.Email, e.IPAddress, e.UserAgent = bob, bobIP, bobUA
			}
			if i == 5 {
				e.IPAddress, e.UserAgent = "", "" // one of his events has neither
			}
			batch = append(batch, e)
		}
	}
	storetest.MustAppend(t, db, batch...)
	if err := db.SignCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{bob, bobIP, bobUA} {
		if len(mustFindInFiles(t, dir, s)) == 0 {
			t.Fatalf("%q is in no file before the erasure: the test would prove nothing", s)
		}
	}

	n, err := db.EraseUser(ctx, " Bob@ACME.example ")
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("erased %d events, want 6", n)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if rep, err := verifyStore(t, dir, key); err != nil || rep.Events != 12 {
		t.Errorf("verify after erasure: %+v, %v", rep, err)
	}
	for _, s := range []string{bob, bobIP, bobUA} {
		for _, f := range mustFindInFiles(t, dir, s) {
			t.Errorf("%q is still in %s after the erasure", s, f)
		}
	}
}
