package http

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/bench"
	"github.com/google/go-cmp/cmp"
)

// checkFastJSONArray checks body against encoding/json's path: when
// fastJSONArray accepts it, its events are exactly decodeJSONStream's, which
// has no error and no rejected event; and decodeJSONArray, fast or not,
// answers exactly as decodeJSONStream does. It reports whether
// fastJSONArray accepted the body.
func checkFastJSONArray(t *testing.T, body []byte) bool {
	t.Helper()
	want, wantBad, wantErr := decodeJSONStream(bytes.NewReader(body))
	fast, ok := fastJSONArray(body)
	if ok {
		if wantErr != nil || wantBad != nil {
			t.Fatalf("fast path accepted a body encoding/json rejects (%v, %+v):\n%q", wantErr, wantBad, body)
		}
		sameEvents(t, "fast path", fast, want, body)
	} else if fast != nil {
		t.Fatalf("fast path returned events without accepting the body:\n%q", body)
	}
	got, gotBad, gotErr := decodeJSONArray(bytes.NewReader(body))
	sameEvents(t, "decodeJSONArray", got, want, body)
	if diff := cmp.Diff(wantBad, gotBad); diff != "" {
		t.Fatalf("decodeJSONArray rejected events differ (-encoding/json +got):\n%s\nbody: %q", diff, body)
	}
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && (auditlog.ErrorCode(gotErr) != auditlog.ErrorCode(wantErr) || gotErr.Error() != wantErr.Error()) {
		t.Fatalf("decodeJSONArray error %v, encoding/json's %v\nbody: %q", gotErr, wantErr, body)
	}
	return ok
}

// sameEvents fails unless got and want are equal field by field, and deeply
// (time.Time's location too, which cmp leaves to Time.Equal).
func sameEvents(t *testing.T, name string, got, want []auditlog.Event, body []byte) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s: events differ from encoding/json's (-want +got):\n%s\nbody: %q", name, diff, body)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s: events differ deeply from encoding/json's\nbody: %q", name, body)
	}
}

// fullEvent has every field, in ingestEvent's order.
const fullEvent = `{"organization":{"provider":"gh","name":"acme"},"id":"ev-1","action":"user.login",` +
	`"actor":{"email":"ana@acme.example","role":"organizationAdmin"},"result":"succeed","source":"UI",` +
	`"timestamp":"2026-01-02T03:04:05.678Z","repositoryName":"api","entityId":"ent-1","description":"d",` +
	`"details":{"a":1},"ipAddress":"10.0.0.1","userAgent":"curl/8"}`

// withDetails is an event whose details are d.
func withDetails(d string) string {
	return `[{"organization":{"provider":"gh","name":"acme"},"action":"user.login","actor":{"email":"a@b.c"},"details":` + d + `}]`
}

// withValue is an event whose description is v, JSON text.
func withValue(v string) string {
	return `[{"organization":{"provider":"gh","name":"acme"},"action":"user.login","actor":{"email":"a@b.c"},"description":` + v + `}]`
}

func TestFastJSONArrayAccepts(t *testing.T) {
	spaced := strings.NewReplacer("{", " \t{\r\n ", "}", " }\n", `":`, "\" :\n ", `,"`, "\t,\n\"").Replace(fullEvent)
	for name, body := range map[string]string{
		"full":               "[" + fullEvent + "]",
		"two":                "[" + fullEvent + "," + fullEvent + "]",
		"whitespace":         " \n\t[\r\n" + spaced + " ,\n" + spaced + "\n]\n\t ",
		"minimal":            `[{}]`,
		"empty objects":      `[{"organization":{},"actor":{}}]`,
		"empty strings":      `[{"organization":{"provider":"","name":""},"id":"","action":"","actor":{"email":"","role":""},"result":"","source":"","repositoryName":"","entityId":"","description":"","ipAddress":"","userAgent":""}]`,
		"reordered":          `[{"userAgent":"u","details":[],"actor":{"role":"r","email":"e"},"organization":{"name":"n","provider":"gh"},"timestamp":"2026-01-02T03:04:05Z","action":"a"}]`,
		"unicode":            withValue(`"héllo 日本 🎉 ` + "\u2028\u00a0\x7f\U0010FFFF" + `"`),
		"braces in strings":  withValue(`"{[]} ]{ }"`),
		"timestamp offset":   `[{"timestamp":"2026-01-02T03:04:05.123456789+02:00"}]`,
		"timestamp far":      `[{"timestamp":"9999-12-31T23:59:59.999Z"}]`,
		"details null":       withDetails(`null`),
		"details true":       withDetails(`true`),
		"details false":      withDetails(`false`),
		"details zero":       withDetails(`0`),
		"details number":     withDetails(`-12.5e+3`),
		"details numbers":    withDetails(`[0,-0,1,10,1.5,1e5,1E-5,-0.0e0,123456789012345678901234567890]`),
		"details string":     withDetails(`"a \"quoted\" \\ \/ \b\f\n\r\t \u00e9 \uD83D\uDE00 {["`),
		"details empty obj":  withDetails(`{}`),
		"details empty arr":  withDetails(`[ ]`),
		"details nested":     withDetails(`{"a":{"b":[1,{"c":"}]{["},[],{}],"d":null},"e":[[[["x"]]]]," ":true}`),
		"details spaced":     withDetails(" { \"a\" :\n[ 1 ,\t2 ] , \"b\" : { } } "),
		"details invalid u8": withDetails("\"\xff\xfe\""),
		"details deep":       withDetails(strings.Repeat("[", maxDetailsDepth) + strings.Repeat("]", maxDetailsDepth)),
		"details dup keys":   withDetails(`{"a":1,"a":2}`),
	} {
		t.Run(name, func(t *testing.T) {
			if !checkFastJSONArray(t, []byte(body)) {
				t.Fatalf("fast path refused a body of the common shape:\n%s", body)
			}
		})
	}
	t.Run("bench generator", func(t *testing.T) {
		for seed := range uint64(20) {
			orgs := []auditlog.OrgRef{{Provider: "gh", Name: "org-a"}, {Provider: "gl", Name: "org-b"}}
			g := bench.NewGenerator(seed, orgs, 0.5)
			now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			n := []int{1, 2, 10, 1000}[seed%4]
			b := g.AppendBatch(nil, now, n)
			if !checkFastJSONArray(t, b) {
				t.Fatalf("fast path refused a batch of the bench generator (seed %d)", seed)
			}
		}
	})
	t.Run("most events", func(t *testing.T) {
		body := "[" + strings.Repeat(`{"action":"a"},`, auditlog.MaxBatchEvents-1) + `{"action":"a"}]`
		if !checkFastJSONArray(t, []byte(body)) {
			t.Fatal("fast path refused a batch of MaxBatchEvents events")
		}
	})
}

// TestFastJSONArrayLeaves checks that the fast path leaves what encoding/json
// must word, and that decodeJSONArray then answers as encoding/json does.
func TestFastJSONArrayLeaves(t *testing.T) {
	for name, body := range map[string]string{
		"escape":              withValue(`"a\nb"`),
		"escaped quote":       withValue(`"a\"b"`),
		"unicode escape":      withValue(`"\u00e9"`),
		"control character":   withValue("\"a\tb\""),
		"invalid utf-8":       withValue("\"a\xffb\""),
		"surrogate in utf-8":  withValue("\"\xed\xa0\x80\""),
		"null string":         withValue(`null`),
		"number string":       withValue(`12`),
		"object string":       withValue(`{}`),
		"key case":            `[{"Action":"a"}]`,
		"key case nested":     `[{"organization":{"Provider":"gh"}}]`,
		"duplicate key":       `[{"action":"a","action":"b"}]`,
		"duplicate nested":    `[{"actor":{"email":"a","email":"b"}}]`,
		"duplicate object":    `[{"actor":{},"actor":{"email":"b"}}]`,
		"duplicate details":   `[{"details":1,"details":2}]`,
		"unknown key":         `[{"sequence":1}]`,
		"unknown nested":      `[{"actor":{"name":"x"}}]`,
		"escaped key":         `[{"act\u0069on":"a"}]`,
		"organization null":   `[{"organization":null}]`,
		"organization string": `[{"organization":"gh/acme"}]`,
		"timestamp null":      `[{"timestamp":null}]`,
		"timestamp bad":       `[{"timestamp":"yesterday"}]`,
		"timestamp number":    `[{"timestamp":1700000000}]`,
		"event null":          `[null]`,
		"event array":         `[[]]`,
		"empty array":         `[]`,
		"empty body":          ``,
		"spaces only":         "  \n",
		"object body":         `{"action":"a"}`,
		"ndjson":              `{"action":"a"}` + "\n" + `{"action":"b"}`,
		"trailing data":       `[{}] x`,
		"two arrays":          `[{}][{}]`,
		"trailing comma":      `[{},]`,
		"missing comma":       `[{} {}]`,
		"trailing obj comma":  `[{"action":"a",}]`,
		"unterminated":        `[{"action":"a"}`,
		"unterminated string": `[{"action":"a`,
		"bom":                 "\xef\xbb\xbf[{}]",
		"details leading 0":   withDetails(`01`),
		"details minus":       withDetails(`-`),
		"details dot":         withDetails(`1.`),
		"details exponent":    withDetails(`1e`),
		"details plus":        withDetails(`+1`),
		"details literal":     withDetails(`tru`),
		"details nan":         withDetails(`NaN`),
		"details bad escape":  withDetails(`"\x"`),
		"details short u":     withDetails(`"\u12"`),
		"details control":     withDetails("\"a\nb\""),
		"details open":        withDetails(`{"a":1`),
		"details mismatched":  withDetails(`[1}`),
		"details key number":  withDetails(`{1:2}`),
		"details deep":        withDetails(strings.Repeat("[", maxDetailsDepth+2) + strings.Repeat("]", maxDetailsDepth+2)),
		"details very deep":   withDetails(strings.Repeat("[", 10001) + strings.Repeat("]", 10001)),
		"details missing":     `[{"details":}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if checkFastJSONArray(t, []byte(body)) {
				t.Fatalf("fast path accepted a body it must leave to encoding/json:\n%q", body)
			}
		})
	}
	t.Run("too many events", func(t *testing.T) {
		body := "[" + strings.Repeat(`{"action":"a"},`, auditlog.MaxBatchEvents) + `{"action":"a"}]`
		if checkFastJSONArray(t, []byte(body)) {
			t.Fatal("fast path accepted more than MaxBatchEvents events")
		}
	})
}

// TestDecodeJSONArrayReadError checks that a body cut by a read error (the
// body limit, or another) is answered as encoding/json answers it.
func TestDecodeJSONArrayReadError(t *testing.T) {
	full := []byte("[" + fullEvent + "," + fullEvent + "]")
	for _, n := range []int{0, 1, 10, len(full) / 2, len(full) - 1, len(full)} {
		for name, body := range map[string]func() io.Reader{
			"limit": func() io.Reader { return http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(full)), int64(n)) },
			"error": func() io.Reader { return &errBody{data: full[:n], err: errors.New("connection reset")} },
		} {
			got, gotBad, gotErr := decodeJSONArray(body())
			want, wantBad, wantErr := decodeJSONStream(body())
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && (gotErr.Error() != wantErr.Error() || auditlog.ErrorCode(gotErr) != auditlog.ErrorCode(wantErr)) {
				t.Fatalf("%s at %d: error %v, encoding/json's %v", name, n, gotErr, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s at %d: events differ:\n%s", name, n, diff)
			}
			if diff := cmp.Diff(wantBad, gotBad); diff != "" {
				t.Fatalf("%s at %d: rejected events differ:\n%s", name, n, diff)
			}
		}
	}
}

// errBody reads data a few bytes at a time, then err.
type errBody struct {
	data []byte
	err  error
}

func (b *errBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, b.err
	}
	n := copy(p[:min(len(p), 7)], b.data)
	b.data = b.data[n:]
	return n, nil
}
