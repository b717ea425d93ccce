package pebble

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/auditlog/auditlog"
)

var eventWordsCases = []struct{ action, desc, details string }{
	{"user.login", "", `{"branch":"main","enabled":true,"count":12}`},
	{"user.login", "A Custom description, with-Words 42x", `{"note":"rare crossing","count":3}`},
	{"repository.create", "", `{"a":["One two","THREE",{"four":"five six","seven":[1,"eight"]}],"nine":null}`},
	{"user.login", "Ünïcode Wörds ÅND more", `{"k":"caf\u00e9 \"quoted\" back\\slash tab\tend","key words":"value words"}`},
	{"user.login", "", `{"ключ":"Значение слова","emoji":"x😀y","mixed":"ÀB-cd_ef"}`},
	{"user.login", "", `{}`},
	{"user.login", "", `[]`},
	{"user.login", "", `"just a string"`},
	{"user.login", "", ` { "sp" : [ "a b" , { } , [ ] ] , "t" : "c" } `},
}

// bothWords returns the distinct hashes of eventWords and of
// Event.SearchWords for an event, or ok false if it is not one ingest takes.
func bothWords(action, desc, details string) (got, want []uint64, e *auditlog.Event, ok bool) {
	def, ok := auditlog.LookupAction(action)
	if !ok || !json.Valid([]byte(details)) {
		return nil, nil, nil, false
	}
	e = &auditlog.Event{Action: action, Description: desc, Details: json.RawMessage(details)}
	if desc == "" {
		e.Description = def.Description
	}
	for _, w := range e.SearchWords() {
		want = append(want, wordHash(w))
	}
	got = eventWords(e)
	slices.Sort(want)
	slices.Sort(got)
	return slices.Compact(got), want, e, true
}

// TestEventWords: the word hashes eventWords computes without decoding the
// details are those of Event.SearchWords.
func TestEventWords(t *testing.T) {
	for _, c := range eventWordsCases {
		got, want, e, _ := bothWords(c.action, c.desc, c.details)
		if !slices.Equal(got, want) {
			t.Errorf("description %q details %s: eventWords gives %d distinct hashes, SearchWords %q", e.Description, c.details, len(got), e.SearchWords())
		}
	}
}

// FuzzEventWords: eventWords holds every word of Event.SearchWords (more
// only where the details repeat a key: SearchWords sees the last value).
func FuzzEventWords(f *testing.F) {
	for _, c := range eventWordsCases {
		f.Add(c.action, c.desc, c.details)
	}
	f.Fuzz(func(t *testing.T, action, desc, details string) {
		got, want, e, ok := bothWords(action, desc, details)
		if !ok {
			return
		}
		for _, h := range want {
			if _, found := slices.BinarySearch(got, h); !found {
				t.Fatalf("description %q details %s: eventWords lacks a word of SearchWords %q", e.Description, details, e.SearchWords())
			}
		}
	})
}

func BenchmarkEventWords(b *testing.B) {
	e := &auditlog.Event{Action: "user.login", Details: json.RawMessage(`{"branch":"main","enabled":true,"count":12}`)}
	def, _ := auditlog.LookupAction(e.Action)
	e.Description = def.Description
	b.Run("fast", func(b *testing.B) {
		for range b.N {
			eventWords(e)
		}
	})
	b.Run("searchwords", func(b *testing.B) {
		for range b.N {
			slowEventWords(e)
		}
	})
}
