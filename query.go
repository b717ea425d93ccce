package auditlog

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
)

// Query is a parsed search (SPEC §9): every term must hold. Package query
// parses the search language into it; stores narrow their reads with the
// terms they index and check the rest with Match.
type Query struct {
	Terms []Term
}

// Fields a term can test.
const (
	FieldAction  = "action"
	FieldActor   = "actor"
	FieldRepo    = "repo"
	FieldResult  = "result"
	FieldSource  = "source"
	FieldRole    = "role"
	FieldEntity  = "entity"
	FieldLevel   = "level"
	FieldCreated = "created"
	FieldWord    = "" // a bare word of the description or of a string in details
)

// Term is one condition of a Query.
type Term struct {
	Field  string // one of the Field constants
	Negate bool   // a leading '-'
	Value  string // the value; for FieldWord lower-case
	Prefix bool   // a trailing '*': Value is a prefix (action and bare words)
	// From and To bound FieldCreated terms: From <= timestamp < To; a zero bound is open.
	From, To time.Time
	Pos      int // byte offset of the term in the query text, for error messages
}

// Match reports whether the event satisfies every term.
func (q *Query) Match(e *Event) bool {
	if q == nil {
		return true
	}
	for i := range q.Terms {
		if q.Terms[i].match(e) == q.Terms[i].Negate {
			return false
		}
	}
	return true
}

func (t *Term) match(e *Event) bool {
	switch t.Field {
	case FieldAction:
		if t.Prefix {
			return strings.HasPrefix(e.Action, t.Value)
		}
		return e.Action == t.Value
	case FieldActor:
		return e.Actor.Email == t.Value
	case FieldRepo:
		return e.RepositoryName == t.Value
	case FieldResult:
		return e.Result == t.Value
	case FieldSource:
		return e.Source == t.Value
	case FieldRole:
		return e.Actor.Role == t.Value
	case FieldEntity:
		return e.EntityID == t.Value
	case FieldLevel:
		return string(e.Level()) == t.Value
	case FieldCreated:
		return (t.From.IsZero() || !e.Timestamp.Before(t.From)) && (t.To.IsZero() || e.Timestamp.Before(t.To))
	case FieldWord:
		return hasWord(e.Description, t.Value, t.Prefix) || mayContain(e.Details, t.Value) && detailsHaveWord(e.Details, t.Value, t.Prefix)
	}
	return false
}

// Words splits s into its words (runs of letters and digits), lower-cased.
func Words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func hasWord(s, word string, prefix bool) bool {
	for _, w := range Words(s) {
		if w == word || prefix && strings.HasPrefix(w, word) {
			return true
		}
	}
	return false
}

// SearchWords returns the distinct words a bare-word term can match in the
// event: those of its description and of every string in its details.
func (e *Event) SearchWords() []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		for _, w := range Words(s) {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	add(e.Description)
	if len(e.Details) > 0 {
		var v any
		if json.Unmarshal(e.Details, &v) == nil {
			eachString(v, add)
		}
	}
	return out
}
