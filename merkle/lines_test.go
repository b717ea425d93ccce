package merkle

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
)

func TestLineReader_Lines(t *testing.T) {
	long := strings.Repeat("x", 3000) // longer than the buffer: it grows
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\n", []string{"\n"}},
		{"a\nbb\n\nccc", []string{"a\n", "bb\n", "\n", "ccc"}},
		{"a\n" + long + "\nb\n", []string{"a\n", long + "\n", "b\n"}},
		{long, []string{long}},
	} {
		for _, size := range []int{16, 1 << 10, 1 << 20} {
			for name, r := range map[string]io.Reader{
				"whole":    strings.NewReader(tc.in),
				"one byte": iotest.OneByteReader(strings.NewReader(tc.in)),
				"data+EOF": iotest.DataErrReader(strings.NewReader(tc.in)),
			} {
				lr := newLineReader(r, size)
				var got []string
				for {
					line, err := lr.line()
					if err == io.EOF {
						break
					} else if err != nil {
						t.Fatalf("%q, buffer %d, %s: %v", tc.in, size, name, err)
					}
					got = append(got, string(line))
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%.20q, buffer %d, %s: lines (-want +got):\n%s", tc.in, size, name, diff)
				}
			}
		}
	}
}

func TestLineReader_Errors(t *testing.T) {
	fire := errors.New("disk on fire")
	lr := newLineReader(io.MultiReader(strings.NewReader("a\nbc"), iotest.ErrReader(fire)), 16)
	if line, err := lr.line(); err != nil || string(line) != "a\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if line, err := lr.line(); !errors.Is(err, fire) || string(line) != "bc" {
		t.Errorf("interrupted line %q, %v; want \"bc\" and the read error", line, err)
	}
	// A reader that keeps returning nothing is given up, as bufio does.
	lr = newLineReader(emptyReader{}, 16)
	if _, err := lr.line(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("empty reads: %v, want io.ErrNoProgress", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestProofLen_IsTheLayoutsLength(t *testing.T) {
	var c chain
	for n := uint64(1); n <= 300; n++ {
		for i := range n {
			c.layout(i, n, 0)
			if got := proofLen(i, n); got != len(c.steps) {
				t.Fatalf("proofLen(%d, %d) = %d, layout has %d steps", i, n, got, len(c.steps))
			}
		}
	}
}

func TestFastBundleLine_AgreesWithJSON(t *testing.T) {
	// Every line the server writes without escapes is read by the fast path,
	// into what encoding/json reads from it; lines it cannot read whole or
	// exactly are left to the general path.
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 7_000_000, time.UTC)
	base := auditlog.Event{Organization: auditlog.OrgRef{Provider: "gh", Name: "acme"}, Sequence: 41, ID: "9b2f0c9e-5f1a-4d0b-9c39-2f6a1f1e7a10",
		Action: "repositories.tools.update", Actor: auditlog.Actor{Email: "ana@acme.example", Role: "repositoryAdmin"}, Result: "succeed",
		Source: "UI", Timestamp: t0, ReceivedAt: t0.Add(time.Second), RepositoryName: "api", EntityID: "tool-7",
		Description: "Can be change parameters", Details: json.RawMessage(`{"tool":"eslint","rules":[{"id":"a"},{"id":"b"}]}`),
		IPAddress: "10.1.2.3", UserAgent: "Mozilla/5.0", Salt: bytes.Repeat([]byte{7}, auditlog.SaltSize)}
	const size = 1000
	edits := map[string]func(e *auditlog.Event){
		"as is":      func(*auditlog.Event) {},
		"no role":    func(e *auditlog.Event) { e.Actor.Role = "" },
		"no details": func(e *auditlog.Event) { e.Details = nil },
		"empty strings": func(e *auditlog.Event) {
			e.RepositoryName, e.EntityID, e.Description, e.IPAddress, e.UserAgent = "", "", "", "", ""
		},
		"long description":  func(e *auditlog.Event) { e.Description = strings.Repeat("a long description ", 600) },
		"unicode":           func(e *auditlog.Event) { e.Description = "Zugriff für Jürgen → 管理者" },
		"erased":            func(e *auditlog.Event) { _ = e.Erase() },
		"first of the tree": func(e *auditlog.Event) { e.Sequence = 0 },
		"last of the tree":  func(e *auditlog.Event) { e.Sequence = size - 1 },
		"the year 9999":     func(e *auditlog.Event) { e.Timestamp = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC) },
		"leap day":          func(e *auditlog.Event) { e.ReceivedAt = time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC) },
	}
	for name, edit := range edits {
		e := base
		e.Salt = bytes.Clone(base.Salt)
		edit(&e)
		p := make([][32]byte, proofLen(uint64(e.Sequence), size))
		line := AppendBundleLine(nil, &e, p)
		var fast, slow bundleLine
		if n := fastBundleLine(line, true, size, &fast); n != len(line) {
			t.Errorf("%s: the fast path read %d of %d bytes", name, n, len(line))
			continue
		}
		if err := parseBundleLine(line, &slow); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(slow.event, fast.event); diff != "" {
			t.Errorf("%s: the fast path read (-json +fast):\n%s", name, diff)
		}
		if string(fast.proof) != string(slow.proof) {
			t.Errorf("%s: proof text differs", name)
		}
		// In a buffer that holds more lines, it stops at this one's end.
		two := append(bytes.Clone(line), line...)
		if n := fastBundleLine(two, false, size, &fast); n != len(line) {
			t.Errorf("%s: in a buffer of two lines, read %d bytes, want %d", name, n, len(line))
		}
	}

	line := AppendBundleLine(nil, &base, make([][32]byte, proofLen(41, size)))
	// The writer leaves an empty role out; a line that spells it is not canonical.
	roleless := base
	roleless.Actor.Role = ""
	noRole := bytes.Replace(AppendBundleLine(nil, &roleless, make([][32]byte, proofLen(41, size))), []byte(`"},"result"`), []byte(`","role":""},"result"`), 1)
	if err := parseBundleLine(noRole, &bundleLine{}); err == nil {
		t.Errorf("the general path accepts an empty role spelled out: %s", noRole)
	}
	general := map[string][]byte{
		"escaped quote":           withDescription(t, &base, `say "hi"`),
		"escaped newline":         withDescription(t, &base, "two\nlines"),
		"escape in details":       bytes.Replace(line, []byte(`"eslint"`), []byte(`"esl\u0069nt"`), 1),
		"raw newline":             bytes.Replace(line, []byte("Can be"), []byte("Can\nbe"), 1),
		"newline in salt":         bytes.Replace(line, []byte(`"salt":"`), []byte(`"salt":"`+"\n"), 1),
		"cut short":               line[:len(line)-1], // no newline, and more may follow
		"proof too short":         AppendBundleLine(nil, &base, make([][32]byte, proofLen(41, size)-1)),
		"proof too long":          AppendBundleLine(nil, &base, make([][32]byte, proofLen(41, size)+1)),
		"beyond the tree":         bytes.Replace(line, []byte(`"sequence":41`), []byte(`"sequence":1000`), 1),
		"short salt":              bytes.Replace(line, []byte(`"salt":"BwcH`), []byte(`"salt":"`), 1),
		"salt of 32 bytes":        bytes.Replace(line, []byte(`"salt":"`), []byte(`"salt":"BwcHBwcHBwcHBwcHBwcHBw`), 1),
		"carriage return":         append(bytes.TrimSuffix(bytes.Clone(line), []byte("\n")), "\r\n"...),
		"another field":           bytes.Replace(line, []byte(`,"salt":`), []byte(`,"note":"x","salt":`), 1),
		"purged event":            AppendPurgedLine(nil, 3, [32]byte{1}, make([][32]byte, proofLen(3, size))),
		"another line first":      append([]byte("\n"), line...),
		"salt's padding a letter": bytes.Replace(line, []byte(`BwcHBw=="`), []byte(`BwcHBwAA"`), 1),
		"empty role":              noRole,
		"personal hash's padding a letter": func() []byte {
			e := base
			e.Salt = bytes.Clone(base.Salt)
			_ = e.Erase()
			l := AppendBundleLine(nil, &e, make([][32]byte, proofLen(41, size)))
			i := bytes.Index(l, []byte(`"personalHash":"`)) + len(`"personalHash":"`) + 43
			l[i] = 'A'
			return l
		}(),
	}
	for name, l := range general {
		var bl bundleLine
		if n := fastBundleLine(l, false, size, &bl); n != 0 {
			t.Errorf("%s: the fast path read %d bytes, want it left to the general path", name, n)
		}
	}
}

// withDescription returns the bundle line of e with another description.
func withDescription(t *testing.T, e *auditlog.Event, d string) []byte {
	t.Helper()
	c := *e
	c.Description = d
	line := AppendBundleLine(nil, &c, make([][32]byte, proofLen(uint64(c.Sequence), 1000)))
	if !bytes.Contains(line, []byte(`\`)) {
		t.Fatalf("no escape in %s", line)
	}
	return line
}
