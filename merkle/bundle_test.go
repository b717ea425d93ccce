package merkle_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func orgRef(provider, name string) auditlog.OrgRef {
	return auditlog.OrgRef{Provider: provider, Name: name}
}

var bundleT0 = time.Date(2025, 6, 28, 14, 29, 13, 430e6, time.UTC)

// memTree is an organization's tree in memory: tlog's stored hashes.
type memTree []tlog.Hash

func (m *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx < 0 || idx >= int64(len(*m)) {
			return nil, fmt.Errorf("no stored hash %d", idx)
		}
		out[i] = (*m)[idx]
	}
	return out, nil
}

// testLog is a small organization log: its events, tree and signed checkpoint.
type testLog struct {
	key    *merkle.Key
	events []auditlog.Event
	tree   memTree
	cp     *merkle.Checkpoint
}

// newTestLog builds the log of n stored-form events of gh/acme, with salts,
// and signs its checkpoint.
func newTestLog(tb testing.TB, n int) *testLog {
	tb.Helper()
	l := &testLog{key: MustNewKey(tb, merkle.DefaultKeyName)}
	for i := range n {
		e := auditlog.Event{
			Organization:   orgRef("gh", "acme"),
			Sequence:       int64(i),
			ID:             fmt.Sprintf("evt-%02d", i),
			Action:         "user.login",
			Actor:          auditlog.Actor{Email: fmt.Sprintf("user%d@acme.example", i), Role: auditlog.RoleOrganizationAdmin},
			Result:         auditlog.ResultSucceed,
			Source:         auditlog.SourceUI,
			Timestamp:      bundleT0.Add(time.Duration(i) * time.Minute),
			ReceivedAt:     bundleT0.Add(time.Duration(i)*time.Minute + 250*time.Millisecond),
			RepositoryName: "acme/api",
			EntityID:       fmt.Sprintf("ent-%d", i),
			Description:    "User logged in to Codacy",
			Details:        json.RawMessage(fmt.Sprintf(`{"attempt":%d}`, i)),
			IPAddress:      "192.0.2.10",
			UserAgent:      "Mozilla/5.0",
			Salt:           bytes.Repeat([]byte{byte(i + 1)}, auditlog.SaltSize),
		}
		if i%3 == 2 {
			e.Details = nil // some events have no details
			e.IPAddress, e.UserAgent = "", ""
		}
		leaf, err := e.LeafHash()
		if err != nil {
			tb.Fatal(err)
		}
		hs, err := tlog.StoredHashesForRecordHash(int64(i), leaf, &l.tree)
		if err != nil {
			tb.Fatal(err)
		}
		l.tree = append(l.tree, hs...)
		l.events = append(l.events, e)
	}
	l.cp = l.sign(tb, l.key, "auditlog/gh/acme", int64(n))
	return l
}

// sign signs the checkpoint of the first size leaves.
func (l *testLog) sign(tb testing.TB, k *merkle.Key, origin string, size int64) *merkle.Checkpoint {
	tb.Helper()
	root, err := tlog.TreeHash(size, &l.tree)
	if err != nil {
		tb.Fatal(err)
	}
	return MustSign(tb, k, origin, size, root)
}

// proof proves event seq in the tree of size leaves.
func (l *testLog) proof(tb testing.TB, seq, size int64) [][32]byte {
	tb.Helper()
	p, err := tlog.ProveRecord(size, seq, &l.tree)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][32]byte, len(p))
	for i := range p {
		out[i] = p[i]
	}
	return out
}

// line returns the bundle line of event seq against the checkpoint, after
// edit (if not nil) changed a copy of the event.
func (l *testLog) line(tb testing.TB, seq int64, edit func(e *auditlog.Event)) []byte {
	tb.Helper()
	e := l.events[seq]
	e.Salt = bytes.Clone(e.Salt)
	if edit != nil {
		edit(&e)
	}
	return merkle.AppendBundleLine(nil, &e, l.proof(tb, seq, l.cp.Size))
}

// bundle returns a bundle of the given events (all if seqs is nil).
func (l *testLog) bundle(tb testing.TB, complete bool, seqs ...int64) []byte {
	tb.Helper()
	b := merkle.AppendBundleHeader(nil, l.cp.Note, complete)
	if seqs == nil {
		for i := range l.events {
			seqs = append(seqs, int64(i))
		}
	}
	for _, s := range seqs {
		b = append(b, l.line(tb, s, nil)...)
	}
	return b
}

func verify(b []byte, l *testLog) (*merkle.BundleReport, error) {
	return merkle.VerifyBundle(bytes.NewReader(b), l.key.Verifier, nil)
}

func TestLeafHash_IsTheRFC6962LeafOfLeaf(t *testing.T) {
	// LeafHash is SHA-256(0x00 || Leaf()): tlog's record hash of the leaf.
	l := newTestLog(t, 3)
	for _, e := range l.events {
		leaf, err := e.Leaf()
		if err != nil {
			t.Fatal(err)
		}
		h, err := e.LeafHash()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tlog.Hash(h), tlog.RecordHash(leaf); got != want {
			t.Errorf("event %d: LeafHash %x, RecordHash(Leaf) %x", e.Sequence, got, want)
		}
		if h != sha256.Sum256(append([]byte{0}, leaf...)) {
			t.Errorf("event %d: LeafHash is not SHA-256(0x00 || leaf)", e.Sequence)
		}
	}
}

func TestVerifyBundle_Complete(t *testing.T) {
	for _, n := range []int{1, 2, 5, 8, 13} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			l := newTestLog(t, n)
			rep, err := verify(l.bundle(t, true), l)
			if err != nil {
				t.Fatal(err)
			}
			want := merkle.BundleReport{Origin: "auditlog/gh/acme", TreeSize: int64(n), Events: int64(n), Complete: true}
			if *rep != want {
				t.Errorf("report %+v, want %+v", *rep, want)
			}
		})
	}
}

func TestVerifyBundle_NoFinalNewline(t *testing.T) {
	l := newTestLog(t, 3)
	b := bytes.TrimSuffix(l.bundle(t, true), []byte("\n"))
	if rep, err := verify(b, l); err != nil || rep.Events != 3 {
		t.Errorf("%+v, %v", rep, err)
	}
}

func TestVerifyBundle_Partial(t *testing.T) {
	// A filtered bundle may skip events anywhere, the last ones included.
	l := newTestLog(t, 9)
	for _, seqs := range [][]int64{{0, 2, 5}, {3}, {1, 8}, {0, 1, 2, 3, 4, 5, 6, 7}, {}} {
		b := merkle.AppendBundleHeader(nil, l.cp.Note, false)
		for _, s := range seqs {
			b = append(b, l.line(t, s, nil)...)
		}
		rep, err := verify(b, l)
		if err != nil {
			t.Errorf("partial bundle of %v: %v", seqs, err)
			continue
		}
		if rep.Complete || rep.Events != int64(len(seqs)) || rep.TreeSize != 9 {
			t.Errorf("partial bundle of %v: report %+v", seqs, *rep)
		}
	}
}

func TestVerifyBundle_Erased(t *testing.T) {
	// An erased event carries its personal hash instead of the salt and its
	// values: it still verifies, and so does every other event.
	l := newTestLog(t, 5)
	b := merkle.AppendBundleHeader(nil, l.cp.Note, true)
	for i := range l.events {
		b = append(b, l.line(t, int64(i), func(e *auditlog.Event) {
			if i == 1 || i == 2 {
				if err := e.Erase(); err != nil {
					t.Fatal(err)
				}
			}
		})...)
	}
	if bytes.Contains(b, []byte("user1@acme.example")) || bytes.Contains(b, []byte(`"salt":"AgICAgICAgICAgICAgICAg=="`)) {
		t.Fatalf("the erased event's email or salt is in the bundle:\n%s", b)
	}
	if !bytes.Contains(b, []byte(`"personalHash":`)) || !bytes.Contains(b, []byte(`"email":"redacted"`)) {
		t.Fatalf("no erased event line in:\n%s", b)
	}
	if rep, err := verify(b, l); err != nil || rep.Events != 5 {
		t.Fatalf("bundle with erased events: %+v, %v", rep, err)
	}
}

func TestVerifyBundle_Tampered(t *testing.T) {
	l := newTestLog(t, 8)
	const altered = "does not match the signed log"
	other := MustNewKey(t, merkle.DefaultKeyName)
	const also = "\x00" // separates parts of a wanted error that need not be adjacent

	// build returns a complete bundle whose line for event 4 is edited.
	editEvent := func(edit func(e *auditlog.Event)) []byte {
		b := merkle.AppendBundleHeader(nil, l.cp.Note, true)
		for i := range l.events {
			if i == 4 {
				b = append(b, l.line(t, int64(i), edit)...)
			} else {
				b = append(b, l.line(t, int64(i), nil)...)
			}
		}
		return b
	}
	// lines returns the complete bundle with these event lines, in this order.
	lines := func(seqs ...int64) []byte {
		b := merkle.AppendBundleHeader(nil, l.cp.Note, true)
		for _, s := range seqs {
			b = append(b, l.line(t, s, nil)...)
		}
		return b
	}
	// partial returns a filtered bundle of these event lines, where each
	// line stands on its own proof; edit, if not nil, changes event 4's
	// proof.
	partial := func(edit func(p [][32]byte) [][32]byte, seqs ...int64) []byte {
		b := merkle.AppendBundleHeader(nil, l.cp.Note, false)
		for _, s := range seqs {
			p := l.proof(t, s, l.cp.Size)
			if s == 4 && edit != nil {
				p = edit(p)
			}
			b = merkle.AppendBundleLine(b, &l.events[s], p)
		}
		return b
	}
	withHeader := func(header []byte) []byte {
		full := l.bundle(t, true)
		return append(header, full[bytes.IndexByte(full, '\n')+1:]...)
	}
	purgedLine := func(s int64) []byte {
		leaf, err := l.events[s].LeafHash()
		if err != nil {
			t.Fatal(err)
		}
		return merkle.AppendPurgedLine(nil, s, leaf, l.proof(t, s, l.cp.Size))
	}
	erased := func(e *auditlog.Event) {
		if err := e.Erase(); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name   string
		bundle []byte
		want   string // a distinctive part of the error
	}{
		{"action", editEvent(func(e *auditlog.Event) { e.Action = "user.logout" }), "line 6 (event 4): " + also + altered},
		{"description", editEvent(func(e *auditlog.Event) { e.Description = "User logged in to Codacz" }), altered},
		{"timestamp", editEvent(func(e *auditlog.Event) { e.Timestamp = e.Timestamp.Add(time.Millisecond) }), altered},
		{"receivedAt", editEvent(func(e *auditlog.Event) { e.ReceivedAt = e.ReceivedAt.Add(-time.Second) }), altered},
		{"result", editEvent(func(e *auditlog.Event) { e.Result = auditlog.ResultFailed }), altered},
		{"source", editEvent(func(e *auditlog.Event) { e.Source = auditlog.SourceAPI }), altered},
		{"id", editEvent(func(e *auditlog.Event) { e.ID = "evt-99" }), altered},
		{"actor role", editEvent(func(e *auditlog.Event) { e.Actor.Role = auditlog.RoleRepositoryRead }), altered},
		{"actor email", editEvent(func(e *auditlog.Event) { e.Actor.Email = "user9@acme.example" }), altered},
		{"ip address", editEvent(func(e *auditlog.Event) { e.IPAddress = "192.0.2.11" }), altered},
		{"user agent", editEvent(func(e *auditlog.Event) { e.UserAgent = "curl/8.0" }), altered},
		{"repositoryName", editEvent(func(e *auditlog.Event) { e.RepositoryName = "acme/apj" }), altered},
		{"entityId", editEvent(func(e *auditlog.Event) { e.EntityID = "ent-5" }), altered},
		{"details", editEvent(func(e *auditlog.Event) { e.Details = json.RawMessage(`{"attempt":5}`) }), altered},
		{"details removed", editEvent(func(e *auditlog.Event) { e.Details = nil }), altered},
		{"salt", editEvent(func(e *auditlog.Event) { e.Salt[0] ^= 1 }), altered},
		{"salt removed", editEvent(func(e *auditlog.Event) { e.Salt = nil }), "line 6 (event 4): " + also + "neither a salt nor a"},
		// Base64 whose padding became a letter decodes to one byte more.
		{"salt's padding made a letter", bytes.Replace(editEvent(nil), []byte(`"salt":"BQUFBQUFBQUFBQUFBQUFBQ=="`), []byte(`"salt":"BQUFBQUFBQUFBQUFBQUFBQAA"`), 1), "line 6 (event 4): " + also + "the salt is not 16 bytes"},
		{"personal hash's padding made a letter", regexp.MustCompile(`(?m)("personalHash":"[^"]{43})=`).ReplaceAll(editEvent(erased), []byte("${1}A")), "line 6"},
		{"proof hash's padding made a letter", bytes.Replace(partial(nil, 2, 4, 6), []byte(`=","`), []byte(`A","`), 1), "line 2"},
		{"sequence", editEvent(func(e *auditlog.Event) { e.Sequence = 3 }), "line 6 (event 3): out of order"},
		{"organization", editEvent(func(e *auditlog.Event) { e.Organization.Name = "acmf" }), "organization gh/acmf is not the checkpoint's log"},
		{"provider", editEvent(func(e *auditlog.Event) { e.Organization.Provider = "gl" }), "is not the checkpoint's log"},
		// Erasing is not a way to change an event: its personal hash is what the leaf holds.
		{"erased, then the personal hash changed", editEvent(func(e *auditlog.Event) { erased(e); e.PersonalHash[0] ^= 1 }), altered},
		{"erased, then another actor written in", editEvent(func(e *auditlog.Event) { erased(e); e.Actor.Email = "user9@acme.example" }), "line 6 (event 4): " + also + "redacted"},
		{"erased, then an IP address written in", editEvent(func(e *auditlog.Event) { erased(e); e.IPAddress = "192.0.2.66" }), "line 6 (event 4): " + also + "redacted"},
		{"erased, then a user agent written in", editEvent(func(e *auditlog.Event) { erased(e); e.UserAgent = "curl/8.0" }), "line 6 (event 4): " + also + "redacted"},

		{"gap", lines(0, 1, 2, 4, 5, 6, 7), "gap: events 3 to 3 are missing"},
		{"gap of two", lines(0, 1, 2, 3, 6, 7), "gap: events 4 to 5 are missing"},
		{"swapped", lines(0, 1, 3, 2, 4, 5, 6, 7), "line 4 (event 3): gap"},
		{"swapped in a partial bundle", partial(nil, 0, 1, 3, 2, 4), "line 5 (event 2): out of order: sequence 2 after 3"},
		{"duplicate", lines(0, 1, 2, 2, 3, 4, 5, 6, 7), "line 5 (event 2): out of order: sequence 2 after 2"},
		{"duplicate in a partial bundle", partial(nil, 1, 4, 4), "line 4 (event 4): out of order"},
		{"last event missing", lines(0, 1, 2, 3, 4, 5, 6), "incomplete: the bundle ends at event 6 but the checkpoint has 8 events"},
		{"first event missing", lines(1, 2, 3, 4, 5, 6, 7), "line 2 (event 1): gap: events 0 to 0 are missing"},
		{"first events missing", lines(2, 3, 4, 5, 6, 7), "line 2 (event 2): gap: events 0 to 1 are missing"},
		{"first event purged, then missing", func() []byte {
			b := merkle.AppendBundleHeader(nil, l.cp.Note, true)
			for s := int64(1); s < 8; s++ {
				b = append(b, purgedLine(s)...)
			}
			return b
		}(), "line 2 (purged event 1): gap: events 0 to 0 are missing"},
		{"only purged events, the last missing", func() []byte {
			b := merkle.AppendBundleHeader(nil, l.cp.Note, true)
			for s := range int64(7) {
				b = append(b, purgedLine(s)...)
			}
			return b
		}(), "incomplete: the bundle ends at event 6 but the checkpoint has 8 events"},
		{"event line joined to the header line", bytes.Replace(l.bundle(t, true), []byte("}\n{\"event\""), []byte("}{\"event\""), 1), "bundle header: not a bundle header line: more than one JSON value"},
		{"no events", lines(), "incomplete: the bundle holds no events"},

		// Each line of a partial bundle stands on its proof.
		{"proof hash changed", partial(func(p [][32]byte) [][32]byte { p[1][7] ^= 0x10; return p }, 2, 4, 6), "line 3 (event 4): " + also + altered},
		{"proof shortened", partial(func(p [][32]byte) [][32]byte { return p[:len(p)-1] }, 2, 4, 6), "line 3 (event 4): " + also + altered},
		{"proof lengthened", partial(func(p [][32]byte) [][32]byte { return append(p, p[0]) }, 2, 4, 6), "line 3 (event 4): " + also + altered},
		{"proof of another event", partial(func([][32]byte) [][32]byte { return l.proof(t, 5, l.cp.Size) }, 2, 4, 6), "line 3 (event 4): " + also + altered},
		{"proof in a smaller tree", partial(func([][32]byte) [][32]byte { return l.proof(t, 4, 5) }, 2, 4, 6), "line 3 (event 4): " + also + altered},
		{"sequence changed in a partial bundle", bytes.Replace(partial(nil, 2, 4, 6), []byte(`"sequence":4,`), []byte(`"sequence":5,`), 1), "line 3 (event 5): " + also + altered},
		{"event beyond the checkpoint", func() []byte {
			// The checkpoint of the first 6 events, with the lines of all 8 (proved in 6 where possible).
			cp := l.sign(t, l.key, "auditlog/gh/acme", 6)
			b := merkle.AppendBundleHeader(nil, cp.Note, true)
			for i := range l.events {
				p := l.proof(t, min(int64(i), 5), 6)
				b = merkle.AppendBundleLine(b, &l.events[i], p)
			}
			return b
		}(), "line 8 (event 6): sequence 6 is beyond the checkpoint's 6 events"},

		{"checkpoint size", withHeader(merkle.AppendBundleHeader(nil, []byte(strings.Replace(string(l.cp.Note), "\n8\n", "\n7\n", 1)), true)), "checkpoint does not verify"},
		{"checkpoint root", withHeader(merkle.AppendBundleHeader(nil, bytes.Replace(l.cp.Note, []byte(l.cp.Note[len("auditlog/gh/acme\n8\n"):][:4]), []byte("AAAA"), 1), true)), "checkpoint does not verify"},
		{"checkpoint of another key", withHeader(merkle.AppendBundleHeader(nil, l.sign(t, other, "auditlog/gh/acme", 8).Note, true)), "checkpoint does not verify"},
		{"checkpoint of another log", withHeader(merkle.AppendBundleHeader(nil, l.sign(t, l.key, "auditlog/gh/other", 8).Note, true)), "organization gh/acme is not the checkpoint's log \"auditlog/gh/other\""},
		{"checkpoint of another tree", withHeader(merkle.AppendBundleHeader(nil, MustSign(t, l.key, "auditlog/gh/acme", 8, testRoot("other")).Note, true)), "line 2 (event 0): " + also + altered},

		{"empty file", nil, "bundle header"},
		{"not a bundle", []byte("hello\n"), "bundle header"},
		{"header without checkpoint", []byte(`{"complete":true}` + "\n"), "not a bundle header line"},
		{"header with an unknown field", withHeader([]byte(`{"checkpoint":"x","complete":true,"extra":1}` + "\n")), "not a bundle header line"},
		{"line not JSON", append(lines(0, 1), "garbage\n"...), "line 4: not an event line"},
		{"line without event", append(lines(0, 1), `{"proof":[]}`+"\n"...), "line 4: not an event line"},
		{"line with an unknown field", bytes.Replace(l.bundle(t, true), []byte(`,"salt":`), []byte(`,"note":"x","salt":`), 1), "line 2: not an event line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyEachWay(t, tc.bundle, l.key.Verifier, func(way string, rep *merkle.BundleReport, err error) {
				if err == nil {
					t.Fatalf("%s: verified %+v, want an error", way, rep)
				}
				for _, want := range strings.Split(tc.want, also) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: error %q does not say %q", way, err, want)
					}
				}
			})
			// Through a buffer smaller than a line, which takes the general path, it says the same.
			if rep, err := merkle.VerifyBundleBuffer(bytes.NewReader(tc.bundle), 256, l.key.Verifier); err == nil {
				t.Fatalf("small buffer: verified %+v, want an error", rep)
			} else if want := strings.Split(tc.want, also); !strings.Contains(err.Error(), want[len(want)-1]) {
				t.Errorf("small buffer: error %q does not say %q", err, want[len(want)-1])
			}
		})
	}
}

// verifyEachWay verifies a bundle each way it can arrive, and calls check
// with each way's result: in memory (VerifyBundleBytes), through a reader, in
// a file (VerifyBundleFile maps it, and releases what it has read) and
// through a pipe (which it reads as a stream).
func verifyEachWay(t *testing.T, bundle []byte, v note.Verifier, check func(way string, rep *merkle.BundleReport, err error)) {
	t.Helper()
	rep, err := merkle.VerifyBundleBytes(bundle, v, nil)
	check("in memory", rep, err)
	rep, err = merkle.VerifyBundle(bytes.NewReader(bundle), v, nil)
	check("reader", rep, err)

	path := filepath.Join(t.TempDir(), "bundle.ndjson")
	if err := os.WriteFile(path, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = merkle.VerifyBundleFile(f, v, nil)
	check("file", rep, err)
	// Released behind the verifier page by page, the lines read the same.
	restore := merkle.SetReleaseEvery(1)
	rep, err = merkle.VerifyBundleFile(f, v, nil)
	restore()
	f.Close()
	check("file, released as it is read", rep, err)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(bundle) // fails once the verifier stops reading and closes r
		w.Close()
	}()
	rep, err = merkle.VerifyBundleFile(r, v, nil)
	r.Close()
	check("pipe", rep, err)
}

func TestVerifyBundle_ReadBuffers(t *testing.T) {
	// However a bundle arrives, in small reads or large, and however small
	// the read buffer (which moves between lines, and splits them), it
	// verifies the same.
	l := newTestLog(t, 300)
	for _, complete := range []bool{true, false} {
		b := l.bundle(t, complete)
		if !complete {
			b = l.bundle(t, false, 0, 1, 2, 7, 8, 100, 101, 102, 255, 299)
		}
		want, err := merkle.VerifyBundle(bytes.NewReader(b), l.key.Verifier, nil)
		if err != nil {
			t.Fatal(err)
		}
		verifyEachWay(t, b, l.key.Verifier, func(way string, got *merkle.BundleReport, err error) {
			if err != nil || *got != *want {
				t.Errorf("complete=%v, %s: %+v, %v; want %+v", complete, way, got, err, *want)
			}
		})
		for _, size := range []int{64, 700, 4096, 64 << 10} {
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", bytes.NewReader(b)},
				{"one byte at a time", iotest.OneByteReader(bytes.NewReader(b))},
				{"half", iotest.HalfReader(bytes.NewReader(b))},
				{"last data with EOF", iotest.DataErrReader(bytes.NewReader(b))},
			} {
				got, err := merkle.VerifyBundleBuffer(r.r, size, l.key.Verifier)
				if err != nil {
					t.Fatalf("complete=%v, buffer %d, %s: %v", complete, size, r.name, err)
				}
				if *got != *want {
					t.Errorf("complete=%v, buffer %d, %s: %+v, want %+v", complete, size, r.name, *got, *want)
				}
			}
		}
	}
	// A read error is reported with the line it interrupted.
	b := l.bundle(t, true)
	r := io.MultiReader(bytes.NewReader(b[:len(b)/2]), iotest.ErrReader(errors.New("disk on fire")))
	if _, err := merkle.VerifyBundle(r, l.key.Verifier, nil); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read error: %v", err)
	}
}

func TestVerifyBundle_AnotherKeyCheckpoint(t *testing.T) {
	// A checkpoint re-signed by another key verifies only with that key: the
	// verifier key is what ties a bundle to its server.
	l := newTestLog(t, 4)
	other := MustNewKey(t, "auditlog")
	b := merkle.AppendBundleHeader(nil, l.sign(t, other, "auditlog/gh/acme", 4).Note, true)
	full := l.bundle(t, true)
	b = append(b, full[bytes.IndexByte(full, '\n')+1:]...)
	if _, err := merkle.VerifyBundle(bytes.NewReader(b), l.key.Verifier, nil); !errors.Is(err, merkle.ErrBadCheckpoint) {
		t.Errorf("with the log's key: %v, want ErrBadCheckpoint", err)
	}
	if _, err := merkle.VerifyBundle(bytes.NewReader(b), other.Verifier, nil); err != nil {
		t.Errorf("with the other key: %v", err)
	}
}

func TestVerifyBundle_Progress(t *testing.T) {
	// Progress is reported every 100,000 events; a small bundle reports none.
	l := newTestLog(t, 3)
	called := false
	if _, err := merkle.VerifyBundle(bytes.NewReader(l.bundle(t, true)), l.key.Verifier, func(int64) { called = true }); err != nil {
		t.Fatal(err)
	}
	if called {
		t.Error("progress called for a 3-event bundle")
	}
}

func TestVerifyBundle_EveryByteOfAnEvent(t *testing.T) {
	// Changing any one byte of an event's line (its JSON or its salt), in
	// place, makes the bundle fail: in a complete bundle, read as a file or
	// as a stream, and in a partial one. Some changes break the JSON, others
	// change a value, the spelling of a key or of a value.
	l := newTestLog(t, 6)
	for _, complete := range []bool{true, false} {
		b := l.bundle(t, complete)
		lines := bytes.SplitAfter(b, []byte("\n"))
		line := lines[4] // event 3
		start := bytes.Index(line, []byte(`{"event":`)) + len(`{"event":`)
		end := bytes.Index(line, []byte(`,"proof":`))
		saltStart := bytes.Index(line, []byte(`"salt":"`)) + len(`"salt":"`)
		saltEnd := saltStart + bytes.IndexByte(line[saltStart:], '"')
		if start < 0 || end < start || saltStart < 0 || saltEnd < saltStart {
			t.Fatalf("unexpected line layout: %s", line)
		}
		var positions []int
		for i := start; i < end; i++ {
			positions = append(positions, i)
		}
		for i := saltStart; i < saltEnd; i++ {
			positions = append(positions, i)
		}
		tried := 0
		for _, i := range positions {
			// Flipped bits, and the two bytes the fast reader leaves to the
			// general one: an escape, and a newline, which splits the line.
			for _, c := range []byte{line[i] ^ 0x01, line[i] ^ 0x20, '\\', '\n'} {
				if c < 0x20 && c != '\n' || c > 0x7e || c == line[i] {
					continue
				}
				edited := bytes.Clone(line)
				edited[i] = c
				tampered := bytes.Join([][]byte{bytes.Join(lines[:4], nil), edited, bytes.Join(lines[5:], nil)}, nil)
				for _, r := range []io.Reader{bytes.NewReader(tampered), struct{ io.Reader }{bytes.NewReader(tampered)}} {
					if rep, err := merkle.VerifyBundle(r, l.key.Verifier, nil); err == nil {
						t.Fatalf("complete=%v: byte %d of the line changed from %q to %q (%s…): verified %+v",
							complete, i, line[i], c, edited[max(0, i-20):min(len(edited), i+20)], *rep)
					}
				}
				// Read through a buffer smaller than a line, the general path reads every line.
				if rep, err := merkle.VerifyBundleBuffer(bytes.NewReader(tampered), 512, l.key.Verifier); err == nil {
					t.Fatalf("small buffer, complete=%v: byte %d of the line changed from %q to %q: verified %+v", complete, i, line[i], c, *rep)
				}
				tried++
			}
		}
		if tried < 1000 {
			t.Errorf("only %d edits tried", tried)
		}
	}
}

func TestVerifyBundle_FirstFailureAcrossBatches(t *testing.T) {
	// Lines are read ahead of their hashing, which is done for many at once;
	// the error still names the first line that fails, and the report counts
	// the events verified before it, wherever that line falls in a batch:
	// with purged events among the lines or not, and through read buffers
	// small enough that lines take the general path.
	l := newTestLog(t, 600)
	for _, batch := range []int{256, 1} { // with sixteen lanes and without
		restore := merkle.SetBatchLines(batch)
		testFirstFailure(t, l, batch)
		restore()
	}
}

func testFirstFailure(t *testing.T, l *testLog, batch int) {
	var eventLines, purgedLines [600][]byte
	for s := range int64(600) {
		leaf, err := l.events[s].LeafHash()
		if err != nil {
			t.Fatal(err)
		}
		eventLines[s] = l.line(t, s, nil)
		purgedLines[s] = merkle.AppendPurgedLine(nil, s, leaf, l.proof(t, s, 600))
	}
	for _, purgedEvery := range []int64{0, 7} {
		purged := func(s int64) bool { return purgedEvery > 0 && s%purgedEvery == 3 }
		build := func(edit func(lines [][]byte)) []byte {
			lines := [][]byte{merkle.AppendBundleHeader(nil, l.cp.Note, true)}
			for s := range int64(600) {
				if purged(s) {
					lines = append(lines, purgedLines[s])
				} else {
					lines = append(lines, eventLines[s])
				}
			}
			edit(lines)
			return bytes.Join(lines, nil)
		}
		// events counts the events (not purged) among sequences [0, p).
		events := func(p int64) (n int64) {
			for s := range p {
				if !purged(s) {
					n++
				}
			}
			return n
		}
		alter := func(lines [][]byte, s int64) {
			lines[s+1] = l.line(t, s, func(e *auditlog.Event) { e.Description = "altered" })
		}
		swap := func(lines [][]byte, s int64) { lines[s+1], lines[s+2] = lines[s+2], lines[s+1] }
		for _, p := range []int64{0, 1, 2, 254, 255, 256, 257, 300, 511, 512, 590} {
			altered := fmt.Sprintf("line %d (event %d): does not match the signed log", p+2, p)
			gap := []string{fmt.Sprintf("line %d (", p+2), fmt.Sprintf("event %d): gap", p+1)}
			gapVerified := events(p)
			if p == 0 { // a complete bundle starts at event 0
				gap, gapVerified = []string{"line 2 (", "event 1): gap: events 0 to 0"}, 0
			}
			for _, tc := range []struct {
				name     string
				bundle   []byte
				want     []string
				verified int64
			}{
				{"altered, then out of order", build(func(lines [][]byte) { alter(lines, p); swap(lines, p+3) }), []string{altered}, events(p)},
				{"out of order, then altered", build(func(lines [][]byte) { swap(lines, p); alter(lines, p+3) }), gap, gapVerified},
				{"altered twice", build(func(lines [][]byte) { alter(lines, p); alter(lines, p+1) }), []string{altered}, events(p)},
				{"proof of another event", build(func(lines [][]byte) {
					lines[p+1] = merkle.AppendBundleLine(nil, &l.events[p], l.proof(t, (p+2)%600, 600))
				}), []string{altered}, events(p)},
			} {
				sizes := []int{-1, 0}                  // in memory; through a reader
				if batch > 1 && p >= 255 && p <= 257 { // the small buffers' general path is slow under -race: at the first batch's end only
					sizes = append(sizes, 4096, 512)
				}
				for _, size := range sizes {
					var rep *merkle.BundleReport
					var err error
					switch size {
					case -1:
						rep, err = merkle.VerifyBundleBytes(tc.bundle, l.key.Verifier, nil)
					case 0:
						rep, err = merkle.VerifyBundle(bytes.NewReader(tc.bundle), l.key.Verifier, nil)
					default:
						rep, err = merkle.VerifyBundleBuffer(bytes.NewReader(tc.bundle), size, l.key.Verifier)
					}
					for _, want := range tc.want {
						if err == nil || !strings.Contains(err.Error(), want) {
							t.Fatalf("batch %d, purged every %d, event %d, %s, buffer %d: error %v, want %q", batch, purgedEvery, p, tc.name, size, err, want)
						}
					}
					if rep.Events != tc.verified {
						t.Errorf("batch %d, purged every %d, event %d, %s, buffer %d: %d events verified, want %d", batch, purgedEvery, p, tc.name, size, rep.Events, tc.verified)
					}
				}
			}
		}
	}
}
