package auditlog_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/auditlog/auditlog"
)

// docs/actions.md documents the whole catalog, in its order, with each
// action's level, event name and description as GET /api/v1/actions serves them.
func TestActionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []auditlog.Action
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\| (\\w+) \\| (.+?) \\| (.+?) \\|$").FindAllStringSubmatch(string(doc), -1) {
		got = append(got, auditlog.Action{Name: m[1], Level: auditlog.Level(m[2]), Event: m[3], Description: m[4]})
	}
	want := auditlog.Actions()
	if len(got) != len(want) {
		t.Fatalf("docs/actions.md lists %d actions, the catalog has %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("docs/actions.md row %d is %+v, the catalog's %+v", i+1, got[i], want[i])
		}
	}
}
