package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/auditlog/auditlog"
	ahttp "github.com/auditlog/auditlog/http"
	"github.com/auditlog/auditlog/pebble"
)

// flakyEvents fails the server's own appends as told, and records every batch it is given.
type flakyEvents struct {
	auditlog.EventService
	mu      sync.Mutex
	fail    int  // fail this many appends...
	stored  bool // ...after storing them (the commit went through, the answer was lost)
	batches [][]auditlog.Event
}

func (f *flakyEvents) AppendEvents(ctx context.Context, events []auditlog.Event) (*auditlog.AppendResult, error) {
	f.mu.Lock()
	f.batches = append(f.batches, append([]auditlog.Event(nil), events...))
	fail := f.fail > 0
	if fail {
		f.fail--
	}
	f.mu.Unlock()
	if fail && !f.stored {
		return nil, errors.New("disk on fire")
	}
	res, err := f.EventService.AppendEvents(ctx, events)
	if fail {
		return nil, errors.New("lost the answer")
	}
	return res, err
}

func (f *flakyEvents) FindEvents(ctx context.Context, ref auditlog.OrgRef, filter auditlog.EventFilter) iter.Seq2[*auditlog.Event, error] {
	return f.EventService.FindEvents(ctx, ref, filter)
}

type recordFixture struct {
	db     *pebble.DB
	events *flakyEvents
	srv    *ahttp.Server
	acme   auditlog.OrgRef
	token  string // of ana, organizationAdmin of gh/acme
}

func mustRecordFixture(t *testing.T) *recordFixture {
	t.Helper()
	db := pebble.NewDB(t.TempDir())
	db.CheckpointInterval = 0
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	f := &recordFixture{db: db, events: &flakyEvents{EventService: db}, acme: auditlog.OrgRef{Provider: "gh", Name: "acme"}}
	plan, role, member := auditlog.PlanBusiness, auditlog.RoleOrganizationAdmin, auditlog.RoleOrganizationMember
	if _, _, err := db.PutOrganization(ctx, f.acme, auditlog.OrganizationUpdate{Plan: &plan}); err != nil {
		t.Fatal(err)
	}
	for email, r := range map[string]*string{"ana@acme.example": &role, "bob@acme.example": &member} {
		if _, _, err := db.PutMember(ctx, f.acme, email, auditlog.MemberUpdate{Role: r}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := db.CreateToken(ctx, "ana@acme.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.token = tok.Secret
	s := ahttp.NewServer()
	s.Addr, s.AdminToken, s.CursorKey = "127.0.0.1:0", "test-admin-token-0123456789", []byte("test-cursor-key-0123456789")
	s.Events, s.Directory, s.Tokens, s.Log = f.events, db, db, db
	s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	f.srv = s
	return f
}

func (f *recordFixture) do(t *testing.T, method, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL()+path, nil)
	req.Header.Set("api-token", f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (f *recordFixture) stored(t *testing.T, action string) []*auditlog.Event {
	t.Helper()
	var out []*auditlog.Event
	for e, err := range f.db.FindEvents(context.Background(), f.acme, auditlog.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// A failed append of the server's own event is retried with the same ids:
// an append whose answer was lost stores nothing twice.
func TestRecord_RetryStoresOnce(t *testing.T) {
	f := mustRecordFixture(t)
	f.events.fail, f.events.stored = 1, true
	if st, body := f.do(t, "PUT", "/api/v1/organizations/gh/acme/managers/bob@acme.example"); st != http.StatusOK {
		t.Fatalf("grant: %d %s", st, body)
	}
	if n := len(f.events.batches); n != 2 {
		t.Fatalf("%d appends, want 2 (one retry)", n)
	}
	if a, b := f.events.batches[0][0].ID, f.events.batches[1][0].ID; a == "" || a != b {
		t.Errorf("the retry has id %q, the first try %q: want the same", b, a)
	}
	if got := f.stored(t, "organizations.security.managers.create"); len(got) != 1 {
		t.Errorf("%d grant events stored, want 1", len(got))
	}
}

// When the server cannot record what a user does, what would be unrecorded
// does not happen: no token is created, no manager granted, no export sent.
func TestRecord_FailsClosed(t *testing.T) {
	f := mustRecordFixture(t)
	f.events.fail = 1000
	st, body := f.do(t, "POST", "/api/v1/user/tokens")
	if st != http.StatusInternalServerError || !strings.Contains(string(body), `"internal error"`) || strings.Contains(string(body), "disk") {
		t.Errorf("create token: %d %s, want a 500 internal error", st, body)
	}
	toks, err := f.db.Tokens(context.Background(), "ana@acme.example")
	if err != nil || len(toks) != 1 {
		t.Errorf("ana has %d tokens (%v), want only the first: the unrecorded one withdrawn", len(toks), err)
	}
	if st, _ := f.do(t, "GET", "/api/v1/user/tokens"); st != http.StatusInternalServerError {
		t.Errorf("list tokens: %d, want 500", st)
	}
	if st, _ := f.do(t, "PUT", "/api/v1/organizations/gh/acme/managers/bob@acme.example"); st != http.StatusInternalServerError {
		t.Errorf("grant: %d, want 500", st)
	}
	if m, err := f.db.FindMember(context.Background(), f.acme, "bob@acme.example"); err != nil || m.Manager {
		t.Errorf("bob after an unrecorded grant: %+v, %v: want no manager", m, err)
	}
	st, body = f.do(t, "GET", "/api/v1/organizations/gh/acme/events/export?format=csv")
	if st != http.StatusInternalServerError || strings.Contains(string(body), "sequence,id") {
		t.Errorf("export: %d %s, want a 500 and no data", st, body)
	}
	var e struct{ Error string }
	if json.Unmarshal(body, &e) != nil || e.Error != "InternalServerError" {
		t.Errorf("export: %s is not an ApiError", body)
	}
}
