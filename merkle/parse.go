package merkle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog"
)

// parseBundleLine reads one event line of a bundle. Lines exactly as
// AppendBundleLine writes them take a fast path that reads the fields in
// their fixed order; any other valid JSON line is read with encoding/json.
// Both give the same result for the same line.
func parseBundleLine(line []byte) (*BundleLine, error) {
	if l, ok := fastBundleLine(line); ok {
		return l, nil
	}
	var l struct {
		Event        *eventJSON   `json:"event"`
		Purged       *PurgedEvent `json:"purged"`
		Proof        [][]byte     `json:"proof"`
		Salt         []byte       `json:"salt"`
		PersonalHash []byte       `json:"personalHash"`
	}
	if err := json.Unmarshal(line, &l); err != nil {
		return nil, err
	}
	proof := make([][32]byte, len(l.Proof))
	for i, p := range l.Proof {
		if len(p) != 32 {
			return nil, errors.New("a proof hash is not 32 bytes")
		}
		proof[i] = [32]byte(p)
	}
	canonical := func(want []byte) bool { return bytes.Equal(want, append(bytes.TrimRight(line, "\n"), '\n')) }
	if p := l.Purged; p != nil && l.Event == nil {
		if len(p.LeafHash) != 32 || !canonical(AppendPurgedLine(nil, p.Sequence, [32]byte(p.LeafHash), proof)) {
			return nil, errors.New("not a canonical purged-event line")
		}
		return &BundleLine{Purged: p, Proof: l.Proof}, nil
	}
	if l.Event == nil || l.Purged != nil {
		return nil, errors.New("a line holds either an event or a purged event")
	}
	e := auditlog.Event(*l.Event)
	if string(e.Details) == "{}" {
		e.Details = nil
	}
	bl := &BundleLine{Event: &e, Proof: l.Proof, Salt: l.Salt, PersonalHash: l.PersonalHash}
	// JSON can be read more than one way (key case, duplicate keys, unknown
	// fields, other spellings of the same value). Only the canonical line,
	// the one the server writes, is accepted, so that what any JSON reader
	// shows is what was verified.
	e.Salt, e.PersonalHash = l.Salt, l.PersonalHash
	if !canonical(AppendBundleLine(nil, &e, proof)) {
		return nil, errors.New("the line is not in the canonical form the server writes (field order, spelling or extra fields differ)")
	}
	return bl, nil
}

// eventJSON is auditlog.Event without its JSON methods.
type eventJSON auditlog.Event

// scanner reads the fixed layout of AppendBundleLine; any surprise sets bad.
// It works on one string holding the line, so that the event's strings share
// its memory.
type scanner struct {
	b   string
	bad bool
}

func (s *scanner) lit(l string) {
	if s.bad || !strings.HasPrefix(s.b, l) {
		s.bad = true
		return
	}
	s.b = s.b[len(l):]
}

// str reads a JSON string without escapes (a string with any falls back to encoding/json).
func (s *scanner) str() string {
	if s.bad || len(s.b) == 0 || s.b[0] != '"' {
		s.bad = true
		return ""
	}
	for i := 1; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			v := s.b[1:i]
			s.b = s.b[i+1:]
			return v
		case c == '\\' || c < 0x20:
			s.bad = true
			return ""
		}
	}
	s.bad = true
	return ""
}

// int reads a non-negative integer in canonical form (no sign, no leading zero).
func (s *scanner) int() int64 {
	i := 0
	for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s.b[:i], 10, 64)
	if s.bad || err != nil || i > 1 && s.b[0] == '0' {
		s.bad = true
		return 0
	}
	s.b = s.b[i:]
	return n
}

// time reads a string in auditlog.TimeFormat, 2006-01-02T15:04:05.000Z.
func (s *scanner) time() time.Time {
	v := s.str()
	if s.bad || len(v) != len(auditlog.TimeFormat) || v[4] != '-' || v[7] != '-' || v[10] != 'T' ||
		v[13] != ':' || v[16] != ':' || v[19] != '.' || v[23] != 'Z' {
		s.bad = true
		return time.Time{}
	}
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := v[i]
			if c < '0' || c > '9' {
				s.bad = true
				return 0
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, min, sec, ms := num(11, 13), num(14, 16), num(17, 19), num(20, 23)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59 {
		s.bad = true // leave odd values to encoding/json, which rejects them too
		return time.Time{}
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, ms*1e6, time.UTC)
	if t.Day() != day {
		s.bad = true // e.g. February 30
	}
	return t
}

// object reads a JSON object verbatim (the details), skipping over strings.
func (s *scanner) object() string {
	if s.bad || len(s.b) == 0 || s.b[0] != '{' {
		s.bad = true
		return ""
	}
	depth, inStr := 0, false
	for i := 0; i < len(s.b); i++ {
		c := s.b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				v := s.b[:i+1]
				s.b = s.b[i+1:]
				if !json.Valid([]byte(v)) {
					s.bad = true
				}
				return v
			}
		}
	}
	s.bad = true
	return ""
}

// hashes reads the elements of a JSON array of base64 SHA-256 hashes, up to
// the closing bracket, into one backing array.
func (s *scanner) hashes() [][]byte {
	end := strings.IndexByte(s.b, ']')
	if s.bad || end < 0 {
		s.bad = true
		return nil
	}
	n := (end + 1) / 47 // "<44 characters>",
	buf := make([]byte, 32*n)
	out := make([][]byte, 0, n)
	for len(s.b) > 0 && s.b[0] != ']' && !s.bad {
		if len(out) > 0 {
			s.lit(",")
		}
		v := s.str()
		if s.bad || len(out) == n || base64.StdEncoding.DecodedLen(len(v)) != 33 {
			s.bad = true
			return nil
		}
		h := buf[32*len(out) : 32*len(out)+32 : 32*len(out)+32]
		var tmp [33]byte
		if k, err := base64.StdEncoding.Strict().Decode(tmp[:], []byte(v)); err != nil || k != 32 {
			s.bad = true
			return nil
		}
		copy(h, tmp[:32])
		out = append(out, h)
	}
	return out
}

func (s *scanner) base64() []byte {
	v := s.str()
	if s.bad {
		return nil
	}
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil {
		s.bad = true
	}
	return b
}

func fastBundleLine(line []byte) (*BundleLine, bool) {
	if !utf8.Valid(line) {
		return nil, false
	}
	s := &scanner{b: string(bytes.TrimRight(line, "\n"))}
	e := &auditlog.Event{}
	s.lit(`{"event":{"organization":{"provider":`)
	e.Organization.Provider = s.str()
	s.lit(`,"name":`)
	e.Organization.Name = s.str()
	s.lit(`},"sequence":`)
	e.Sequence = s.int()
	s.lit(`,"id":`)
	e.ID = s.str()
	s.lit(`,"action":`)
	e.Action = s.str()
	s.lit(`,"actor":{"email":`)
	e.Actor.Email = s.str()
	if strings.HasPrefix(s.b, `,"role":`) {
		s.lit(`,"role":`)
		e.Actor.Role = s.str()
	}
	s.lit(`},"result":`)
	e.Result = s.str()
	s.lit(`,"source":`)
	e.Source = s.str()
	s.lit(`,"timestamp":`)
	e.Timestamp = s.time()
	s.lit(`,"receivedAt":`)
	e.ReceivedAt = s.time()
	s.lit(`,"repositoryName":`)
	e.RepositoryName = s.str()
	s.lit(`,"entityId":`)
	e.EntityID = s.str()
	s.lit(`,"description":`)
	e.Description = s.str()
	s.lit(`,"details":`)
	if d := s.object(); d != "{}" {
		e.Details = []byte(d)
	}
	s.lit(`,"ipAddress":`)
	e.IPAddress = s.str()
	s.lit(`,"userAgent":`)
	e.UserAgent = s.str()
	s.lit(`},"proof":[`)
	l := &BundleLine{Event: e}
	l.Proof = s.hashes()
	s.lit("]")
	switch {
	case strings.HasPrefix(s.b, `,"salt":`):
		s.lit(`,"salt":`)
		l.Salt = s.base64()
	case strings.HasPrefix(s.b, `,"personalHash":`):
		s.lit(`,"personalHash":`)
		l.PersonalHash = s.base64()
	}
	s.lit("}")
	if s.bad || len(strings.TrimSpace(s.b)) != 0 {
		return nil, false
	}
	return l, true
}
