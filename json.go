package auditlog

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeFormat is how every timestamp is written: UTC, millisecond precision.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime writes t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// MarshalJSON writes the event in its v1 form. An event not yet stored (zero
// ReceivedAt) is written without sequence and receivedAt, as a client sends it.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 512)), nil
}

// AppendJSON appends the event's v1 JSON form to b.
func (e *Event) AppendJSON(b []byte) []byte {
	stored := !e.ReceivedAt.IsZero()
	b = append(b, `{"organization":{"provider":`...)
	b = AppendJSONString(b, e.Organization.Provider)
	b = append(b, `,"name":`...)
	b = AppendJSONString(b, e.Organization.Name)
	b = append(b, '}')
	if stored {
		b = append(b, `,"sequence":`...)
		b = strconv.AppendInt(b, e.Sequence, 10)
	}
	if e.ID != "" {
		b = append(b, `,"id":`...)
		b = AppendJSONString(b, e.ID)
	}
	b = append(b, `,"action":`...)
	b = AppendJSONString(b, e.Action)
	b = append(b, `,"actor":`...)
	b = e.Actor.appendJSON(b)
	b = append(b, `,"result":`...)
	b = AppendJSONString(b, e.Result)
	b = append(b, `,"source":`...)
	b = AppendJSONString(b, e.Source)
	if !e.Timestamp.IsZero() {
		b = append(b, `,"timestamp":`...)
		b = AppendJSONTime(b, e.Timestamp)
	}
	if stored {
		b = append(b, `,"receivedAt":`...)
		b = AppendJSONTime(b, e.ReceivedAt)
	}
	b = append(b, `,"repositoryName":`...)
	b = AppendJSONString(b, e.RepositoryName)
	b = append(b, `,"entityId":`...)
	b = AppendJSONString(b, e.EntityID)
	b = append(b, `,"description":`...)
	b = AppendJSONString(b, e.Description)
	b = append(b, `,"details":`...)
	b = e.AppendDetails(b)
	b = append(b, `,"ipAddress":`...)
	b = AppendJSONString(b, e.IPAddress)
	b = append(b, `,"userAgent":`...)
	b = AppendJSONString(b, e.UserAgent)
	return append(b, '}')
}

func (a Actor) appendJSON(b []byte) []byte {
	b = append(b, `{"email":`...)
	b = AppendJSONString(b, a.Email)
	if a.Role != "" {
		b = append(b, `,"role":`...)
		b = AppendJSONString(b, a.Role)
	}
	return append(b, '}')
}

// AppendDetails appends the event's details object, {} when it has none.
func (e *Event) AppendDetails(b []byte) []byte {
	if len(e.Details) == 0 {
		return append(b, "{}"...)
	}
	return append(b, e.Details...)
}

// AppendJSONTime appends t as a JSON string in TimeFormat.
func AppendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeFormat)
	return append(b, '"')
}

// AppendJSONString appends s as a JSON string, escaping only what RFC 8259
// requires (quote, backslash, control characters) and replacing invalid UTF-8.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// UnmarshalJSON reads an event in its v1 form.
func (e *Event) UnmarshalJSON(data []byte) error {
	type plain Event // without methods, so json does not recurse
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*e = Event(p)
	if string(e.Details) == "{}" || string(e.Details) == "null" {
		e.Details = nil
	}
	return nil
}

// AppendCodacyJSON appends the event in Codacy's AuditLog shape (the /api/v3
// read): exactly its fields, no others.
func (e *Event) AppendCodacyJSON(b []byte) []byte {
	b = append(b, `{"actor":{"email":`...)
	b = AppendJSONString(b, e.Actor.Email)
	if e.Actor.Role != "" {
		b = append(b, `,"role":`...)
		b = AppendJSONString(b, e.Actor.Role)
	}
	b = append(b, `},"action":`...)
	b = AppendJSONString(b, e.Action)
	b = append(b, `,"result":`...)
	b = AppendJSONString(b, e.Result)
	b = append(b, `,"timestamp":`...)
	b = AppendJSONTime(b, e.Timestamp)
	b = append(b, `,"source":`...)
	b = AppendJSONString(b, e.Source)
	b = append(b, `,"repositoryName":`...)
	b = AppendJSONString(b, e.RepositoryName)
	b = append(b, `,"description":`...)
	b = AppendJSONString(b, e.Description)
	b = append(b, `,"details":`...)
	b = e.AppendDetails(b)
	b = append(b, `,"entityId":`...)
	b = AppendJSONString(b, e.EntityID)
	return append(b, '}')
}
