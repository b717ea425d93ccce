package http

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/auditlog/auditlog"
)

// fastJSONArray decodes data, a whole JSON array of events, by hand when
// every event has the common shape: an object whose keys are exactly
// ingestEvent's field names, each at most once; strings without escapes or
// invalid UTF-8; "organization" and "actor" objects of their own keys;
// "details" any JSON value, kept verbatim; whitespace wherever JSON allows
// it. Then it returns what decodeJSONStream returns for the same body, with
// no errors; for anything else (an escape, another key or spelling of a key,
// a duplicate key, null, a number for a string, a timestamp that does not
// parse, malformed JSON, no events or too many) ok is false, and the caller
// leaves the whole body to decodeJSONStream, which reports it.
//
// The events share no memory with data: each event's strings are cut from
// one copy of its object's text, and its details are a copy of their own.
func fastJSONArray(data []byte) (events []auditlog.Event, ok bool) {
	s := &ingestScanner{b: data}
	s.space()
	s.byte('[')
	s.space()
	if s.bad || s.peek() == ']' {
		return nil, false // an empty batch is an error: left to encoding/json
	}
	events = make([]auditlog.Event, 0, min(len(data)/256+1, auditlog.MaxBatchEvents))
	for {
		if len(events) == auditlog.MaxBatchEvents {
			return nil, false
		}
		e, ok := s.event()
		if !ok {
			return nil, false
		}
		events = append(events, e)
		s.space()
		if s.peek() != ',' {
			break
		}
		s.i++
		s.space()
	}
	s.byte(']')
	s.space()
	if s.bad || s.i != len(s.b) {
		return nil, false
	}
	return events, true
}

// Fields of an event as fastJSONArray reads them, in the order of ingestEvent's.
const (
	fOrganization = iota
	fID
	fAction
	fActor
	fResult
	fSource
	fTimestamp
	fRepositoryName
	fEntityID
	fDescription
	fDetails
	fIPAddress
	fUserAgent
	fProvider // organization's
	fName     // organization's
	fEmail    // actor's
	fRole     // actor's
	nFields
)

// ingestScanner reads JSON text at b[i:]; any surprise sets bad, after which
// every method does nothing.
type ingestScanner struct {
	b   []byte
	i   int
	bad bool
}

func (s *ingestScanner) peek() byte {
	if s.bad || s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *ingestScanner) byte(c byte) {
	if s.peek() != c {
		s.bad = true
		return
	}
	s.i++
}

// space skips JSON whitespace.
func (s *ingestScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// event reads one event object.
func (s *ingestScanner) event() (auditlog.Event, bool) {
	start := s.i
	var (
		spans [nFields][2]int // each field's bytes in s.b
		seen  uint32          // the fields read
	)
	set := func(f int, span [2]int) {
		if seen&(1<<f) != 0 {
			s.bad = true // a duplicate key: encoding/json keeps the last, left to it
		}
		seen |= 1 << f
		spans[f] = span
	}
	s.object(func(key []byte) {
		switch string(key) {
		case "organization":
			set(fOrganization, [2]int{})
			s.object(func(key []byte) {
				switch string(key) {
				case "provider":
					set(fProvider, s.str())
				case "name":
					set(fName, s.str())
				default:
					s.bad = true
				}
			})
		case "actor":
			set(fActor, [2]int{})
			s.object(func(key []byte) {
				switch string(key) {
				case "email":
					set(fEmail, s.str())
				case "role":
					set(fRole, s.str())
				default:
					s.bad = true
				}
			})
		case "id":
			set(fID, s.str())
		case "action":
			set(fAction, s.str())
		case "result":
			set(fResult, s.str())
		case "source":
			set(fSource, s.str())
		case "timestamp":
			set(fTimestamp, s.str())
		case "repositoryName":
			set(fRepositoryName, s.str())
		case "entityId":
			set(fEntityID, s.str())
		case "description":
			set(fDescription, s.str())
		case "ipAddress":
			set(fIPAddress, s.str())
		case "userAgent":
			set(fUserAgent, s.str())
		case "details":
			from := s.i
			s.value(0)
			set(fDetails, [2]int{from, s.i})
		default:
			s.bad = true // an unknown key, or a known one in another case
		}
	})
	if s.bad {
		return auditlog.Event{}, false
	}
	text := string(s.b[start:s.i]) // the one copy the event's strings share
	str := func(f int) string {
		if seen&(1<<f) == 0 {
			return ""
		}
		return text[spans[f][0]-start : spans[f][1]-start]
	}
	in := ingestEvent{
		Organization:   auditlog.OrgRef{Provider: str(fProvider), Name: str(fName)},
		ID:             str(fID),
		Action:         str(fAction),
		Actor:          auditlog.Actor{Email: str(fEmail), Role: str(fRole)},
		Result:         str(fResult),
		Source:         str(fSource),
		RepositoryName: str(fRepositoryName),
		EntityID:       str(fEntityID),
		Description:    str(fDescription),
		IPAddress:      str(fIPAddress),
		UserAgent:      str(fUserAgent),
	}
	if seen&(1<<fTimestamp) != 0 {
		ts := str(fTimestamp)
		in.Timestamp = &ts
	}
	if seen&(1<<fDetails) != 0 {
		in.Details = json.RawMessage(append([]byte(nil), s.b[spans[fDetails][0]:spans[fDetails][1]]...))
	}
	e, err := in.event()
	if err != nil {
		return auditlog.Event{}, false // a per-event rejection: encoding/json's path words it
	}
	return e, true
}

// object reads a JSON object whose keys are strings without escapes; field
// reads each key's value.
func (s *ingestScanner) object(field func(key []byte)) {
	s.byte('{')
	s.space()
	if s.peek() == '}' {
		s.i++
		return
	}
	for !s.bad {
		key := s.str()
		s.space()
		s.byte(':')
		s.space()
		if s.bad {
			return
		}
		field(s.b[key[0]:key[1]])
		s.space()
		switch s.peek() {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			return
		default:
			s.bad = true
		}
	}
}

// str reads a JSON string without escapes, control characters or invalid
// UTF-8, which encoding/json reads as its bytes, and returns where its
// bytes are in s.b.
func (s *ingestScanner) str() [2]int {
	s.byte('"')
	if s.bad {
		return [2]int{}
	}
	from, ascii := s.i, true
	for i := from; i < len(s.b); i++ {
		c := s.b[i]
		if c == '"' {
			if !ascii && !utf8.Valid(s.b[from:i]) {
				break // encoding/json replaces invalid bytes with U+FFFD: left to it
			}
			s.i = i + 1
			return [2]int{from, i}
		}
		if c == '\\' || c < 0x20 {
			break // an escape, or a control character, which is malformed
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	s.bad = true
	return [2]int{}
}

// maxDetailsDepth bounds the nesting of details that value reads; deeper
// ones are left to encoding/json.
const maxDetailsDepth = 100

// value skips over any JSON value, checking that it is well-formed as
// encoding/json does.
func (s *ingestScanner) value(depth int) {
	if depth > maxDetailsDepth {
		s.bad = true
		return
	}
	switch c := s.peek(); {
	case c == '{':
		s.i++
		s.space()
		if s.peek() == '}' {
			s.i++
			return
		}
		for !s.bad {
			s.anyStr()
			s.space()
			s.byte(':')
			s.space()
			s.value(depth + 1)
			s.space()
			if s.peek() == '}' {
				s.i++
				return
			}
			s.byte(',')
			s.space()
		}
	case c == '[':
		s.i++
		s.space()
		if s.peek() == ']' {
			s.i++
			return
		}
		for !s.bad {
			s.value(depth + 1)
			s.space()
			if s.peek() == ']' {
				s.i++
				return
			}
			s.byte(',')
			s.space()
		}
	case c == '"':
		s.anyStr()
	case c == '-' || c >= '0' && c <= '9':
		s.number()
	case c == 't':
		s.lit("true")
	case c == 'f':
		s.lit("false")
	case c == 'n':
		s.lit("null")
	default:
		s.bad = true
	}
}

// anyStr skips over a JSON string, escapes and all.
func (s *ingestScanner) anyStr() {
	s.byte('"')
	for !s.bad {
		if s.i >= len(s.b) {
			s.bad = true
			return
		}
		c := s.b[s.i]
		s.i++
		switch {
		case c == '"':
			return
		case c < 0x20:
			s.bad = true
		case c == '\\':
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if !isHex(s.peek()) {
						s.bad = true
						return
					}
					s.i++
				}
			default:
				s.bad = true
			}
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number skips over a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *ingestScanner) number() {
	digits := func() int {
		n := 0
		for c := s.peek(); c >= '0' && c <= '9'; c = s.peek() {
			s.i++
			n++
		}
		return n
	}
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		digits()
	default:
		s.bad = true
		return
	}
	if s.peek() == '.' {
		s.i++
		if digits() == 0 {
			s.bad = true
			return
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if digits() == 0 {
			s.bad = true
		}
	}
}

func (s *ingestScanner) lit(l string) {
	if s.bad || len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		s.bad = true
		return
	}
	s.i += len(l)
}
