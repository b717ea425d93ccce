package pebble_test

import (
	"testing"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/google/go-cmp/cmp"
)

// The id index keeps a UUID id as its 16 bytes and any other id as its text
// (pebble/keys.go): a server-assigned id sent back is a duplicate, and an id
// whose text is another id's UUID bytes is another id.
func TestDB_UUIDIds(t *testing.T) {
	db := MustOpenDB(t)
	storetest.MustCreateOrg(t, db, acme, auditlog.PlanBusiness)
	assigned := storetest.MustAppend(t, db, storetest.NewEvent(acme, "")).Events[0].ID
	const text = "0123456789abcdef"                     // 16 characters...
	const uuid = "30313233-3435-3637-3839-616263646566" // ...and the UUID of the same 16 bytes
	upper := "3031323A-3435-3637-3839-616263646566"     // not canonical: kept as text
	res := storetest.MustAppend(t, db, storetest.NewEvent(acme, text), storetest.NewEvent(acme, uuid), storetest.NewEvent(acme, upper))
	if res.Accepted != 3 {
		t.Fatalf("accepted %d of 3 distinct ids: %+v", res.Accepted, res)
	}
	db = MustReopenDB(t, db) // the ids are looked up in the store, not in the writer's memory
	got := storetest.MustAppend(t, db, storetest.NewEvent(acme, uuid), storetest.NewEvent(acme, assigned),
		storetest.NewEvent(acme, upper), storetest.NewEvent(acme, text))
	want := &auditlog.AppendResult{Duplicates: 4, Events: []auditlog.Appended{
		{ID: uuid, Sequence: 2}, {ID: assigned, Sequence: 0}, {ID: upper, Sequence: 3}, {ID: text, Sequence: 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("retries (-want +got):\n%s", diff)
	}
}
