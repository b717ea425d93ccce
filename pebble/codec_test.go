package pebble

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
)

var codecNow = time.Date(2025, 6, 28, 14, 29, 13, 430e6, time.UTC)

// codecEvent returns a stored-form event: normalized, valid, with its receipt time.
func codecEvent(tb testing.TB, mod func(e *auditlog.Event)) auditlog.Event {
	tb.Helper()
	e := auditlog.Event{
		Organization: auditlog.OrgRef{Provider: "gh", Name: "acme"},
		Action:       "user.login",
		Actor:        auditlog.Actor{Email: "alice@example.com"},
		Timestamp:    codecNow.Add(-time.Hour),
		ID:           "id-1",
	}
	mod(&e)
	e.Normalize(codecNow)
	if err := e.Validate(codecNow); err != nil {
		tb.Fatalf("test event is invalid: %v", err)
	}
	e.ReceivedAt = codecNow
	e.Salt = []byte("0123456789abcdef")
	e.Organization = auditlog.OrgRef{} // in the key, not the value
	return e
}

// roundTrip encodes e and decodes it as an event key's value would be.
func roundTrip(tb testing.TB, e auditlog.Event, seq int64) (auditlog.Event, []byte) {
	tb.Helper()
	v := encodeEvent(nil, &e)
	var got auditlog.Event
	if err := decodeEvent(&got, e.Timestamp.UnixMilli(), seq, v); err != nil {
		tb.Fatalf("decode %x: %v", v, err)
	}
	return got, v
}

func TestCodec_RoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(e *auditlog.Event)
	}{
		{"minimal", func(e *auditlog.Event) {}},
		{"every field", func(e *auditlog.Event) {
			e.Action = "repositories.tools.update"
			e.Actor = auditlog.Actor{Email: "zoë@example.com", Role: auditlog.RoleRepositoryAdmin}
			e.Result, e.Source = auditlog.ResultRejected, auditlog.SourceAPI
			e.RepositoryName, e.EntityID = "リポジトリ", "tool-42"
			e.Description = "ünïcode ✓\nline"
			e.Details = json.RawMessage(`{"b":[1,2.5e3,null],"a":{"x":"🙂"}}`)
			e.IPAddress, e.UserAgent = "2001:db8::1", "curl/8"
		}},
		{"every result", func(e *auditlog.Event) { e.Result = auditlog.ResultFailed }},
		{"every role", func(e *auditlog.Event) { e.Actor.Role = auditlog.RoleOrganizationManager }},
		{"last catalog action", func(e *auditlog.Event) {
			actions := auditlog.Actions()
			e.Action = actions[len(actions)-1].Name
		}},
		{"catalog description, given", func(e *auditlog.Event) { e.Description = "User logged in to Codacy" }},
		{"another action's description", func(e *auditlog.Event) { e.Description = "Organization added to Codacy" }},
		{"canonical UUID id", func(e *auditlog.Event) { e.ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" }},
		{"upper-case UUID id", func(e *auditlog.Event) { e.ID = "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B" }},
		{"UUID-shaped id with extra dashes", func(e *auditlog.Event) { e.ID = "--a1b2c3-c3d4-7e5f-8a9b-0c1d2e3f4a5b" }},
		{"UUID-shaped id with a dash at the end", func(e *auditlog.Event) { e.ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a-b" }},
		{"36 dashes", func(e *auditlog.Event) { e.ID = strings.Repeat("-", 36) }},
		{"server id", func(e *auditlog.Event) { e.ID = auditlog.NewEventID(codecNow) }},
		{"longest id", func(e *auditlog.Event) { e.ID = strings.Repeat("x", auditlog.MaxIDLength) }},
		{"timestamp after receipt", func(e *auditlog.Event) { e.Timestamp = codecNow.Add(5 * time.Minute) }},
		{"timestamp at the epoch", func(e *auditlog.Event) { e.Timestamp = time.Unix(0, 0) }},
		{"large details", func(e *auditlog.Event) {
			e.Details = json.RawMessage(`{"a":"` + strings.Repeat("x", auditlog.MaxDetailsBytes-8) + `"}`)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := codecEvent(t, tt.mod)
			want.Sequence = 1 << 40
			got, _ := roundTrip(t, want, want.Sequence)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCodec_DecodedEventOwnsItsMemory(t *testing.T) {
	// A decoded event's fields share one copy of the stored value: the value
	// (an iterator's buffer, reused) may change after, and appending to the
	// event's byte slices must not write over its other fields.
	for _, id := range []string{"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "evt-1"} {
		want := codecEvent(t, func(e *auditlog.Event) {
			e.ID, e.Actor.Email, e.IPAddress, e.UserAgent = id, "ana@acme.example", "10.0.0.1", "curl/8"
			e.Details = json.RawMessage(`{"a":1}`)
		})
		want.Sequence = 7
		got, v := roundTrip(t, want, 7)
		for i := range v {
			v[i] = 0xff
		}
		_ = append(got.Details, `,"b":2}`...)
		_ = append(got.Salt, 1, 2, 3)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("id %s: after its value was overwritten and its slices appended to (-want +got):\n%s", id, diff)
		}
	}
}

func TestCodec_Erased(t *testing.T) {
	want := codecEvent(t, func(e *auditlog.Event) { e.IPAddress, e.UserAgent = "10.0.0.1", "curl" })
	personal, _ := want.Personal()
	if err := want.Erase(); err != nil {
		t.Fatal(err)
	}
	got, _ := roundTrip(t, want, 3)
	want.Sequence = 3
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if p, _ := got.Personal(); p != personal || got.Actor.Email != auditlog.Redacted || got.Salt != nil {
		t.Errorf("erased event decoded as %+v", got)
	}
}

func TestCodec_Size(t *testing.T) {
	// Catalog descriptions and canonical UUIDs are stored compactly.
	e := codecEvent(t, func(e *auditlog.Event) { e.ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" })
	_, v := roundTrip(t, e, 0)
	if len(v) > 48+auditlog.SaltSize {
		t.Errorf("a minimal event with a UUID takes %d bytes: %x", len(v), v)
	}
}

func TestDecodeEvent_Corrupt(t *testing.T) {
	valid := encodeEvent(nil, ptrTo(codecEvent(t, func(e *auditlog.Event) {
		e.ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
		e.Description = "custom"
		e.Details = json.RawMessage(`{"a":1}`)
	})))
	header := func(action uint64, flags, role byte) []byte {
		b := binary.AppendUvarint([]byte{codecVersion}, action)
		return append(b, flags, role, 0)
	}
	cases := map[string][]byte{
		"nil":                      nil,
		"empty":                    {},
		"version 0":                append([]byte{0}, valid[1:]...),
		"version 2":                append([]byte{2}, valid[1:]...),
		"unknown action":           append(header(10_000, 0, 0), valid[5:]...),
		"huge action":              append(header(1<<63, 0, 0), valid[5:]...),
		"result 3":                 append(header(0, 3, 0), valid[5:]...),
		"unknown role":             append(header(0, 0, byte(len(roleCodes))), valid[5:]...),
		"role 255":                 append(header(0, 0, 255), valid[5:]...),
		"truncated uuid":           append(header(0, flagUUID, 0), 1, 2, 3),
		"string longer than value": append(header(0, 0, 0), 100, 'x'),
		"huge string length":       append(header(0, 0, 0), binary.AppendUvarint(nil, 1<<63)...),
		"overlong varint":          append([]byte{codecVersion}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	}
	// Every strict prefix of a valid value is corrupt.
	for n := range len(valid) {
		cases["prefix "+string(rune('0'+n/10))+string(rune('0'+n%10))] = valid[:n]
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			var e auditlog.Event
			if err := decodeEvent(&e, 0, 0, v); err == nil {
				t.Errorf("decoded %x without error: %+v", v, e)
			}
		})
	}

	// Flipped bits anywhere: an error or another event, never a panic.
	for i := range valid {
		for _, x := range []byte{0x01, 0x08, 0x10, 0x80, 0xff} {
			v := append([]byte(nil), valid...)
			v[i] ^= x
			var e auditlog.Event
			_ = decodeEvent(&e, 0, 0, v)
		}
	}
}

func TestParseUUID(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", false}, // not canonical: kept as a string
		{"--a1b2c3-c3d4-7e5f-8a9b-0c1d2e3f4a5b", false},
		{"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a-b", false},
		{strings.Repeat("-", 36), false},
		{"0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", false},
		{"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", false},
		{"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", false},
		{"", false},
	} {
		u, ok := parseUUID(tt.s)
		if ok != tt.ok {
			t.Errorf("parseUUID(%q) ok = %v, want %v", tt.s, ok, tt.ok)
			continue
		}
		if ok && auditlog.FormatUUID(u[:]) != tt.s {
			t.Errorf("parseUUID(%q) = %s", tt.s, auditlog.FormatUUID(u[:]))
		}
	}
}

// FuzzDecodeEvent: decoding any value never panics, and an event that decodes
// encodes to a value that decodes to the same event.
func FuzzDecodeEvent(f *testing.F) {
	for _, mod := range []func(e *auditlog.Event){
		func(e *auditlog.Event) {},
		func(e *auditlog.Event) {
			e.ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
			e.Result, e.Source, e.Actor.Role = auditlog.ResultFailed, auditlog.SourceAPI, auditlog.RoleOrganizationAdmin
			e.Description, e.Details = "custom", json.RawMessage(`{"k":"v"}`)
			e.IPAddress, e.UserAgent, e.RepositoryName, e.EntityID = "10.0.0.1", "ua", "repo", "ent"
		},
	} {
		e := codecEvent(f, mod)
		f.Add(e.Timestamp.UnixMilli(), int64(7), encodeEvent(nil, &e))
	}
	f.Add(int64(0), int64(0), []byte{})
	f.Add(int64(-1), int64(-1), []byte{codecVersion, 0, flagUUID, 0, 0, 1, 2})
	f.Add(int64(1<<62), int64(1), []byte{codecVersion, 0x80, 0x80, 0x80})

	f.Fuzz(func(t *testing.T, ts, seq int64, v []byte) {
		var e auditlog.Event
		if err := decodeEvent(&e, ts, seq, v); err != nil {
			return
		}
		again := encodeEvent(nil, &e)
		var got auditlog.Event
		if err := decodeEvent(&got, ts, seq, again); err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", e, err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Fatalf("re-encoding changed the event (-first +second):\n%s", diff)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }
