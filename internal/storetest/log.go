package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// LogStore is a store with a tamper-evident log whose checkpoints can be signed on demand.
type LogStore interface {
	auditlog.Store
	auditlog.LogService
	// SignCheckpoints signs, now, a checkpoint of every organization whose log grew.
	SignCheckpoints(ctx context.Context) error
}

// LogOpener returns a new, empty, open store whose clock is now, whose
// checkpoints key signs, and whose background signer is off. It closes the
// store when tb ends.
type LogOpener func(tb testing.TB, now func() time.Time, key *merkle.Key) LogStore

// RunLog runs the contract of the tamper-evident log (auditlog.LogService)
// against the stores that open returns. Each subtest opens its own store.
func RunLog(t *testing.T, open LogOpener) {
	t.Run("Proofs", func(t *testing.T) { testProofs(t, open) })
	t.Run("EraseUser", func(t *testing.T) { testEraseUser(t, open) })
	t.Run("LongLog", func(t *testing.T) { testLongLog(t, open) })
}

// MTH is the RFC 6962 Merkle tree hash of leaf hashes, written out here from
// the RFC so that stores' trees are checked against an independent computation.
func MTH(leaves [][32]byte) [32]byte {
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
	l, r := MTH(leaves[:k]), MTH(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// MustLogEvents reads all of ref's events, with their salts, by sequence,
// failing tb unless the sequences are 0..n-1.
func MustLogEvents(tb testing.TB, s auditlog.EventService, ref auditlog.OrgRef) []auditlog.Event {
	tb.Helper()
	var out []auditlog.Event
	for e, err := range s.FindEvents(context.Background(), ref, auditlog.EventFilter{}) {
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

// MustLeaves returns the leaf hashes of events.
func MustLeaves(tb testing.TB, events []auditlog.Event) [][32]byte {
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

// MustOpenNote opens a signed checkpoint of ref.
func MustOpenNote(tb testing.TB, key *merkle.Key, ref auditlog.OrgRef, note []byte) *merkle.Checkpoint {
	tb.Helper()
	cp, err := merkle.OpenCheckpoint(note, key.Verifier, merkle.Origin("auditlog", ref))
	if err != nil {
		tb.Fatalf("checkpoint of %s: %v\n%s", ref, err, note)
	}
	return cp
}

// LogEvent is event i of ref: every field set, caused by email.
func LogEvent(ref auditlog.OrgRef, i int, email string) auditlog.Event {
	return auditlog.Event{
		Organization:   ref,
		ID:             fmt.Sprintf("%s-%d", ref.Name, i),
		Action:         "user.login",
		Actor:          auditlog.Actor{Email: email, Role: auditlog.RoleOrganizationAdmin},
		Timestamp:      T0.Add(-time.Duration((i*7)%5)*time.Hour - time.Duration(i)*time.Minute),
		RepositoryName: fmt.Sprintf("%s/repo-%d", ref.Name, i),
		EntityID:       fmt.Sprintf("entity-%d", i),
		Details:        json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		IPAddress:      fmt.Sprintf("192.0.2.%d", 10+i),
		UserAgent:      fmt.Sprintf("Agent/%d.0", i),
	}
}

func mustNewKey(tb testing.TB) *merkle.Key {
	tb.Helper()
	skey, _, err := merkle.GenerateKey("test")
	if err != nil {
		tb.Fatal(err)
	}
	k, err := merkle.ParseKey(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func testProofs(t *testing.T, open LogOpener) {
	ctx := context.Background()
	key := mustNewKey(t)
	s := open(t, NewClock(T0).Now, key)
	gamma := auditlog.OrgRef{Provider: "bb", Name: "gamma"}
	for _, ref := range []auditlog.OrgRef{acme, beta, gamma} {
		MustCreateOrg(t, s, ref, auditlog.PlanBusiness)
	}
	_, _, err := s.LatestCheckpoint(ctx, acme)
	wantCode(t, err, auditlog.ENOTFOUND)
	_, _, err = s.LatestCheckpoint(ctx, auditlog.OrgRef{Provider: "gh", Name: "nope"})
	wantCode(t, err, auditlog.ENOTFOUND)

	// Checkpoints of 1, 3, 7 and 13 events; beta's log grows beside acme's.
	sizes := []int64{1, 3, 7, 13}
	next := 0
	for _, size := range sizes {
		var batch []auditlog.Event
		for ; next < int(size); next++ {
			batch = append(batch, LogEvent(acme, next, "a@acme.example"), LogEvent(beta, next, "b@beta.example"))
		}
		MustAppend(t, s, batch...)
		if err := s.SignCheckpoints(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SignCheckpoints(ctx); err != nil { // nothing new: no new checkpoint
		t.Fatal(err)
	}

	leaves := MustLeaves(t, MustLogEvents(t, s, acme))
	for _, ref := range []auditlog.OrgRef{acme, beta} {
		note, size, err := s.LatestCheckpoint(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		cp := MustOpenNote(t, key, ref, note)
		want := MTH(MustLeaves(t, MustLogEvents(t, s, ref)))
		if size != 13 || cp.Size != 13 || cp.Root != want {
			t.Errorf("%s: latest checkpoint of size %d (note %d), root %x, want 13 and %x", ref, size, cp.Size, cp.Root, want)
		}
	}

	roots := map[int64][32]byte{}
	for _, size := range sizes {
		for seq := range size {
			p, err := s.ProveInclusion(ctx, acme, seq, size)
			if err != nil {
				t.Fatalf("prove %d in %d: %v", seq, size, err)
			}
			cp := MustOpenNote(t, key, acme, []byte(p.Checkpoint))
			if cp.Size != size || p.TreeSize != size || p.Sequence != seq {
				t.Fatalf("prove %d in %d: proof of %d in %d with a checkpoint of %d", seq, size, p.Sequence, p.TreeSize, cp.Size)
			}
			if cp.Root != MTH(leaves[:size]) {
				t.Fatalf("checkpoint of %d: root %x, want %x", size, cp.Root, MTH(leaves[:size]))
			}
			roots[size] = cp.Root
			if !bytes.Equal(p.LeafHash, leaves[seq][:]) {
				t.Errorf("prove %d in %d: leaf hash %x, the event's is %x", seq, size, p.LeafHash, leaves[seq])
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(seq), uint64(size), leaves[seq][:], p.Proof, cp.Root[:]); err != nil {
				t.Errorf("prove %d in %d: %v", seq, size, err)
			}
		}
	}
	if p, err := s.ProveInclusion(ctx, acme, 4, 0); err != nil || p.TreeSize != 13 {
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
		{"organization without events", gamma, 0, 0},
	} {
		t.Run("inclusion/"+tc.name, func(t *testing.T) {
			_, err := s.ProveInclusion(ctx, tc.ref, tc.seq, tc.size)
			wantCode(t, err, auditlog.ENOTFOUND)
		})
	}

	for i, from := range sizes {
		for _, to := range sizes[i:] {
			p, err := s.ProveConsistency(ctx, acme, from, to)
			if err != nil {
				t.Fatalf("consistency %d..%d: %v", from, to, err)
			}
			fromCP, toCP := MustOpenNote(t, key, acme, []byte(p.FromCheckpoint)), MustOpenNote(t, key, acme, []byte(p.ToCheckpoint))
			if p.From != from || p.To != to || fromCP.Root != roots[from] || toCP.Root != roots[to] {
				t.Errorf("consistency %d..%d: proof of %d..%d, checkpoints of roots %x, %x", from, to, p.From, p.To, fromCP.Root, toCP.Root)
			}
			rootFrom, rootTo := roots[from], roots[to]
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(to), p.Proof, rootFrom[:], rootTo[:]); err != nil {
				t.Errorf("consistency %d..%d: %v", from, to, err)
			}
		}
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
		t.Run("consistency/"+tc.name, func(t *testing.T) {
			_, err := s.ProveConsistency(ctx, acme, tc.from, tc.to)
			wantCode(t, err, tc.code)
		})
	}

	// LogEvents: the events below a checkpoint's size, ascending, each with its proof.
	for _, size := range sizes {
		var seqs []int64
		for pe, err := range s.LogEvents(ctx, acme, size) {
			if err != nil {
				t.Fatal(err)
			}
			seq := pe.Event.Sequence
			seqs = append(seqs, seq)
			h, err := pe.Event.LeafHash()
			if err != nil {
				t.Fatal(err)
			}
			if pe.Sequence != seq || pe.LeafHash != h {
				t.Errorf("LogEvents(%d): event %d comes as sequence %d, leaf hash %x (its content's: %x)", size, seq, pe.Sequence, pe.LeafHash, h)
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
		want := make([]int64, size)
		for i := range want {
			want[i] = int64(i)
		}
		if !slices.Equal(seqs, want) {
			t.Errorf("LogEvents(%d) yielded %v, want %v", size, seqs, want)
		}
	}
}

// testLongLog proves every event of a log longer than what the stores read
// ahead or cache for an export's proofs, against an independent tree.
func testLongLog(t *testing.T, open LogOpener) {
	ctx := context.Background()
	key := mustNewKey(t)
	s := open(t, NewClock(T0).Now, key)
	MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
	const n = 20_001 // odd: a lone leaf at the tree's right edge
	for lo := 0; lo < n; lo += 1000 {
		var batch []auditlog.Event
		for i := lo; i < min(n, lo+1000); i++ {
			e := LogEvent(acme, i, "a@acme.example")
			e.IPAddress = "192.0.2.10"
			batch = append(batch, e)
		}
		MustAppend(t, s, batch...)
	}
	if err := s.SignCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
	note, size, err := s.LatestCheckpoint(ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	leaves := MustLeaves(t, MustLogEvents(t, s, acme))
	root := MTH(leaves)
	if cp := MustOpenNote(t, key, acme, note); size != n || cp.Root != root {
		t.Fatalf("checkpoint of size %d, root %x; want %d events and %x", size, cp.Root, n, root)
	}
	seq := int64(0)
	for pe, err := range s.LogEvents(ctx, acme, n) {
		if err != nil {
			t.Fatal(err)
		}
		if pe.Sequence != seq || pe.LeafHash != leaves[seq] {
			t.Fatalf("event %d comes as sequence %d, leaf hash %x, want %x", seq, pe.Sequence, pe.LeafHash, leaves[seq])
		}
		p := make([][]byte, len(pe.Proof))
		for i := range pe.Proof {
			p[i] = pe.Proof[i][:]
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(seq), n, pe.LeafHash[:], p, root[:]); err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		seq++
	}
	if seq != n {
		t.Errorf("LogEvents yielded %d events, want %d", seq, n)
	}
}

func testEraseUser(t *testing.T, open LogOpener) {
	ctx := context.Background()
	key := mustNewKey(t)
	s := open(t, NewClock(T0).Now, key)
	const bob, bobIP, bobUA = "bob@acme.example", "198.51.100.77", "BobBrowser/7.7"
	for _, ref := range []auditlog.OrgRef{acme, beta} {
		MustCreateOrg(t, s, ref, auditlog.PlanBusiness)
		MustPutMember(t, s, ref, bob, auditlog.RoleOrganizationAdmin, true)
	}
	tok, err := s.CreateToken(ctx, bob, nil)
	if err != nil {
		t.Fatal(err)
	}
	var batch []auditlog.Event
	for i := range 6 {
		for _, ref := range []auditlog.OrgRef{acme, beta} {
			e := LogEvent(ref, i, fmt.Sprintf("user%d@%s.example", i, ref.Name))
			if i%2 == 1 {
				e.Actor.Email, e.IPAddress, e.UserAgent = bob, bobIP, bobUA
			}
			if i == 5 {
				e.IPAddress, e.UserAgent = "", "" // one of his events has neither
			}
			batch = append(batch, e)
		}
	}
	MustAppend(t, s, batch...)
	if err := s.SignCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
	before := map[auditlog.OrgRef][]auditlog.Event{acme: MustLogEvents(t, s, acme), beta: MustLogEvents(t, s, beta)}
	notes := map[auditlog.OrgRef][]byte{}
	for ref := range before {
		notes[ref], _, _ = s.LatestCheckpoint(ctx, ref)
	}

	n, err := s.EraseUser(ctx, " Bob@ACME.example ")
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("erased %d events, want 6", n)
	}
	for ref, old := range before {
		events := MustLogEvents(t, s, ref)
		note, _, err := s.LatestCheckpoint(ctx, ref)
		if err != nil || !bytes.Equal(note, notes[ref]) {
			t.Errorf("%s: the erasure changed the latest checkpoint: %v", ref, err)
		}
		cp := MustOpenNote(t, key, ref, note)
		if got := MTH(MustLeaves(t, events)); got != cp.Root {
			t.Errorf("%s: the erased events no longer rebuild the signed tree", ref)
		}
		for i, e := range events {
			if old[i].Actor.Email == bob {
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
			p, err := s.ProveInclusion(ctx, ref, int64(i), 0)
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
		_, err := s.FindMember(ctx, ref, bob)
		wantCode(t, err, auditlog.ENOTFOUND)
	}
	if ms, err := s.Memberships(ctx, bob); err != nil || len(ms) != 0 {
		t.Errorf("memberships after erasure: %v, %v", ms, err)
	}
	if _, err := s.Authenticate(ctx, tok.Secret); err == nil {
		t.Error("his token still authenticates")
	}
	// Again, or someone unknown: nothing to do.
	if n, err := s.EraseUser(ctx, bob); err != nil || n != 0 {
		t.Errorf("second erasure: %d, %v", n, err)
	}
	if n, err := s.EraseUser(ctx, "nobody@acme.example"); err != nil || n != 0 {
		t.Errorf("erasure of an unknown user: %d, %v", n, err)
	}
	if _, err := s.EraseUser(ctx, "not an email"); err == nil {
		t.Error("erasure of an invalid email succeeded")
	}
}
