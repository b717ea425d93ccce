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
	"github.com/auditlog/auditlog/internal/seal"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/pebble"
)

func TestStreamStore(t *testing.T) {
	storetest.RunStreams(t, func(tb testing.TB, now func() time.Time, key *seal.Key) storetest.StreamStore {
		return mustOpenStreamDB(tb, tb.TempDir(), now, key)
	})
}

func mustOpenStreamDB(tb testing.TB, dir string, now func() time.Time, key *seal.Key) *pebble.DB {
	tb.Helper()
	db := pebble.NewDB(dir)
	db.Now = now
	db.StreamKey = key
	if err := db.Open(); err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// A dump of the database directory does not reveal a stream's secret or the
// credentials in its URL, and another key does not open them.
func TestStreamSecretsSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenStreamDB(t, dir, time.Now, storetest.MustStreamKey(t, 1))
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	const secret, password = "whsec-4f0c9e1ab27d-SECRET", "pw-9c7e2d1f0a-PASSWORD"
	st := storetest.MustCreateStream(t, db, auditlog.Stream{Org: acme, Type: auditlog.StreamWebhook, URL: auditlog.RedactURL("https://u:" + password + "@siem.example/x")},
		auditlog.StreamSecrets{URL: "https://u:" + password + "@siem.example/x", Secret: []byte(secret)})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range []string{secret, password} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q in the clear", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	other := mustOpenStreamDB(t, dir, time.Now, storetest.MustStreamKey(t, 2))
	if _, err := other.StreamSecrets(ctx, acme, st.ID); err == nil {
		t.Error("another key opened the stream's secrets")
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	again := mustOpenStreamDB(t, dir, time.Now, storetest.MustStreamKey(t, 1))
	sec, err := again.StreamSecrets(ctx, acme, st.ID)
	if err != nil || string(sec.Secret) != secret {
		t.Errorf("after a restart with the same key: %+v, %v", sec, err)
	}
}

// The store tells its Committed hook which organization grew, after the commit.
func TestCommittedHook(t *testing.T) {
	db := pebble.NewDB(t.TempDir())
	type grew struct {
		ref  auditlog.OrgRef
		size int64
	}
	ch := make(chan grew, 10)
	db.Committed = func(ref auditlog.OrgRef, size int64) { ch <- grew{ref, size} }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	storetest.MustAppend(t, db, storetest.NewEvent(acme, "a"), storetest.NewEvent(acme, "b"))
	if g := <-ch; g != (grew{acme, 2}) {
		t.Errorf("Committed(%v, %d), want (%v, 2)", g.ref, g.size, acme)
	}
	storetest.MustAppend(t, db, storetest.NewEvent(acme, "a")) // a duplicate: nothing grew
	select {
	case g := <-ch:
		t.Errorf("Committed(%v, %d) after a duplicate", g.ref, g.size)
	default:
	}
}
