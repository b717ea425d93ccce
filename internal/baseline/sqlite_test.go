package baseline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/baseline"
)

func TestSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := baseline.OpenSQLite(t.TempDir(), baseline.SQLitePlain)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !strings.HasPrefix(db.QueryPlan(), "SEARCH events USING INDEX events_org_ts") {
		t.Errorf("query plan %q does not use the (org, ts) index", db.QueryPlan())
	}
	rows := mustRows(t, 10)
	if err := db.Write(ctx, rows[:6], nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, rows[6:], nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Settle(); err != nil {
		t.Fatal(err)
	}
	got, err := db.Newest(1, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Organization 1 holds rows 0, 2, 4, 6, 8 with sequences 0..4; newest first.
	if len(got) != 3 {
		t.Fatalf("got %d rows, want 3", len(got))
	}
	for i, want := range []int{8, 6, 4} {
		if got[i] != rows[want] {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], rows[want])
		}
		if got[i].Seq != uint64(4-i) {
			t.Errorf("row %d: sequence %d, want %d", i, got[i].Seq, 4-i)
		}
	}
	if !got[0].Description.Valid || got[0].Description.String != "a description of its own" {
		t.Errorf("description: got %+v", got[0].Description)
	}
	if got[1].Description.Valid || got[1].Action != 0 || got[1].Result != 1 || got[1].Source != 1 {
		t.Errorf("codes: got %+v", got[1])
	}
}
