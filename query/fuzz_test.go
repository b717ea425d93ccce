package query_test

import (
	"errors"
	"testing"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/query"
	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics, that it fails only with EINVALID
// errors, and that what it accepts, written by Format, parses again to an
// equal query, whose canonical text is itself.
func FuzzParse(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzParse.
	f.Add(`action:user.login -result:succeed gate*`)
	f.Fuzz(func(t *testing.T, q string) {
		parsed, err := query.Parse(q, now)
		if err != nil {
			var e *auditlog.Error
			if !errors.As(err, &e) || e.Code != auditlog.EINVALID {
				t.Fatalf("Parse(%q): %v, want an EINVALID *auditlog.Error", q, err)
			}
			return
		}
		text := query.Format(parsed)
		again, err := query.Parse(text, now)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", q, text, err)
		}
		if diff := cmp.Diff(parsed, again, ignorePos); diff != "" {
			t.Fatalf("Parse(%q) written as %q parses to another query (-first +again):\n%s", q, text, diff)
		}
		if text2 := query.Format(again); text2 != text {
			t.Fatalf("Format is not stable for %q: %q, then %q", q, text, text2)
		}
		for i, term := range parsed.Terms {
			if term.Pos < 0 || term.Pos >= len(q) {
				t.Fatalf("Parse(%q): term %d at byte %d, outside the query", q, i, term.Pos)
			}
		}
	})
}
