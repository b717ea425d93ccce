package pebble

import (
	"context"
	"errors"
	"testing"

	"github.com/auditlog/auditlog"
)

// TestDB_DiskReserve: below the free-space reserve, appends are refused as
// unavailable (503) and the store is not ready; once there is room again
// both come back by themselves.
func TestDB_DiskReserve(t *testing.T) {
	db := NewDB(t.TempDir())
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	ref := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	if _, _, err := db.PutOrganization(ctx, ref, auditlog.OrganizationUpdate{}); err != nil {
		t.Fatal(err)
	}
	appendOne := func(id string) error {
		_, err := db.AppendEvents(ctx, []auditlog.Event{{Organization: ref, ID: id, Action: "user.login", Actor: auditlog.Actor{Email: "a@example.com"}}})
		return err
	}
	if err := appendOne("before"); err != nil {
		t.Fatal(err)
	}

	var err error
	db.disk.min = 1 << 62 // more than any disk has free
	err = appendOne("refused")
	if auditlog.ErrorCode(err) != auditlog.EUNAVAILABLE || !errors.Is(err, errDiskFull) {
		t.Fatalf("append below the reserve: %v, want %s (disk full)", err, auditlog.EUNAVAILABLE)
	}
	if err := db.Ready(ctx); auditlog.ErrorCode(err) != auditlog.EUNAVAILABLE {
		t.Fatalf("Ready below the reserve: %v", err)
	}

	db.disk.min = 1 // room again
	if err := appendOne("after"); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	org, err := db.orgID(ref)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"before": true, "refused": false, "after": true} {
		_, err := db.get(idKey(org, id))
		if got := err == nil; got != want {
			t.Errorf("event %s stored: %v, want %v", id, got, want)
		}
	}
}
