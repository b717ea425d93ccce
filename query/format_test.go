package query_test

import (
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/query"
	"github.com/google/go-cmp/cmp"
)

func TestFormat(t *testing.T) {
	for _, tt := range []struct{ q, want string }{
		{"", ""},
		{"  Action:USER.login  ", "action:user.login"},
		{"action:organizations.gatepolicies.*", "action:organizations.gatepolicies.*"},
		{"-action:User*", "-action:user*"},
		{"actor:Alice@Example.com", "actor:alice@example.com"},
		{`actor:"weird\"q@x.com"`, `actor:"weird\"q@x.com"`},
		{`repo:my" "repo`, `repo:"my repo"`},
		{`repo:"say \"hi\""`, `repo:"say \"hi\""`},
		{`repo:a\b`, `repo:a\b`},
		{`repo:"a\\b c"`, `repo:"a\\b c"`},
		{`repo:foo*`, `repo:"foo*"`},
		{`repo:"foo*"`, `repo:"foo*"`},
		{"repo:\"a\u00a0b\"", "repo:\"a\u00a0b\""},
		{`entity:"x y" -entity:42`, `entity:"x y" -entity:42`},
		{"result:FAILED source:api role:organizationadmin level:User", "result:failed source:API role:organizationAdmin level:user"},
		{`foo-bar "Two Words" Gate* -x`, "foo bar two words gate* -x"},
		{"created:=2026-01-05", "created:2026-01-05"},
		{"created:>2026-01-05", "created:>=2026-01-06"},
		{"created:>=2026-01-05", "created:>=2026-01-05"},
		{"created:<2026-01-05", "created:<2026-01-05"},
		{"created:<=2026-01-05", "created:<2026-01-06"},
		{"created:2026-01-05..2026-01-05", "created:2026-01-05"},
		{"created:2026-01-05..2026-01-07", "created:2026-01-05..2026-01-07"},
		{"created:2026-01-05T10:00:00+02:00", "created:2026-01-05T08:00:00Z"},
		{"created:2026-01-05T00:00:00Z", "created:2026-01-05T00:00:00Z"},
		{"created:>2026-01-05T10:00:00Z", "created:>=2026-01-05T10:00:00.001Z"},
		{"created:<=2026-01-05T10:00:00.5Z", "created:<2026-01-05T10:00:00.501Z"},
		{"created:<=2026-01-05T23:59:59.999Z", "created:<2026-01-06"},
		{"created:<=9999-12-31", "created:<=9999-12-31"},
		{"created:>9999-12-31", "created:>9999-12-31"},
		{"created:today", "created:2026-03-15"},
		{"created:2026-01-05T10:00:00Z..2026-01-06T09:30:00Z", "created:2026-01-05T10:00:00Z..2026-01-06T09:30:00Z"},
		{"created:2026-01-05..2026-01-06T00:00:00Z", "created:2026-01-05..2026-01-06T00:00:00Z"},
		{"created:2026-01-05T12:00:00Z..2026-01-06", "created:2026-01-05T12:00:00Z..2026-01-06"},
		{"-created:2026-01-05", "-created:2026-01-05"},
	} {
		q, err := query.Parse(tt.q, now)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.q, err)
			continue
		}
		got := query.Format(q)
		if got != tt.want {
			t.Errorf("Format(Parse(%q)) = %q, want %q", tt.q, got, tt.want)
		}
		back, err := query.Parse(got, now.AddDate(0, 0, 3)) // a canonical query no longer depends on the clock
		if err != nil {
			t.Errorf("Parse(%q): %v", got, err)
			continue
		}
		if diff := cmp.Diff(q, back, ignorePos); diff != "" {
			t.Errorf("Parse(Format(Parse(%q))) (-first +again):\n%s", tt.q, diff)
		}
	}
}

// TestFormatBuilt formats queries that Parse does not produce.
func TestFormatBuilt(t *testing.T) {
	for _, tt := range []struct {
		q    *auditlog.Query
		want string
	}{
		{nil, ""},
		{&auditlog.Query{}, ""},
		{&auditlog.Query{Terms: []auditlog.Term{{Field: auditlog.FieldCreated}}}, "created:>=1970-01-01"},
		{&auditlog.Query{Terms: []auditlog.Term{{Field: auditlog.FieldRepo, Value: ""}}}, `repo:""`},
		{&auditlog.Query{Terms: []auditlog.Term{{Field: auditlog.FieldCreated, From: time.Date(2026, 1, 5, 1, 0, 0, 0, time.FixedZone("", 3600))}}}, "created:>=2026-01-05"},
	} {
		if got := query.Format(tt.q); got != tt.want {
			t.Errorf("Format(%+v) = %q, want %q", tt.q, got, tt.want)
		}
	}
}
