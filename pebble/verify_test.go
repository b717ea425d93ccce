package pebble_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/pebble"
	rawpebble "github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

var gamma = auditlog.OrgRef{Provider: "bb", Name: "gamma"}

// quiet discards the store's log lines, and quietPebble Pebble's own.
var quiet = slog.New(slog.DiscardHandler)

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// MustNewKey returns a new checkpoint signing key.
func MustNewKey(tb testing.TB) *merkle.Key {
	tb.Helper()
	skey, _, err := merkle.GenerateKey(merkle.DefaultKeyName)
	if err != nil {
		tb.Fatal(err)
	}
	k, err := merkle.ParseKey(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustOpenSignedDB opens the store in dir with a signing key and its clock at
// storetest.T0. interval 0 leaves signing to SignCheckpoints. It is closed
// when tb ends, if the test has not closed it.
func MustOpenSignedDB(tb testing.TB, dir string, key *merkle.Key, interval time.Duration) *pebble.DB {
	tb.Helper()
	db := pebble.NewDB(dir)
	db.Logger = quiet
	db.Now = func() time.Time { return storetest.T0 }
	db.SigningKey = key
	db.CheckpointInterval = interval
	if err := db.Open(); err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// MustOpenReadOnly opens the store in dir for reading only, as auditlog verify does.
func MustOpenReadOnly(tb testing.TB, dir string) *pebble.DB {
	tb.Helper()
	db := pebble.NewDB(dir)
	db.Logger = quiet
	db.ReadOnly = true
	if err := db.Open(); err != nil {
		tb.Fatalf("open %s read-only: %v", dir, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// auditEvent is the i-th test event of ref: every field set, each
// distinctive, with timestamps out of sequence order.
func auditEvent(ref auditlog.OrgRef, i int, email string) auditlog.Event {
	e := auditlog.Event{
		Organization:   ref,
		ID:             fmt.Sprintf("%s-%d", ref.Name, i),
		Action:         "user.login",
		Actor:          auditlog.Actor{Email: email, Role: auditlog.RoleOrganizationAdmin},
		Timestamp:      storetest.T0.Add(-time.Duration((i*7)%5)*time.Hour - time.Duration(i)*time.Minute),
		RepositoryName: fmt.Sprintf("%s/repo-%d", ref.Name, i),
		EntityID:       fmt.Sprintf("entity-%d", i),
		Details:        json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		IPAddress:      fmt.Sprintf("192.0.2.%d", 10+i),
		UserAgent:      fmt.Sprintf("Agent/%d.0", i),
	}
	if i%2 == 0 {
		e.Description = fmt.Sprintf("Signed in from device %d", i) // not the catalog's: stored in the value
	}
	if i%3 == 1 {
		e.Action = "repositories.tokens.create"
		e.Result = auditlog.ResultFailed
		e.Source = auditlog.SourceAPI
	}
	return e
}

func userEmail(ref auditlog.OrgRef, i int) string {
	return fmt.Sprintf("user%d@%s.example", i, ref.Name)
}

// auditStore is a closed store, in dir, of three organizations: acme with
// events 0-7 and checkpoints of 5 and 8 events, beta with events 0-2 and a
// checkpoint of 3, gamma with none. erin@acme.example caused acme's event 4
// and beta's event 1, and was erased.
type auditStore struct {
	dir    string
	key    *merkle.Key
	events map[auditlog.OrgRef][]auditlog.Event // stored form, with salts, by sequence
}

func mustBuildAuditStore(tb testing.TB) *auditStore {
	tb.Helper()
	ctx := context.Background()
	s := &auditStore{dir: tb.TempDir(), key: MustNewKey(tb), events: map[auditlog.OrgRef][]auditlog.Event{}}
	db := MustOpenSignedDB(tb, s.dir, s.key, 0)
	for _, ref := range []auditlog.OrgRef{acme, beta, gamma} {
		storetest.MustCreateOrg(tb, db, ref, auditlog.PlanBusiness)
	}
	email := func(ref auditlog.OrgRef, i int) string {
		if ref == acme && i == 4 || ref == beta && i == 1 {
			return "erin@acme.example"
		}
		return userEmail(ref, i)
	}
	batch := func(ref auditlog.OrgRef, from, to int) []auditlog.Event {
		var out []auditlog.Event
		for i := from; i < to; i++ {
			out = append(out, auditEvent(ref, i, email(ref, i)))
		}
		return out
	}
	storetest.MustAppend(tb, db, batch(acme, 0, 5)...)
	if err := db.SignCheckpoints(ctx); err != nil {
		tb.Fatal(err)
	}
	storetest.MustAppend(tb, db, append(batch(acme, 5, 8), batch(beta, 0, 3)...)...)
	if err := db.SignCheckpoints(ctx); err != nil {
		tb.Fatal(err)
	}
	if n, err := db.EraseUser(ctx, "erin@acme.example"); err != nil || n != 2 {
		tb.Fatalf("erase erin: %d, %v", n, err)
	}
	for _, ref := range []auditlog.OrgRef{acme, beta} {
		for e, err := range db.FindEvents(ctx, ref, auditlog.EventFilter{}) {
			if err != nil {
				tb.Fatal(err)
			}
			s.events[ref] = append(s.events[ref], *e)
		}
		slices.SortFunc(s.events[ref], func(a, b auditlog.Event) int { return int(a.Sequence - b.Sequence) })
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// copyDir copies the regular files of a (closed) database directory to a new temp dir.
func copyDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := tb.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		tb.Fatal(err)
	}
	return dst
}

// intruder is someone with write access to the database files who edits them
// with Pebble itself, following the key layout of pebble/keys.go:
//
//	E|org|ts|seq -> event value (codec.go)
//	S|org|seq    -> ts, the first 4 bytes of leaf seq's hash, then the other
//	                tlog stored hashes that leaf seq added (pebble/seqvalue.go)
//	C|org|size   -> checkpoint note
//	n|provider|0x00|name -> org (4 bytes)
type intruder struct {
	tb testing.TB
	db *rawpebble.DB
}

// mustTamper opens the database in dir with Pebble, lets edit change it, and closes it.
func mustTamper(tb testing.TB, dir string, edit func(x *intruder)) {
	tb.Helper()
	db, err := rawpebble.Open(dir, &rawpebble.Options{Logger: quietPebble{}})
	if err != nil {
		tb.Fatalf("intruder: open %s: %v", dir, err)
	}
	edit(&intruder{tb: tb, db: db})
	if err := db.Close(); err != nil {
		tb.Fatalf("intruder: close: %v", err)
	}
}

func (x *intruder) get(key []byte) []byte {
	x.tb.Helper()
	v, closer, err := x.db.Get(key)
	if err != nil {
		x.tb.Fatalf("intruder: get %q: %v", key, err)
	}
	defer closer.Close()
	return bytes.Clone(v)
}

func (x *intruder) set(key, value []byte) {
	x.tb.Helper()
	if err := x.db.Set(key, value, rawpebble.Sync); err != nil {
		x.tb.Fatal(err)
	}
}

func (x *intruder) delete(key []byte) {
	x.tb.Helper()
	if _, closer, err := x.db.Get(key); err != nil {
		x.tb.Fatalf("intruder: deleting %q, which is not there: %v", key, err)
	} else {
		closer.Close()
	}
	if err := x.db.Delete(key, rawpebble.Sync); err != nil {
		x.tb.Fatal(err)
	}
}

func (x *intruder) org(ref auditlog.OrgRef) []byte {
	x.tb.Helper()
	id := x.get([]byte("n" + ref.Provider + "\x00" + ref.Name))
	if len(id) != 4 {
		x.tb.Fatalf("intruder: org id of %s is %x", ref, id)
	}
	return id
}

func rawKey(prefix byte, org []byte, nums ...int64) []byte {
	k := append([]byte{prefix}, org...)
	for _, n := range nums {
		k = binary.BigEndian.AppendUint64(k, uint64(n))
	}
	return k
}

// storedHash returns the sequence key holding tlog stored hash idx of ref's
// tree (of a leaf hash, its first 4 bytes), and its offset in its value.
func (x *intruder) storedHash(ref auditlog.OrgRef, idx int64) (key []byte, off int) {
	level, n := tlog.SplitStoredHashIndex(idx)
	if level == 0 {
		return rawKey('S', x.org(ref), n), 8
	}
	return rawKey('S', x.org(ref), (n+1)<<level-1), 8 + 4 + 32*(level-1)
}

// event returns the event key and value of ref's event seq.
func (x *intruder) event(ref auditlog.OrgRef, seq int64) (k, v []byte) {
	x.tb.Helper()
	org := x.org(ref)
	ts := int64(binary.BigEndian.Uint64(x.get(rawKey('S', org, seq))))
	k = rawKey('E', org, ts, seq)
	return k, x.get(k)
}

// editEvent rewrites the value of ref's event seq.
func (x *intruder) editEvent(ref auditlog.OrgRef, seq int64, edit func(v []byte) []byte) {
	x.tb.Helper()
	k, v := x.event(ref, seq)
	nv := edit(bytes.Clone(v))
	if bytes.Equal(nv, v) {
		x.tb.Fatalf("intruder: the edit of %s/%d changed nothing", ref, seq)
	}
	x.set(k, nv)
}

// replace returns v with old replaced, once, by new of the same length.
func (x *intruder) replace(v []byte, old, new string) []byte {
	x.tb.Helper()
	if len(old) != len(new) || !bytes.Contains(v, []byte(old)) {
		x.tb.Fatalf("intruder: cannot replace %q by %q in %q", old, new, v)
	}
	return bytes.Replace(v, []byte(old), []byte(new), 1)
}

// Offsets in an event value (codec.go): version, action (uvarint), flags,
// role, receivedAt delta (varint), then the salt or personal hash.
const (
	offAction = 1 // the test's action codes are below 128: one byte
	offFlags  = 2
	offRole   = 3
	offDelta  = 4
)

func offSalt(tb testing.TB, v []byte) int {
	_, n := binary.Varint(v[offDelta:])
	if n <= 0 {
		tb.Fatalf("bad delta in %x", v)
	}
	return offDelta + n
}

// verifyStore audits the store in dir as auditlog verify --data does.
func verifyStore(tb testing.TB, dir string, key *merkle.Key) (*pebble.VerifyReport, error) {
	tb.Helper()
	db := MustOpenReadOnly(tb, dir)
	defer db.Close()
	return db.Verify(context.Background(), key.Verifier, nil)
}

func TestVerify_Intact(t *testing.T) {
	s := mustBuildAuditStore(t)
	rep, err := verifyStore(t, s.dir, s.key)
	if err != nil {
		t.Fatal(err)
	}
	want := pebble.VerifyReport{Organizations: 3, Events: 11, Checkpoints: 3}
	if *rep != want {
		t.Errorf("report %+v, want %+v", *rep, want)
	}
	// Verify changes nothing: a second run, and the writable store, agree.
	if _, err := verifyStore(t, s.dir, s.key); err != nil {
		t.Errorf("second verify: %v", err)
	}
	db := MustOpenSignedDB(t, s.dir, s.key, 0)
	if rep, err := db.Verify(context.Background(), s.key.Verifier, nil); err != nil || rep.Events != 11 {
		t.Errorf("verify of the open store: %+v, %v", rep, err)
	}
}

func TestVerify_WrongKey(t *testing.T) {
	s := mustBuildAuditStore(t)
	_, err := verifyStore(t, s.dir, MustNewKey(t))
	var ve *pebble.VerifyError
	if !errors.As(err, &ve) || ve.Sequence != -1 || !strings.Contains(ve.Problem, "checkpoint of size") {
		t.Fatalf("verify with another key: %v", err)
	}
	if !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("error %q does not say the checkpoint does not verify", err)
	}
}

func TestVerify_Tampered(t *testing.T) {
	s := mustBuildAuditStore(t)
	const differs = "differs from what was logged"
	const missing = "missing"
	code := func(name string) byte {
		c, ok := auditlog.ActionCode(name)
		if !ok || c >= 128 {
			t.Fatalf("action code of %s: %d %v", name, c, ok)
		}
		return byte(c)
	}
	// An event with a description of its own and one with the catalog's.
	const own, catalogs = 2, 3
	var hidden auditlog.OrgRef // the organization whose record a case deletes (the zero OrgRef in the table)

	for _, tc := range []struct {
		name    string
		edit    func(x *intruder)
		org     auditlog.OrgRef
		seq     int64  // -1: not about one event
		problem string // a distinctive part of VerifyError.Problem
	}{
		// One stored field of one event's value.
		{"action code", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { v[offAction] = code("user.tokens.create"); return v })
		}, acme, own, differs},
		{"result", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { v[offFlags] ^= 0x01; return v })
		}, acme, own, differs},
		{"source", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { v[offFlags] ^= 0x04; return v })
		}, acme, own, differs},
		{"actor role", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { v[offRole] = 1; return v })
		}, acme, own, differs},
		{"receivedAt", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { v[offDelta] ^= 0x02; return v })
		}, acme, own, differs},
		{"salt", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { v[offSalt(t, v)] ^= 0x01; return v })
		}, acme, own, differs},
		{"id", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { return x.replace(v, "acme-2", "acme-9") })
		}, acme, own, differs},
		{"actor email", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { return x.replace(v, "user2@acme.example", "user9@acme.example") })
		}, acme, own, differs},
		{"repositoryName", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { return x.replace(v, "acme/repo-2", "acme/repo-X") })
		}, acme, own, differs},
		{"entityId", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { return x.replace(v, "entity-2", "entity-3") })
		}, acme, own, differs},
		{"description", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { return x.replace(v, "device 2", "device 7") })
		}, acme, own, differs},
		{"catalog description flag", func(x *intruder) {
			// The event read with its own description dropped for the catalog's: the value no
			// longer parses as intended, or reads another event.
			x.editEvent(acme, own, func(v []byte) []byte { v[offFlags] |= 0x10; return v })
		}, acme, own, ""},
		{"details", func(x *intruder) {
			x.editEvent(acme, catalogs, func(v []byte) []byte { return x.replace(v, `{"n":3}`, `{"n":4}`) })
		}, acme, catalogs, differs},
		{"ip address", func(x *intruder) {
			x.editEvent(acme, catalogs, func(v []byte) []byte { return x.replace(v, "192.0.2.13", "192.0.2.14") })
		}, acme, catalogs, differs},
		{"user agent", func(x *intruder) {
			x.editEvent(acme, catalogs, func(v []byte) []byte { return x.replace(v, "Agent/3.0", "Agent/4.0") })
		}, acme, catalogs, differs},
		{"event of another organization", func(x *intruder) {
			x.editEvent(beta, 2, func(v []byte) []byte { return x.replace(v, "beta/repo-2", "beta/repo-3") })
		}, beta, 2, differs},
		{"last event, covered by a checkpoint", func(x *intruder) {
			x.editEvent(acme, 7, func(v []byte) []byte { return x.replace(v, "acme/repo-7", "acme/repo-8") })
		}, acme, 7, differs},
		{"value corrupted", func(x *intruder) {
			x.editEvent(acme, own, func(v []byte) []byte { return v[:offDelta+1] })
		}, acme, own, "corrupt"},

		// An erased event: nothing commits to its personal values but "redacted".
		{"erased event, an email written back", func(x *intruder) {
			x.editEvent(acme, 4, func(v []byte) []byte {
				return bytes.Replace(v, []byte("\x08redacted"), []byte("\x10eve@acme.example"), 1)
			})
		}, acme, 4, "redacted"},
		{"erased event, its personal hash", func(x *intruder) {
			x.editEvent(acme, 4, func(v []byte) []byte { v[offSalt(t, v)+5] ^= 0x01; return v })
		}, acme, 4, differs},

		// The event's timestamp is in its key.
		{"timestamp key", func(x *intruder) {
			k, v := x.event(acme, own)
			ts := int64(binary.BigEndian.Uint64(k[5:13])) + 1000
			x.delete(k)
			x.set(rawKey('E', k[1:5], ts, own), v)
			hashes := x.get(rawKey('S', k[1:5], own))[8:] // the intruder keeps the tree hashes
			x.set(rawKey('S', k[1:5], own), append(binary.BigEndian.AppendUint64(nil, uint64(ts)), hashes...))
		}, acme, own, differs},
		{"event key moved, index left", func(x *intruder) {
			k, v := x.event(acme, own)
			ts := int64(binary.BigEndian.Uint64(k[5:13])) + 1000
			x.delete(k)
			x.set(rawKey('E', k[1:5], ts, own), v)
		}, acme, own, missing},
		{"event moved to another sequence", func(x *intruder) {
			// Events 2 and 3 swap places: each is checked at its position in the tree.
			k2, v2 := x.event(acme, 2)
			k3, v3 := x.event(acme, 3)
			x.set(k2, v3)
			x.set(k3, v2)
		}, acme, 2, differs},

		// Events removed or added.
		{"event deleted", func(x *intruder) {
			k, _ := x.event(acme, 3)
			x.delete(k)
			x.delete(rawKey('S', x.org(acme), 3))
		}, acme, 3, missing},
		{"event record deleted, index left", func(x *intruder) {
			k, _ := x.event(acme, 3)
			x.delete(k)
		}, acme, 3, missing},
		{"first event deleted", func(x *intruder) {
			k, _ := x.event(acme, 0)
			x.delete(k)
			x.delete(rawKey('S', x.org(acme), 0))
		}, acme, 0, missing},
		{"last events deleted after a checkpoint covered them", func(x *intruder) {
			for _, seq := range []int64{6, 7} {
				k, _ := x.event(acme, seq)
				x.delete(k)
				x.delete(rawKey('S', x.org(acme), seq))
			}
		}, acme, 6, "the signed checkpoint has 8 events"},
		{"every event of an organization deleted", func(x *intruder) {
			for seq := range int64(3) {
				k, _ := x.event(beta, seq)
				x.delete(k)
				x.delete(rawKey('S', x.org(beta), seq))
			}
		}, beta, 0, "the signed checkpoint has 3 events"},
		{"event record added beside the log", func(x *intruder) {
			k, v := x.event(acme, own)
			x.set(rawKey('E', k[1:5], int64(binary.BigEndian.Uint64(k[5:13])), 100), v)
		}, acme, -1, "added beside the log"},
		{"event appended to the log", func(x *intruder) {
			k, v := x.event(acme, own)
			ts := int64(binary.BigEndian.Uint64(k[5:13]))
			x.set(rawKey('E', k[1:5], ts, 8), v)
			x.set(rawKey('S', k[1:5], 8), binary.BigEndian.AppendUint64(nil, uint64(ts)))
		}, acme, 8, "stored leaf hash is missing"},

		{"organization record deleted to hide its log", func(x *intruder) {
			org := x.org(beta)
			hidden = auditlog.OrgRef{Provider: "?", Name: fmt.Sprintf("#%d", binary.BigEndian.Uint32(org))}
			x.delete(append([]byte{'o'}, org...))
			x.editEvent(beta, 2, func(v []byte) []byte { return x.replace(v, "beta/repo-2", "beta/repo-3") })
		}, auditlog.OrgRef{}, -1, "has no organization record"},

		// The stored tree.
		{"leaf hash deleted", func(x *intruder) {
			k, off := x.storedHash(acme, tlog.StoredHashIndex(0, 5))
			x.set(k, x.get(k)[:off])
		}, acme, 5, "stored leaf hash is missing"},
		{"leaf hash changed", func(x *intruder) {
			k, off := x.storedHash(acme, tlog.StoredHashIndex(0, 5))
			v := x.get(k)
			v[off+3] ^= 1
			x.set(k, v)
		}, acme, 5, differs},
		{"interior hash deleted", func(x *intruder) {
			k, off := x.storedHash(acme, tlog.StoredHashIndex(1, 1))
			x.set(k, x.get(k)[:off])
		}, acme, -1, "level 1, index 1 is missing"},
		{"interior hash changed", func(x *intruder) {
			k, off := x.storedHash(acme, tlog.StoredHashIndex(2, 0))
			v := x.get(k)
			copy(v[off:off+32], make([]byte, 32))
			x.set(k, v)
		}, acme, -1, "level 2, index 0 differs"},

		// The checkpoints.
		{"checkpoint note changed", func(x *intruder) {
			c := rawKey('C', x.org(acme), 5)
			note := x.get(c)
			i := bytes.Index(note, []byte("\n5\n")) + 4 // a character of the root
			note[i] ^= 0x01
			x.set(c, note)
		}, acme, -1, "checkpoint of size 5"},
		{"latest checkpoint removed", func(x *intruder) {
			x.delete(rawKey('C', x.org(acme), 8))
		}, acme, 5, "not covered by any signed checkpoint"},
		{"checkpoint size changed", func(x *intruder) {
			c := rawKey('C', x.org(acme), 8)
			x.set(c, bytes.Replace(x.get(c), []byte("\n8\n"), []byte("\n7\n"), 1))
		}, acme, -1, "checkpoint of size 8"},
		{"checkpoint signed by another key", func(x *intruder) {
			c := rawKey('C', x.org(beta), 3)
			cp, err := merkle.OpenCheckpoint(x.get(c), s.key.Verifier, "")
			if err != nil {
				t.Fatal(err)
			}
			forged, err := merkle.Sign(MustNewKey(t), cp.Origin, cp.Size, cp.Root)
			if err != nil {
				t.Fatal(err)
			}
			x.set(c, forged.Note)
		}, beta, -1, "checkpoint of size 3"},
		{"checkpoint of another organization", func(x *intruder) {
			x.set(rawKey('C', x.org(beta), 3), x.get(rawKey('C', x.org(acme), 5)))
		}, beta, -1, "checkpoint of size 3"},
		{"checkpoint stored under another size", func(x *intruder) {
			x.set(rawKey('C', x.org(acme), 6), x.get(rawKey('C', x.org(acme), 5)))
		}, acme, -1, "stored under size 6 says size 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, s.dir)
			mustTamper(t, dir, tc.edit)
			_, err := verifyStore(t, dir, s.key)
			var ve *pebble.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("verify: %v, want a *pebble.VerifyError", err)
			}
			t.Log(err)
			want := tc.org
			if want == (auditlog.OrgRef{}) {
				want = hidden
			}
			if ve.Org != want || ve.Sequence != tc.seq {
				t.Errorf("error names %s event %d, want %s event %d: %v", ve.Org, ve.Sequence, want, tc.seq, err)
			}
			if !strings.Contains(ve.Problem, tc.problem) {
				t.Errorf("problem %q does not say %q", ve.Problem, tc.problem)
			}
			if tc.seq >= 0 && !strings.Contains(err.Error(), fmt.Sprintf("organization %s, event %d: ", tc.org, tc.seq)) {
				t.Errorf("error %q does not name the event", err)
			}
		})
	}
}

func TestVerify_ForgedTree(t *testing.T) {
	// An intruder who changes an event and rewrites every stored hash to
	// match is caught by the signed checkpoints, which they cannot forge.
	s := mustBuildAuditStore(t)
	dir := copyDir(t, s.dir)
	mustTamper(t, dir, func(x *intruder) {
		x.editEvent(acme, 1, func(v []byte) []byte { return x.replace(v, "acme/repo-1", "acme/repo-X") })
		events := slices.Clone(s.events[acme])
		events[1].RepositoryName = "acme/repo-X"
		var tree memTree
		for i, e := range events {
			leaf, err := e.LeafHash()
			if err != nil {
				t.Fatal(err)
			}
			hs, err := tlog.StoredHashesForRecordHash(int64(i), leaf, &tree)
			if err != nil {
				t.Fatal(err)
			}
			tree = append(tree, hs...)
		}
		org := x.org(acme)
		changed := 0
		for i := range events {
			k := rawKey('S', org, int64(i))
			v := x.get(k)[:8]
			for idx := tlog.StoredHashIndex(0, int64(i)); idx < tlog.StoredHashIndex(0, int64(i)+1); idx++ {
				if idx == tlog.StoredHashIndex(0, int64(i)) {
					v = append(v, tree[idx][:4]...) // of a leaf hash, its first 4 bytes
					continue
				}
				v = append(v, tree[idx][:]...)
			}
			if !bytes.Equal(x.get(k), v) {
				x.set(k, v)
				changed++
			}
		}
		if changed < 2 {
			t.Fatalf("the forgery rewrote %d stored hashes", changed)
		}
	})
	_, err := verifyStore(t, dir, s.key)
	var ve *pebble.VerifyError
	if !errors.As(err, &ve) || ve.Org != acme || !strings.Contains(ve.Problem, "the tree of the first 5 events does not match its signed checkpoint") {
		t.Fatalf("verify: %v, want the checkpoint of 5 events of %s named", err, acme)
	}
}

// memTree is a tree's stored hashes in memory (tlog.HashReader).
type memTree []tlog.Hash

func (m *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx >= int64(len(*m)) {
			return nil, fmt.Errorf("no stored hash %d", idx)
		}
		out[i] = (*m)[idx]
	}
	return out, nil
}
