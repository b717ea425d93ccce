package query_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/query"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// now is the clock of every test: today is 2026-03-15.
var now = time.Date(2026, 3, 15, 13, 45, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func instant(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

const ms = time.Millisecond

func field(f, v string) auditlog.Term      { return auditlog.Term{Field: f, Value: v} }
func not(t auditlog.Term) auditlog.Term    { t.Negate = true; return t }
func prefix(t auditlog.Term) auditlog.Term { t.Prefix = true; return t }
func word(w string) auditlog.Term          { return auditlog.Term{Field: auditlog.FieldWord, Value: w} }
func created(from, to time.Time) auditlog.Term {
	return auditlog.Term{Field: auditlog.FieldCreated, From: from, To: to}
}

// ignorePos compares terms without their positions, which TestParsePositions checks.
var ignorePos = cmpopts.IgnoreFields(auditlog.Term{}, "Pos")

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		q    string
		want []auditlog.Term
	}{
		{"", nil},
		{"   \t\n ", nil},

		// action
		{"action:user.login", []auditlog.Term{field("action", "user.login")}},
		{"action:USER.Login", []auditlog.Term{field("action", "user.login")}},
		{"Action:user.login", []auditlog.Term{field("action", "user.login")}},
		{`action:"user.login"`, []auditlog.Term{field("action", "user.login")}},
		{"action:organizations.gatepolicies.*", []auditlog.Term{prefix(field("action", "organizations.gatepolicies."))}},
		{"action:user*", []auditlog.Term{prefix(field("action", "user"))}},
		{"action:user.login*", []auditlog.Term{prefix(field("action", "user.login"))}},
		{"action:Repositories.*", []auditlog.Term{prefix(field("action", "repositories."))}},

		// actor
		{"actor:Alice@Example.COM", []auditlog.Term{field("actor", "alice@example.com")}},
		{`actor:" bob@example.com "`, []auditlog.Term{field("actor", "bob@example.com")}},

		// repo and entity: verbatim, quoting, escapes
		{"repo:my-repo", []auditlog.Term{field("repo", "my-repo")}},
		{"repo:My-Repo", []auditlog.Term{field("repo", "My-Repo")}},
		{`repo:"my repo"`, []auditlog.Term{field("repo", "my repo")}},
		{`repo:my" "repo`, []auditlog.Term{field("repo", "my repo")}},
		{`repo:"say \"hi\""`, []auditlog.Term{field("repo", `say "hi"`)}},
		{`repo:"back\\slash"`, []auditlog.Term{field("repo", `back\slash`)}},
		{`repo:"a\b"`, []auditlog.Term{field("repo", `a\b`)}},
		{`repo:a\b`, []auditlog.Term{field("repo", `a\b`)}},
		{"repo:foo*", []auditlog.Term{field("repo", "foo*")}},
		{"repo:a:b", []auditlog.Term{field("repo", "a:b")}},
		{"repo:-x", []auditlog.Term{field("repo", "-x")}},
		{"repo:\"tab\there\"", []auditlog.Term{field("repo", "tab\there")}},
		{"entity:42", []auditlog.Term{field("entity", "42")}},
		{`entity:"x y"`, []auditlog.Term{field("entity", "x y")}},

		// result, source, role, level: case-insensitive, canonical case
		{"result:succeed", []auditlog.Term{field("result", "succeed")}},
		{"result:failed", []auditlog.Term{field("result", "failed")}},
		{"result:REJECTED", []auditlog.Term{field("result", "rejected")}},
		{"source:UI", []auditlog.Term{field("source", "UI")}},
		{"source:api", []auditlog.Term{field("source", "API")}},
		{"role:repositoryRead", []auditlog.Term{field("role", "repositoryRead")}},
		{"role:repositorywrite", []auditlog.Term{field("role", "repositoryWrite")}},
		{"role:REPOSITORYADMIN", []auditlog.Term{field("role", "repositoryAdmin")}},
		{"role:organizationMember", []auditlog.Term{field("role", "organizationMember")}},
		{"role:organizationadmin", []auditlog.Term{field("role", "organizationAdmin")}},
		{"role:organizationManager", []auditlog.Term{field("role", "organizationManager")}},
		{"level:user", []auditlog.Term{field("level", "user")}},
		{"level:Organization", []auditlog.Term{field("level", "organization")}},
		{"level:repository", []auditlog.Term{field("level", "repository")}},

		// negation
		{"-action:user.login", []auditlog.Term{not(field("action", "user.login"))}},
		{"-action:user.*", []auditlog.Term{not(prefix(field("action", "user.")))}},
		{"-result:succeed", []auditlog.Term{not(field("result", "succeed"))}},
		{"-gate", []auditlog.Term{not(word("gate"))}},
		{"-gate*", []auditlog.Term{not(prefix(word("gate")))}},
		{`-"gate"`, []auditlog.Term{not(word("gate"))}},
		{`-repo:"my repo"`, []auditlog.Term{not(field("repo", "my repo"))}},

		// bare words
		{"Gate", []auditlog.Term{word("gate")}},
		{"gate*", []auditlog.Term{prefix(word("gate"))}},
		{"foo-bar", []auditlog.Term{word("foo"), word("bar")}},
		{"foo-ba*", []auditlog.Term{word("foo"), prefix(word("ba"))}},
		{`"Two words"`, []auditlog.Term{word("two"), word("words")}},
		{`"foo*"`, []auditlog.Term{word("foo")}},
		{`"a*b"`, []auditlog.Term{word("a"), word("b")}},
		{`"gate"*`, []auditlog.Term{prefix(word("gate"))}},
		{"10:30", []auditlog.Term{word("10"), word("30")}},
		{`"action:user.login"`, []auditlog.Term{word("action"), word("user"), word("login")}},
		{"user@example.com", []auditlog.Term{word("user"), word("example"), word("com")}},
		{"Ünïcödé", []auditlog.Term{word("ünïcödé")}},
		{"漢字", []auditlog.Term{word("漢字")}},
		{"v1.2", []auditlog.Term{word("v1"), word("2")}},
		{"  a\tb\nc  ", []auditlog.Term{word("a"), word("b"), word("c")}},
		{"a\u00a0b", []auditlog.Term{word("a"), word("b")}}, // no-break space separates terms

		// several terms
		{`action:user.login -result:succeed actor:A@b.c repo:"x y" gate* -policy`, []auditlog.Term{
			field("action", "user.login"), not(field("result", "succeed")), field("actor", "a@b.c"),
			field("repo", "x y"), prefix(word("gate")), not(word("policy")),
		}},

		// created: dates are UTC days
		{"created:2026-01-05", []auditlog.Term{created(day(2026, 1, 5), day(2026, 1, 6))}},
		{"created:=2026-01-05", []auditlog.Term{created(day(2026, 1, 5), day(2026, 1, 6))}},
		{"created:>2026-01-05", []auditlog.Term{created(day(2026, 1, 6), time.Time{})}},
		{"created:>=2026-01-05", []auditlog.Term{created(day(2026, 1, 5), time.Time{})}},
		{"created:<2026-01-05", []auditlog.Term{created(time.Time{}, day(2026, 1, 5))}},
		{"created:<=2026-01-05", []auditlog.Term{created(time.Time{}, day(2026, 1, 6))}},
		{"created:2026-01-05..2026-01-10", []auditlog.Term{created(day(2026, 1, 5), day(2026, 1, 11))}},
		{"created:2026-01-05..2026-01-05", []auditlog.Term{created(day(2026, 1, 5), day(2026, 1, 6))}},
		{"created:2025-12-31", []auditlog.Term{created(day(2025, 12, 31), day(2026, 1, 1))}},
		{"created:>2025-12-31", []auditlog.Term{created(day(2026, 1, 1), time.Time{})}},
		{"created:<=2024-02-28", []auditlog.Term{created(time.Time{}, day(2024, 2, 29))}},
		{"created:2024-02-29", []auditlog.Term{created(day(2024, 2, 29), day(2024, 3, 1))}},
		{"created:>=1970-01-01", []auditlog.Term{created(day(1970, 1, 1), time.Time{})}},
		{"created:<=9999-12-31", []auditlog.Term{created(time.Time{}, day(10000, 1, 1))}},
		{"created:>9999-12-31", []auditlog.Term{created(day(10000, 1, 1), time.Time{})}},
		{`created:"2026-01-05"`, []auditlog.Term{created(day(2026, 1, 5), day(2026, 1, 6))}},
		{"-created:2026-01-05", []auditlog.Term{not(created(day(2026, 1, 5), day(2026, 1, 6)))}},

		// created: relative days, from now
		{"created:today", []auditlog.Term{created(day(2026, 3, 15), day(2026, 3, 16))}},
		{"created:>=Yesterday", []auditlog.Term{created(day(2026, 3, 14), time.Time{})}},
		{"created:<today", []auditlog.Term{created(time.Time{}, day(2026, 3, 15))}},
		{"created:yesterday..today", []auditlog.Term{created(day(2026, 3, 14), day(2026, 3, 16))}},

		// created: datetimes are instants, to the millisecond
		{"created:2026-01-05T10:00:00Z", []auditlog.Term{created(instant("2026-01-05T10:00:00Z"), instant("2026-01-05T10:00:00.001Z"))}},
		{"created:>2026-01-05T10:00:00Z", []auditlog.Term{created(instant("2026-01-05T10:00:00.001Z"), time.Time{})}},
		{"created:>=2026-01-05T10:00:00Z", []auditlog.Term{created(instant("2026-01-05T10:00:00Z"), time.Time{})}},
		{"created:<2026-01-05T10:00:00Z", []auditlog.Term{created(time.Time{}, instant("2026-01-05T10:00:00Z"))}},
		{"created:<=2026-01-05T10:00:00Z", []auditlog.Term{created(time.Time{}, instant("2026-01-05T10:00:00.001Z"))}},
		{"created:>=2026-01-05T01:00:00+02:00", []auditlog.Term{created(instant("2026-01-04T23:00:00Z"), time.Time{})}},
		{"created:>=2026-01-05T10:00:00.123456Z", []auditlog.Term{created(instant("2026-01-05T10:00:00.123Z"), time.Time{})}},
		{"created:<=2026-01-05T23:59:59.999Z", []auditlog.Term{created(time.Time{}, day(2026, 1, 6))}},
		{"created:>2026-01-05T23:59:59.999Z", []auditlog.Term{created(day(2026, 1, 6), time.Time{})}},
		{"created:<2026-01-06T00:00:00Z", []auditlog.Term{created(time.Time{}, day(2026, 1, 6))}},
		{"created:2026-01-05T10:00:00Z..2026-01-06T09:30:00Z", []auditlog.Term{created(instant("2026-01-05T10:00:00Z"), instant("2026-01-06T09:30:00.001Z"))}},
		{"created:2026-01-05T10:00:00Z..2026-01-05T10:00:00Z", []auditlog.Term{created(instant("2026-01-05T10:00:00Z"), instant("2026-01-05T10:00:00.001Z"))}},
		{"created:2026-01-05..2026-01-06T12:00:00Z", []auditlog.Term{created(day(2026, 1, 5), instant("2026-01-06T12:00:00.001Z"))}},
		{"created:2026-01-05T12:00:00Z..2026-01-06", []auditlog.Term{created(instant("2026-01-05T12:00:00Z"), day(2026, 1, 7))}},
		{"created:2026-01-05T12:00:00Z..2026-01-05", []auditlog.Term{created(instant("2026-01-05T12:00:00Z"), day(2026, 1, 6))}},
	} {
		got, err := query.Parse(tt.q, now)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.q, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got.Terms, ignorePos); diff != "" {
			t.Errorf("Parse(%q) terms (-want +got):\n%s", tt.q, diff)
		}
	}
}

// TestParsePositions checks that each term keeps the byte offset of the text it came from.
func TestParsePositions(t *testing.T) {
	q := "action:user.login  -repo:x é foo-bar"
	got, err := query.Parse(q, now)
	if err != nil {
		t.Fatal(err)
	}
	var pos []int
	for _, term := range got.Terms {
		pos = append(pos, term.Pos)
	}
	if want := []int{0, 19, 27, 30, 30}; !cmp.Equal(pos, want) {
		t.Errorf("positions %v, want %v", pos, want)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", 257)
	for _, tt := range []struct {
		q      string
		term   int    // 1-based number of the bad term
		raw    string // its text
		pos    int    // its 1-based character position
		reason string // the message after the term
	}{
		{"result:failed action:user.dance", 2, "action:user.dance", 15, `unknown action "user.dance": see GET /api/v1/actions, or end a prefix with '*'`},
		{"é action:user.dance", 2, "action:user.dance", 3, `unknown action "user.dance": see GET /api/v1/actions, or end a prefix with '*'`},
		{"action:user.", 1, "action:user.", 1, `unknown action "user.": see GET /api/v1/actions, or end a prefix with '*'`},
		{"action:nothing.*", 1, "action:nothing.*", 1, `no action starts with "nothing.": see GET /api/v1/actions`},
		{`action:"user.*"`, 1, `action:"user.*"`, 1, `unknown action "user.*": see GET /api/v1/actions, or end a prefix with '*'`},
		{"action:*", 1, "action:*", 1, "an action prefix needs at least one character before the '*'"},
		{"foo:bar", 1, "foo:bar", 1, `unknown field "foo": fields are action, actor, repo, result, source, role, entity, level and created; quote the term to search for its words`},
		{"a http://example.com", 2, "http://example.com", 3, `unknown field "http": fields are action, actor, repo, result, source, role, entity, level and created; quote the term to search for its words`},
		{"action:", 1, "action:", 1, "action has an empty value"},
		{`  repo:""`, 1, `repo:""`, 3, "repo has an empty value"},
		{"-entity:", 1, "-entity:", 1, "entity has an empty value"},
		{"actor:notanemail", 1, "actor:notanemail", 1, `actor: invalid email "notanemail"`},
		{"actor:a@b@c", 1, "actor:a@b@c", 1, `actor: invalid email "a@b@c"`},
		{"result:ok", 1, "result:ok", 1, `invalid result "ok": must be succeed, failed or rejected`},
		{"source:cli", 1, "source:cli", 1, `invalid source "cli": must be UI or API`},
		{"role:owner", 1, "role:owner", 1, `invalid role "owner": must be repositoryRead, repositoryWrite, repositoryAdmin, organizationMember, organizationAdmin or organizationManager`},
		{"level:team", 1, "level:team", 1, `invalid level "team": must be user, organization or repository`},
		{"repo:" + long, 1, truncated("repo:" + long), 1, "the value is 257 bytes, more than 256"},
		{long, 1, truncated(long), 1, "the term is 257 bytes, more than 256"},

		// created
		{"created:2026-13-01", 1, "created:2026-13-01", 1, `invalid date "2026-13-01": write a date as YYYY-MM-DD`},
		{"created:2026-02-30", 1, "created:2026-02-30", 1, `invalid date "2026-02-30": write a date as YYYY-MM-DD`},
		{"created:2026-1-5", 1, "created:2026-1-5", 1, `invalid date or datetime "2026-1-5": write YYYY-MM-DD or RFC 3339, like 2026-01-05T14:30:00Z`},
		{"created:2026-01-05T10:00:00", 1, "created:2026-01-05T10:00:00", 1, `invalid date or datetime "2026-01-05T10:00:00": write YYYY-MM-DD or RFC 3339, like 2026-01-05T14:30:00Z`},
		{"created:>>2026-01-05", 1, "created:>>2026-01-05", 1, `invalid date or datetime ">2026-01-05": write YYYY-MM-DD or RFC 3339, like 2026-01-05T14:30:00Z`},
		{"created:>", 1, "created:>", 1, `">" needs a date or datetime after it`},
		{"created:<=", 1, "created:<=", 1, `"<=" needs a date or datetime after it`},
		{"created:2026-01-10..2026-01-05", 1, "created:2026-01-10..2026-01-05", 1, `the range "2026-01-10..2026-01-05" is empty: it starts after it ends`},
		{"created:2026-01-05T10:00:00Z..2026-01-05T09:00:00Z", 1, "created:2026-01-05T10:00:00Z..2026-01-05T09:00:00Z", 1, `the range "2026-01-05T10:00:00Z..2026-01-05T09:00:00Z" is empty: it starts after it ends`},
		{"created:2026-01-06T00:00:00Z..2026-01-05", 1, "created:2026-01-06T00:00:00Z..2026-01-05", 1, `the range "2026-01-06T00:00:00Z..2026-01-05" is empty: it starts after it ends`},
		{"created:..2026-01-05", 1, "created:..2026-01-05", 1, `the range "..2026-01-05" needs both ends: A..B`},
		{"created:2026-01-05..", 1, "created:2026-01-05..", 1, `the range "2026-01-05.." needs both ends: A..B`},
		{"created:>2026-01-01..2026-02-01", 1, "created:>2026-01-01..2026-02-01", 1, `the range ">2026-01-01..2026-02-01" takes no operator: it is A..B`},
		{"created:1969-12-31", 1, "created:1969-12-31", 1, `"1969-12-31" is not between 1970 and 9999`},
		{"created:1970-01-01T00:30:00+01:00", 1, "created:1970-01-01T00:30:00+01:00", 1, `"1970-01-01T00:30:00+01:00" is not between 1970 and 9999`},
		{"created:9999-12-31T23:30:00-01:00", 1, "created:9999-12-31T23:30:00-01:00", 1, `"9999-12-31T23:30:00-01:00" is not between 1970 and 9999`},
		{"created:tomorrow", 1, "created:tomorrow", 1, `invalid date or datetime "tomorrow": write YYYY-MM-DD or RFC 3339, like 2026-01-05T14:30:00Z`},

		// negation, words, stars
		{"a - b", 2, "-", 3, "a '-' negates the term written right after it, with no space"},
		{"--foo", 1, "--foo", 1, "a term can be negated only once"},
		{"...", 1, "...", 1, "no word to search for: a word is a run of letters and digits"},
		{`""`, 1, `""`, 1, "no word to search for: a word is a run of letters and digits"},
		{`-""`, 1, `-""`, 1, "no word to search for: a word is a run of letters and digits"},
		{"*", 1, "*", 1, "a '*' must follow a word"},
		{"-*", 1, "-*", 1, "a '*' must follow a word"},
		{"foo*bar", 1, "foo*bar", 1, "a '*' is allowed only at the end of a word, to match words that start with it"},
		{"foo**", 1, "foo**", 1, "a '*' is allowed only at the end of a word, to match words that start with it"},
		{"foo-*", 1, "foo-*", 1, "a '*' must follow a letter or digit"},
		{"-foo-bar", 1, "-foo-bar", 1, "cannot negate several words (foo, bar): negate each word on its own"},
		{`x -"two words"`, 2, `-"two words"`, 3, "cannot negate several words (two, words): negate each word on its own"},

		// quotes
		{`repo:"my repo`, 1, `repo:"my repo`, 1, `unbalanced quote: the '"' at position 6 is never closed`},
		{`a "b c`, 2, `"b c`, 3, `unbalanced quote: the '"' at position 3 is never closed`},
		{`repo:"a\"`, 1, `repo:"a\"`, 1, `unbalanced quote: the '"' at position 6 is never closed`},
		{`é "x" y"`, 3, `y"`, 7, `unbalanced quote: the '"' at position 8 is never closed`},

		// limits
		{strings.Repeat("a ", 33), 33, "a", 65, "too many terms: a query has at most 32"},
		{strings.Repeat("a ", 30) + "b-c-d", 31, "b-c-d", 61, "too many terms: a query has at most 32"},
	} {
		_, err := query.Parse(tt.q, now)
		want := fmt.Sprintf("q: term %d %q at position %d: %s", tt.term, tt.raw, tt.pos, tt.reason)
		checkError(t, tt.q, err, want)
	}
}

func truncated(s string) string { return s[:64] + "..." }

// TestParseQueryErrors checks the errors of the whole query, which point at no term.
func TestParseQueryErrors(t *testing.T) {
	lower := strings.TrimSpace(strings.Repeat(strings.Repeat("Ⱥ", 125)+" ", 4)) // ⱥ is a byte longer than Ⱥ
	for _, tt := range []struct{ q, want string }{
		{strings.Repeat("a", 1025), "q: the query is 1025 bytes, more than 1024"},
		{"ab \xff", "q: invalid UTF-8 at position 4"},
		{"é\xc3", "q: invalid UTF-8 at position 2"},
		{lower, "q: the query is 1503 bytes once written in canonical form, more than 1024"},
	} {
		_, err := query.Parse(tt.q, now)
		checkError(t, tt.q, err, tt.want)
	}
	if _, err := query.Parse(strings.Repeat("a", 1024), now); err == nil || !strings.Contains(auditlog.ErrorMessage(err), "more than 256") {
		t.Errorf("a 1024-byte word: got %v, want the term's limit", err)
	}
	if _, err := query.Parse(strings.TrimSpace(strings.Repeat(strings.Repeat("a", 200)+" ", 5))+strings.Repeat(" ", 20), now); err != nil {
		t.Errorf("a 1024-byte query: %v", err)
	}
}

func checkError(t *testing.T, q string, err error, want string) {
	t.Helper()
	var e *auditlog.Error
	if !errors.As(err, &e) {
		t.Errorf("Parse(%q): got %v, want an *auditlog.Error", q, err)
		return
	}
	if e.Code != auditlog.EINVALID {
		t.Errorf("Parse(%q): code %q, want %q", q, e.Code, auditlog.EINVALID)
	}
	if e.Message != want {
		t.Errorf("Parse(%q):\n got %s\nwant %s", q, e.Message, want)
	}
}
