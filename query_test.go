package auditlog_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

func TestQueryMatch(t *testing.T) {
	ts := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	event := auditlog.Event{
		Action:         "organizations.gatepolicies.update",
		Actor:          auditlog.Actor{Email: "alice@example.com", Role: auditlog.RoleOrganizationAdmin},
		Result:         auditlog.ResultFailed,
		Source:         auditlog.SourceAPI,
		Timestamp:      ts,
		RepositoryName: "my repo",
		EntityID:       "policy-42",
		Description:    "Quality gate definition updated (v2)",
		Details: json.RawMessage(`{"policy":{"name":"Strict Gatekeeper","rules":["coverage-drop",{"note":"Ünïcödé ok"}]},` +
			`"count":3,"flag":true,"keyword":7}`),
	}
	field := func(f, v string) auditlog.Term { return auditlog.Term{Field: f, Value: v} }
	prefix := func(f, v string) auditlog.Term { return auditlog.Term{Field: f, Value: v, Prefix: true} }
	not := func(t auditlog.Term) auditlog.Term { t.Negate = true; return t }
	word := func(w string) auditlog.Term { return field(auditlog.FieldWord, w) }
	created := func(from, to time.Time) auditlog.Term {
		return auditlog.Term{Field: auditlog.FieldCreated, From: from, To: to}
	}
	ms := time.Millisecond
	day := ts.Truncate(24 * time.Hour)

	for _, tt := range []struct {
		name  string
		terms []auditlog.Term
		want  bool
	}{
		{"no terms", nil, true},

		{"action", []auditlog.Term{field("action", "organizations.gatepolicies.update")}, true},
		{"other action", []auditlog.Term{field("action", "organizations.gatepolicies.create")}, false},
		{"action is not a prefix without Prefix", []auditlog.Term{field("action", "organizations.gatepolicies.")}, false},
		{"action prefix", []auditlog.Term{prefix("action", "organizations.gatepolicies.")}, true},
		{"whole action as prefix", []auditlog.Term{prefix("action", "organizations.gatepolicies.update")}, true},
		{"other action prefix", []auditlog.Term{prefix("action", "organizations.codingstandards.")}, false},

		{"actor", []auditlog.Term{field("actor", "alice@example.com")}, true},
		{"other actor", []auditlog.Term{field("actor", "bob@example.com")}, false},
		{"repo", []auditlog.Term{field("repo", "my repo")}, true},
		{"repo is exact", []auditlog.Term{field("repo", "my")}, false},
		{"result", []auditlog.Term{field("result", "failed")}, true},
		{"other result", []auditlog.Term{field("result", "succeed")}, false},
		{"source", []auditlog.Term{field("source", "API")}, true},
		{"other source", []auditlog.Term{field("source", "UI")}, false},
		{"role", []auditlog.Term{field("role", "organizationAdmin")}, true},
		{"other role", []auditlog.Term{field("role", "repositoryRead")}, false},
		{"entity", []auditlog.Term{field("entity", "policy-42")}, true},
		{"other entity", []auditlog.Term{field("entity", "policy-4")}, false},
		{"level from the catalog", []auditlog.Term{field("level", "organization")}, true},
		{"other level", []auditlog.Term{field("level", "repository")}, false},
		{"unknown field", []auditlog.Term{field("team", "x")}, false},

		{"created from, inclusive", []auditlog.Term{created(ts, time.Time{})}, true},
		{"created from, after", []auditlog.Term{created(ts.Add(ms), time.Time{})}, false},
		{"created to, exclusive", []auditlog.Term{created(time.Time{}, ts)}, false},
		{"created to, after", []auditlog.Term{created(time.Time{}, ts.Add(ms))}, true},
		{"created the instant", []auditlog.Term{created(ts, ts.Add(ms))}, true},
		{"created the day", []auditlog.Term{created(day, day.AddDate(0, 0, 1))}, true},
		{"created the day before", []auditlog.Term{created(day.AddDate(0, 0, -1), day)}, false},
		{"created the day after", []auditlog.Term{created(day.AddDate(0, 0, 1), day.AddDate(0, 0, 2))}, false},
		{"created unbounded", []auditlog.Term{created(time.Time{}, time.Time{})}, true},

		{"word of the description", []auditlog.Term{word("quality")}, true},
		{"word in parentheses", []auditlog.Term{word("v2")}, true},
		{"part of a word", []auditlog.Term{word("defin")}, false},
		{"prefix of a word", []auditlog.Term{prefix("", "defin")}, true},
		{"prefix of no word", []auditlog.Term{prefix("", "xyz")}, false},
		{"word of a nested details string", []auditlog.Term{word("gatekeeper")}, true},
		{"prefix of a nested details word", []auditlog.Term{prefix("", "gatekee")}, true},
		{"word of a string in a details array", []auditlog.Term{word("coverage")}, true},
		{"word of an object in a details array", []auditlog.Term{word("ünïcödé")}, true},
		{"details keys are not searched", []auditlog.Term{word("keyword")}, false},
		{"details numbers are not searched", []auditlog.Term{word("3")}, false},
		{"details booleans are not searched", []auditlog.Term{word("true")}, false},
		{"entity is not searched for words", []auditlog.Term{word("42")}, false},
		{"unknown word", []auditlog.Term{word("dance")}, false},

		{"negated match", []auditlog.Term{not(field("result", "failed"))}, false},
		{"negated mismatch", []auditlog.Term{not(field("result", "succeed"))}, true},
		{"negated word", []auditlog.Term{not(word("gatekeeper"))}, false},
		{"negated absent word", []auditlog.Term{not(word("dance"))}, true},
		{"negated prefix", []auditlog.Term{not(prefix("action", "organizations."))}, false},
		{"negated created", []auditlog.Term{not(created(day, day.AddDate(0, 0, 1)))}, false},

		{"every term holds", []auditlog.Term{field("action", "organizations.gatepolicies.update"), word("gate"), not(word("dance")), field("source", "API")}, true},
		{"one term fails", []auditlog.Term{field("action", "organizations.gatepolicies.update"), word("gate"), field("source", "UI")}, false},
	} {
		q := &auditlog.Query{Terms: tt.terms}
		if got := q.Match(&event); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}

	var none *auditlog.Query
	if !none.Match(&event) {
		t.Error("a nil query does not match")
	}
}

// TestQueryMatchLevels checks that the level comes from the action's catalog entry.
func TestQueryMatchLevels(t *testing.T) {
	for _, tt := range []struct {
		action string
		level  string
	}{
		{"user.login", "user"},
		{"user.tokens.delete", "user"},
		{"organizations.create", "organization"},
		{"organizations.security.sla.configuration.update", "organization"},
		{"repositories.tokens.create", "repository"},
		{"repositories.file.update", "repository"},
		{"no.such.action", ""},
	} {
		e := &auditlog.Event{Action: tt.action}
		for _, level := range []string{"user", "organization", "repository"} {
			q := &auditlog.Query{Terms: []auditlog.Term{{Field: auditlog.FieldLevel, Value: level}}}
			if got, want := q.Match(e), level == tt.level; got != want {
				t.Errorf("%s: level:%s matches %v, want %v", tt.action, level, got, want)
			}
		}
	}
}

// TestQueryMatchDetails checks events whose details hold no words to find.
func TestQueryMatchDetails(t *testing.T) {
	q := &auditlog.Query{Terms: []auditlog.Term{{Field: auditlog.FieldWord, Value: "gate"}}}
	for _, tt := range []struct {
		description string
		details     string
		want        bool
	}{
		{"", "", false},
		{"Gate", "", true},
		{"", `{}`, false},
		{"", `{"a":"GATE!"}`, true},
		{"", `{"a":[[["x gate"]]]}`, true},
		{"", `{"gate":null}`, false},
		{"", `not json, gate`, false}, // never stored: Validate refuses it
	} {
		e := &auditlog.Event{Description: tt.description, Details: json.RawMessage(tt.details)}
		if got := q.Match(e); got != tt.want {
			t.Errorf("description %q, details %s: Match = %v, want %v", tt.description, tt.details, got, tt.want)
		}
	}
}
