package auditlog

import "testing"

func TestMayContain(t *testing.T) {
	for _, tc := range []struct {
		details, word string
		want          bool
	}{
		{`{"a":"Zebra crossing"}`, "zebra", true},
		{`{"a":"zebr"}`, "zebra", false},
		{`{"ZEBRA":1}`, "zebra", true}, // a key: only a maybe; detailsHaveWord decides
		{`{"a":"\u007aebra"}`, "zebra", true},
		{`{"a":"ähnlich"}`, "ähnlich", true},
		{`{}`, "zebra", false},
		{`{"a":"horse"}`, "zebra", false},
	} {
		if got := mayContain([]byte(tc.details), tc.word); got != tc.want {
			t.Errorf("mayContain(%s, %q) = %v, want %v", tc.details, tc.word, got, tc.want)
		}
		// It never says no where the word is.
		if detailsHaveWord([]byte(tc.details), tc.word, false) && !mayContain([]byte(tc.details), tc.word) {
			t.Errorf("mayContain(%s, %q) ruled out a match", tc.details, tc.word)
		}
	}
}
