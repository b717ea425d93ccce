package baseline_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/baseline"
)

// mustRows turns n events of two organizations into rows: org a gets the
// even ones, b the odd ones, a minute apart.
func mustRows(tb testing.TB, n int) []baseline.Row {
	tb.Helper()
	a, b := auditlog.OrgRef{Provider: "gh", Name: "a"}, auditlog.OrgRef{Provider: "gh", Name: "b"}
	conv := baseline.NewRows(func(r auditlog.OrgRef) uint32 {
		if r == a {
			return 1
		}
		return 2
	})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := make([]auditlog.Event, n)
	for i := range events {
		org := a
		if i%2 == 1 {
			org = b
		}
		events[i] = auditlog.Event{Organization: org, Action: "user.login", Actor: auditlog.Actor{Email: "ana@acme.example", Role: auditlog.RoleOrganizationAdmin},
			Result: auditlog.ResultFailed, Source: auditlog.SourceAPI, Timestamp: start.Add(time.Duration(i) * time.Minute),
			Details: json.RawMessage(`{"n":1}`), IPAddress: "10.0.0.1", UserAgent: "curl/8"}
		if i == n-2 {
			events[i].Description = "a description of its own"
		}
	}
	return conv.Append(nil, events, start)
}

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
