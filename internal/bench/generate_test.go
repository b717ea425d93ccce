package bench

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
)

func benchOrgs(n int) []auditlog.OrgRef {
	orgs := make([]auditlog.OrgRef, n)
	for i := range orgs {
		orgs[i] = auditlog.OrgRef{Provider: "gh", Name: "org-" + string(rune('a'+i))}
	}
	return orgs
}

// TestAppendJSON holds the hand-written encoding to encoding/json's reading
// of it, with strings that need escaping.
func TestAppendJSON(t *testing.T) {
	g := NewGenerator(7, benchOrgs(3), 0.5)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	events := []auditlog.Event{g.Event(now), g.Event(now), g.Event(now)}
	odd := &events[2]
	odd.ID, odd.Description = "id-\"quoted\"", "tab\there, back\\slash, nul\x00, é, bad \xff byte"
	odd.Organization.Name = "ünïcode"
	for _, e := range events {
		b := AppendJSON(nil, &e)
		var got auditlog.Event
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		want := e
		if want.Description == odd.Description {
			want.Description = "tab\there, back\\slash, nul\x00, é, bad \ufffd byte"
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", b, diff)
		}
	}
}

// TestGeneratorShare checks the big organization's share and that a seed
// gives the same events again (the baselines replay them).
func TestGeneratorShare(t *testing.T) {
	orgs := benchOrgs(10)
	now := time.Now()
	a, b := NewGenerator(3, orgs, 0.5), NewGenerator(3, orgs, 0.5)
	big, words := 0, 0
	for i := range 20000 {
		e, f := a.Event(now), b.Event(now)
		if !reflect.DeepEqual(e, f) {
			t.Fatalf("same seed, different events:\n%s", cmp.Diff(e, f))
		}
		if e.Organization == orgs[0] {
			big++
		}
		if json.Valid(e.Details) && string(e.Details[:9]) == `{"note":"` {
			words++
		}
		if i%10 == 0 {
			e.Normalize(now)
			if err := e.Validate(now); err != nil {
				t.Fatalf("invalid event %+v: %v", e, err)
			}
		}
	}
	if big < 9500 || big > 10500 {
		t.Errorf("the big organization got %d of 20,000 events, want about half", big)
	}
	if words < 5 || words > 50 {
		t.Errorf("%d of 20,000 events have the rare word, want about 20", words)
	}
}

func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC), time.Date(999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), time.UnixMilli(1)} {
		if got, want := string(appendTime(nil, tm)), tm.Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Errorf("appendTime = %s, want %s", got, want)
		}
	}
}

// BenchmarkGenerate is the load generator's cost per event: make it and
// encode it as JSON.
func BenchmarkGenerate(b *testing.B) {
	g := NewGenerator(1, benchOrgs(100), 0.5)
	now := time.Now()
	var buf []byte
	for b.Loop() {
		e := g.Event(now)
		buf = AppendJSON(buf[:0], &e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
