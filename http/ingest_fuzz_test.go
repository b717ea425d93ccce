package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/auditlog/auditlog"
)

// FuzzDecodeIngest feeds arbitrary bodies to both ingest decoders: they must
// never panic; an error is a coded *auditlog.Error whose status is 4xx; an
// event either failed to decode, with a reason, or encodes to JSON that reads back.
// A JSON array that fastJSONArray accepts decodes to exactly the events
// encoding/json gives, and decodeJSONArray answers any body as encoding/json
// does (checkFastJSONArray).
func FuzzDecodeIngest(f *testing.F) {
	f.Add([]byte(`[{"organization":{"provider":"gh","name":"acme"},"action":"user.login","actor":{"email":"ana@acme.example"}}]`))
	f.Add([]byte(`{"organization":{"provider":"gh","name":"acme"},"action":"user.login","actor":{"email":"ana@acme.example"}}` + "\n"))
	f.Add([]byte("[" + fullEvent + "," + fullEvent + "]"))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastJSONArray(t, body)
		for name, decode := range map[string]func([]byte) ([]auditlog.Event, []auditlog.EventError, error){
			"array": func(b []byte) ([]auditlog.Event, []auditlog.EventError, error) {
				return decodeJSONArray(bytes.NewReader(b))
			},
			"ndjson": func(b []byte) ([]auditlog.Event, []auditlog.EventError, error) {
				return decodeNDJSON(bytes.NewReader(b))
			},
		} {
			events, bad, err := decode(body)
			if err != nil {
				var e *auditlog.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %v is not an *auditlog.Error", name, err)
				}
				if st, ok := errorStatus[e.Code]; !ok || st.status < 400 || st.status > 499 {
					t.Fatalf("%s: error code %q is not a 4xx: %v", name, e.Code, err)
				}
				if events != nil || bad != nil {
					t.Fatalf("%s: events returned along with error %v", name, err)
				}
				continue
			}
			if len(events) == 0 || len(events) > auditlog.MaxBatchEvents {
				t.Fatalf("%s: %d events without an error", name, len(events))
			}
			failed := map[int]bool{}
			for _, b := range bad {
				if b.Index < 0 || b.Index >= len(events) || b.Reason == "" || failed[b.Index] {
					t.Fatalf("%s: bad event report %+v of %d events", name, b, len(events))
				}
				failed[b.Index] = true
			}
			for i := range events {
				if failed[i] {
					continue
				}
				data, err := json.Marshal(events[i])
				if err != nil {
					t.Fatalf("%s: event %d does not encode: %v", name, i, err)
				}
				var back auditlog.Event
				if err := json.Unmarshal(data, &back); err != nil {
					t.Fatalf("%s: event %d encodes to JSON that does not read back: %v\n%s", name, i, err, data)
				}
			}
		}
	})
}
