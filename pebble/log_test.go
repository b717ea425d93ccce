package pebble_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// mth is the RFC 6962 Merkle tree hash of leaf hashes, written out here
// from the RFC so that the store's trees are checked against an independent
// computation.
func mth(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := mth(leaves[:k]), mth(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// mustEvents reads all of ref's events, with their salts, by sequence.
func mustEvents(tb testing.TB, db *pebble.DB, ref auditlog.OrgRef) []auditlog.Event {
	tb.Helper()
	var out []auditlog.Event
	for e, err := range db.FindEvents(context.Background(), ref, auditlog.EventFilter{}) {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b auditlog.Event) int { return int(a.Sequence - b.Sequence) })
	for i, e := range out {
		if e.Sequence != int64(i) {
			tb.Fatalf("%s: event %d has sequence %d", ref, i, e.Sequence)
		}
	}
	return out
}

func mustLeaves(tb testing.TB, events []auditlog.Event) [][32]byte {
	tb.Helper()
	out := make([][32]byte, len(events))
	for i := range events {
		h, err := events[i].LeafHash()
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = h
	}
	return out
}

// mustOpenNote opens a signed checkpoint of ref.
func mustOpenNote(tb testing.TB, key *merkle.Key, ref auditlog.OrgRef, note []byte) *merkle.Checkpoint {
	tb.Helper()
	cp, err := merkle.OpenCheckpoint(note, key.Verifier, merkle.Origin("auditlog", ref))
	if err != nil {
		tb.Fatalf("checkpoint of %s: %v\n%s", ref, err, note)
	}
	return cp
}

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := auditlog.ErrorCode(err); got != code {
		tb.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func TestLog_ProofsAgainstEveryCheckpoint(t *testing.T) {
	ctx := context.Background()
	key := MustNewKey(t)
	db := MustOpenSignedDB(t, t.TempDir(), key, 0)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustCreateOrg(t, db, beta, auditlog.PlanBusiness)

	_, _, err := db.LatestCheckpoint(ctx, acme)
	wantCode(t, "checkpoint before any event", err, auditlog.ENOTFOUND)
	_, _, err = db.LatestCheckpoint(ctx, auditlog.OrgRef{Provider: "gh", Name: "nope"})
	wantCode(t, "checkpoint of an unknown organization", err, auditlog.ENOTFOUND)

	// Checkpoints of 1, 3, 7 and 13 events; beta's log grows beside acme's.
	sizes := []int64{1, 3, 7, 13}
	next := 0
	for _, size := range sizes {
		var batch []auditlog.Event
		for ; next < int(size); next++ {
			batch = append(batch, auditEvent(acme, next, userEmail(acme, next)), auditEvent(beta, next, userEmail(beta, next)))
		}
		storetest.MustAppend(t, db, batch...)
		if err := db.SignCheckpoints(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing new: no new checkpoint.
	if err := db.SignCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}

	events := mustEvents(t, db, acme)
	leaves := mustLeaves(t, events)
	roots := map[int64][32]byte{}
	for _, ref := range []auditlog.OrgRef{acme, beta} {
		note, size, err := db.LatestCheckpoint(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		cp := mustOpenNote(t, key, ref, note)
		refLeaves := mustLeaves(t, mustEvents(t, db, ref))
		if size != 13 || cp.Size != 13 || cp.Root != mth(refLeaves) {
			t.Errorf("%s: latest checkpoint of size %d (note %d), root %x, want 13 and %x", ref, size, cp.Size, cp.Root, mth(refLeaves))
		}
	}

	for _, size := range sizes {
		for seq := range size {
			p, err := db.ProveInclusion(ctx, acme, seq, size)
			if err != nil {
				t.Fatalf("prove %d in %d: %v", seq, size, err)
			}
			cp := mustOpenNote(t, key, acme, []byte(p.Checkpoint))
			if cp.Size != size || p.TreeSize != size || p.Sequence != seq {
				t.Fatalf("prove %d in %d: proof of %d in %d with a checkpoint of %d", seq, size, p.Sequence, p.TreeSize, cp.Size)
			}
			if cp.Root != mth(leaves[:size]) {
				t.Fatalf("checkpoint of %d: root %x, want %x", size, cp.Root, mth(leaves[:size]))
			}
			roots[size] = cp.Root
			if !bytes.Equal(p.LeafHash, leaves[seq][:]) {
				t.Errorf("prove %d in %d: leaf hash %x, the event's is %x", seq, size, p.LeafHash, leaves[seq])
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(seq), uint64(size), leaves[seq][:], p.Proof, cp.Root[:]); err != nil {
				t.Errorf("prove %d in %d: %v", seq, size, err)
			}
			// The proof proves this leaf at this position only.
			other := leaves[(seq+1)%size]
			if size > 1 && proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(seq), uint64(size), other[:], p.Proof, cp.Root[:]) == nil {
				t.Errorf("prove %d in %d: the proof also proves another leaf", seq, size)
			}
		}
	}
	// Size 0 is the latest checkpoint.
	if p, err := db.ProveInclusion(ctx, acme, 4, 0); err != nil || p.TreeSize != 13 {
		t.Errorf("prove in the latest: %+v, %v", p, err)
	}
	for _, tc := range []struct {
		name      string
		ref       auditlog.OrgRef
		seq, size int64
	}{
		{"sequence at the size", acme, 7, 7},
		{"sequence beyond the latest", acme, 13, 0},
		{"negative sequence", acme, -1, 7},
		{"size without a checkpoint", acme, 2, 5},
		{"size beyond the log", acme, 2, 14},
		{"unknown organization", auditlog.OrgRef{Provider: "gh", Name: "nope"}, 0, 0},
		{"organization without events", gammaRef(t, db), 0, 0},
	} {
		_, err := db.ProveInclusion(ctx, tc.ref, tc.seq, tc.size)
		wantCode(t, tc.name, err, auditlog.ENOTFOUND)
	}

	for i, from := range sizes {
		for _, to := range sizes[i:] {
			p, err := db.ProveConsistency(ctx, acme, from, to)
			if err != nil {
				t.Fatalf("consistency %d..%d: %v", from, to, err)
			}
			if p.From != from || p.To != to {
				t.Errorf("consistency %d..%d: proof of %d..%d", from, to, p.From, p.To)
			}
			fromCP := mustOpenNote(t, key, acme, []byte(p.FromCheckpoint))
			toCP := mustOpenNote(t, key, acme, []byte(p.ToCheckpoint))
			if fromCP.Root != roots[from] || toCP.Root != roots[to] {
				t.Errorf("consistency %d..%d: checkpoints of roots %x, %x", from, to, fromCP.Root, toCP.Root)
			}
			rootFrom, rootTo := roots[from], roots[to]
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(to), p.Proof, rootFrom[:], rootTo[:]); err != nil {
				t.Errorf("consistency %d..%d: %v", from, to, err)
			}
			if from < to {
				wrong := sha256.Sum256([]byte("another tree"))
				if proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(to), p.Proof, wrong[:], rootTo[:]) == nil {
					t.Errorf("consistency %d..%d: the proof also holds for another old root", from, to)
				}
			}
		}
	}
	if p, err := db.ProveConsistency(ctx, acme, 3, 0); err != nil || p.To != 13 {
		t.Errorf("consistency with the latest: %+v, %v", p, err)
	}
	for _, tc := range []struct {
		name     string
		from, to int64
		code     string
	}{
		{"from 0", 0, 7, auditlog.EINVALID},
		{"from after to", 13, 7, auditlog.EINVALID},
		{"to without a checkpoint", 3, 5, auditlog.ENOTFOUND},
		{"from without a checkpoint", 5, 7, auditlog.ENOTFOUND},
		{"to beyond the log", 3, 20, auditlog.ENOTFOUND},
	} {
		_, err := db.ProveConsistency(ctx, acme, tc.from, tc.to)
		wantCode(t, tc.name, err, tc.code)
	}

	// LogEvents: the events below a checkpoint's size, ascending, each with its proof.
	for _, size := range sizes {
		var seqs []int64
		for pe, err := range db.LogEvents(ctx, acme, size) {
			if err != nil {
				t.Fatal(err)
			}
			seq := pe.Event.Sequence
			seqs = append(seqs, seq)
			h, err := pe.Event.LeafHash()
			if err != nil {
				t.Fatal(err)
			}
			p := make([][]byte, len(pe.Proof))
			for i := range pe.Proof {
				p[i] = pe.Proof[i][:]
			}
			root := roots[size]
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(seq), uint64(size), h[:], p, root[:]); err != nil {
				t.Errorf("LogEvents(%d): event %d: %v", size, seq, err)
			}
		}
		if want := seqRange(size); !slices.Equal(seqs, want) {
			t.Errorf("LogEvents(%d) yielded %v, want %v", size, seqs, want)
		}
	}
}

func seqRange(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

// gammaRef creates the organization gamma, without events.
func gammaRef(tb testing.TB, db *pebble.DB) auditlog.OrgRef {
	tb.Helper()
	storetest.MustCreateOrg(tb, db, gamma, auditlog.PlanBusiness)
	return gamma
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
	mustOpenNote(t, key, acme, note)
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
	if cp := mustOpenNote(t, key, acme, note); cp.Root != mth(mustLeaves(t, mustEvents(t, db, acme))) {
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

func TestLog_EraseUser(t *testing.T) {
	ctx := context.Background()
	key := MustNewKey(t)
	dir := t.TempDir()
	db := MustOpenSignedDB(t, dir, key, 0)
	for _, ref := range []auditlog.OrgRef{acme, beta} {
		storetest.MustCreateOrg(t, db, ref, auditlog.PlanBusiness)
		storetest.MustPutMember(t, db, ref, "bob@acme.example", auditlog.RoleOrganizationAdmin, true)
	}
	tok, err := db.CreateToken(ctx, "bob@acme.example", nil)
	if err != nil {
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
	before := map[auditlog.OrgRef][]auditlog.Event{acme: mustEvents(t, db, acme), beta: mustEvents(t, db, beta)}
	notes := map[auditlog.OrgRef][]byte{}
	for ref := range before {
		notes[ref], _, _ = db.LatestCheckpoint(ctx, ref)
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

	for ref, old := range before {
		events := mustEvents(t, db, ref)
		note, _, err := db.LatestCheckpoint(ctx, ref)
		if err != nil || !bytes.Equal(note, notes[ref]) {
			t.Errorf("%s: the erasure changed the latest checkpoint: %v", ref, err)
		}
		cp := mustOpenNote(t, key, ref, note)
		if got := mth(mustLeaves(t, events)); got != cp.Root {
			t.Errorf("%s: the erased events no longer rebuild the signed tree", ref)
		}
		for i, e := range events {
			wasBob := old[i].Actor.Email == bob
			if wasBob {
				wantIP, wantUA := auditlog.Redacted, auditlog.Redacted
				if old[i].IPAddress == "" {
					wantIP, wantUA = "", ""
				}
				if !e.Erased() || e.Actor.Email != auditlog.Redacted || e.IPAddress != wantIP || e.UserAgent != wantUA || e.Salt != nil {
					t.Errorf("%s/%d after erasure: %+v", ref, i, e)
				}
			} else if e.Erased() || e.Actor.Email != old[i].Actor.Email || !bytes.Equal(e.Salt, old[i].Salt) {
				t.Errorf("%s/%d, not his, changed: %+v", ref, i, e)
			}
			// Everything else is as it was.
			e.Actor.Email, e.IPAddress, e.UserAgent, e.Salt, e.PersonalHash = old[i].Actor.Email, old[i].IPAddress, old[i].UserAgent, old[i].Salt, nil
			if fmt.Sprint(e) != fmt.Sprint(old[i]) {
				t.Errorf("%s/%d: the erasure changed more than the personal fields:\n%+v\n%+v", ref, i, e, old[i])
			}
			p, err := db.ProveInclusion(ctx, ref, int64(i), 0)
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := events[i].LeafHash()
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(cp.Size), leaf[:], p.Proof, cp.Root[:]); err != nil {
				t.Errorf("%s/%d: the erased event's proof: %v", ref, i, err)
			}
		}
	}
	// His memberships and tokens are gone too.
	for _, ref := range []auditlog.OrgRef{acme, beta} {
		_, err := db.FindMember(ctx, ref, bob)
		wantCode(t, "member after erasure", err, auditlog.ENOTFOUND)
	}
	if ms, err := db.Memberships(ctx, bob); err != nil || len(ms) != 0 {
		t.Errorf("memberships after erasure: %v, %v", ms, err)
	}
	if _, err := db.Authenticate(ctx, tok.Secret); err == nil {
		t.Error("his token still authenticates")
	}

	// Again, or someone unknown: nothing to do.
	if n, err := db.EraseUser(ctx, bob); err != nil || n != 0 {
		t.Errorf("second erasure: %d, %v", n, err)
	}
	if n, err := db.EraseUser(ctx, "nobody@acme.example"); err != nil || n != 0 {
		t.Errorf("erasure of an unknown user: %d, %v", n, err)
	}
	if _, err := db.EraseUser(ctx, "not an email"); err == nil {
		t.Error("erasure of an invalid email succeeded")
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
