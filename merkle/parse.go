package merkle

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"time"
	"unsafe"

	"github.com/auditlog/auditlog"
)

// bundleLine is one parsed line of a bundle: an event, or a purged event's
// sequence and leaf hash, with the text of its inclusion proof. A verifier
// reuses one for every line. Read by the fast path, the event's strings
// share the memory of the line: a bundleLine holds only until the next line
// is read.
type bundleLine struct {
	event    auditlog.Event
	purged   bool
	sequence int64    // a purged event's
	leafHash [32]byte // a purged event's
	// proof is the text between the proof's brackets, `"<base64>",...`.
	proof []byte
	// salt and personalHash back event.Salt or event.PersonalHash.
	salt         [auditlog.SaltSize]byte
	personalHash [32]byte
	dates        dateCache // the fast path's, from line to line
}

// parseBundleLine reads one line of a bundle into l with encoding/json, for
// the lines that fastBundleLine leaves: the line must be exactly what
// AppendBundleLine or AppendPurgedLine writes.
func parseBundleLine(line []byte, l *bundleLine) error {
	var j struct {
		Event        *eventJSON   `json:"event"`
		Purged       *PurgedEvent `json:"purged"`
		Proof        [][]byte     `json:"proof"`
		Salt         []byte       `json:"salt"`
		PersonalHash []byte       `json:"personalHash"`
	}
	if err := json.Unmarshal(line, &j); err != nil {
		return err
	}
	proof := make([][32]byte, len(j.Proof))
	for i, p := range j.Proof {
		if len(p) != 32 {
			return errors.New("a proof hash is not 32 bytes")
		}
		proof[i] = [32]byte(p)
	}
	l.proof = appendProofText(nil, proof) // not l.proof's memory, which may be the read buffer's or the verified chain's
	// want ends with its newline; line, the last of a bundle, may not. (line
	// is the read buffer's, or a read-only mapping's: it is not written.)
	canonical := func(want []byte) bool { return bytes.Equal(want[:len(want)-1], bytes.TrimRight(line, "\n")) }
	if p := j.Purged; p != nil && j.Event == nil {
		if len(p.LeafHash) != 32 || !canonical(AppendPurgedLine(nil, p.Sequence, [32]byte(p.LeafHash), proof)) {
			return errors.New("not a canonical purged-event line")
		}
		l.purged, l.sequence, l.leafHash = true, p.Sequence, [32]byte(p.LeafHash)
		return nil
	}
	if j.Event == nil || j.Purged != nil {
		return errors.New("a line holds either an event or a purged event")
	}
	e := auditlog.Event(*j.Event)
	if string(e.Details) == "{}" {
		e.Details = nil
	}
	// JSON can be read more than one way (key case, duplicate keys, unknown
	// fields, other spellings of the same value). Only the canonical line,
	// the one the server writes, is accepted, so that what any JSON reader
	// shows is what was verified.
	e.Salt, e.PersonalHash = j.Salt, j.PersonalHash
	if !canonical(AppendBundleLine(nil, &e, proof)) {
		return errors.New("the line is not in the canonical form the server writes (field order, spelling or extra fields differ)")
	}
	l.purged, l.event = false, e
	return nil
}

// appendProofText appends the text AppendBundleLine writes between a proof's brackets.
func appendProofText(b []byte, p [][32]byte) []byte {
	for i, h := range p {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendBase64(b, h[:])
	}
	return b
}

// eventJSON is auditlog.Event without its JSON methods.
type eventJSON auditlog.Event

// The scanner reads the fixed layout of AppendBundleLine: each of its
// functions reads one value at the start of b and returns it with the rest
// of b, or, at any surprise, with a nil rest, on which every later one fails
// too. So a line is read with its state in registers, and checked once, at
// its end.
//
// It reads a string's bytes as its value, which is right when the string
// has no escapes: fastBundleLine leaves a line with a backslash outside its
// proof to encoding/json. It does not insist on the writer's other spellings (a raw
// control character or U+2028, invalid UTF-8): such a value reads the same
// in any JSON reader that accepts it, and its bytes must still be the ones
// the leaf committed, which the server had made valid UTF-8.
//
// The strings it returns share the line's memory (unsafeString): a verifier
// reads, hashes and drops them before it reads the next line into the same
// buffer, so that millions of lines are verified without copying each one.
// (A rest that is empty but not nil is the end of the bundle.)

// lit reads the literal l. Inlined with l a constant, it compares l's
// bytes eight at a time, the last eight overlapping those before, against
// the constant's memory: a string comparison longer than eight bytes would
// call runtime.memequal, which costs more than the comparison itself.
func lit(b []byte, l string) []byte {
	n := len(l)
	if len(b) < n {
		return nil
	}
	if n < 8 {
		if string(b[:n]) != l {
			return nil
		}
		return b[n:]
	}
	for i := 0; i < n; i += 8 {
		j := min(i, n-8)
		if binary.LittleEndian.Uint64(b[j:]) != word(l, j) {
			return nil
		}
	}
	return b[n:]
}

// word returns the eight bytes of s at i, little-endian, read where they
// are (a string's bytes are never written).
func word(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), len(s))[i:])
}

// str reads a JSON string up to the next quote, as its value: right when
// the string has no escapes, which fastBundleLine makes sure of when it has
// read the event (a line with a backslash or a newline there is left to the
// general path), rather than looking for them in every string.
func str(b []byte) (string, []byte) {
	if len(b) == 0 || b[0] != '"' {
		return "", nil
	}
	// The values are short: eight bytes at a time beats a call of
	// bytes.IndexByte (or of an AVX-512 comparison of 64 bytes, which
	// was measured too).
	i := 1
	for ; i+8 <= len(b); i += 8 {
		if m := quotes8(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			i += bits.TrailingZeros64(m) / 8
			return unsafeString(b[1:i]), b[i+1:]
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '"' {
			return unsafeString(b[1:i]), b[i+1:]
		}
	}
	return "", nil
}

// quotes8 marks, with its high bit, each byte of x (eight bytes, the first
// lowest) that may be a quote; the lowest marked byte is the first quote,
// if any (higher marks may be false).
func quotes8(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	y := x ^ (ones * '"')
	return (y - ones) &^ y & highs
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// integer reads a non-negative integer in canonical form (no sign, no
// leading zero) of at most 18 digits, which cannot overflow; a longer one (no
// tree reaches 10^18 events) is left to the general path.
func integer(b []byte) (int64, []byte) {
	var n int64
	i := 0
	for ; i < len(b) && i <= 18 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	if i == 0 || i > 18 || i > 1 && b[0] == '0' {
		return 0, nil
	}
	return n, b[i:]
}

// dateCache remembers the last date a timestamp held, and its day from
// 1970-01-01: a bundle's timestamps mostly share their date with the one
// before. Its zero value is empty.
type dateCache struct {
	date [2]uint64 // the date's ten characters, as timestamp reads them
	days int64
}

// timestamp reads a string in auditlog.TimeFormat, 2006-01-02T15:04:05.000Z,
// eight characters at a time: each word's separators must be the format's,
// and its other bytes digits. A date that dc holds is not worked out again.
func timestamp(b []byte, dc *dateCache) (time.Time, []byte) {
	v, rest := fixed(b, len(auditlog.TimeFormat))
	if rest == nil {
		return time.Time{}, nil
	}
	w0, w1, w2 := binary.LittleEndian.Uint64(v), binary.LittleEndian.Uint64(v[8:]), binary.LittleEndian.Uint64(v[16:])
	if !timeWord(w0, 0) || !timeWord(w1, 1) || !timeWord(w2, 2) {
		return time.Time{}, nil
	}
	date := [2]uint64{w0, w1 & 0xffff}
	// Each byte of w0, w1 and w2 now holds a digit's value, or zero.
	w0, w1, w2 = w0&0x0f0f0f0f0f0f0f0f, w1&0x0f0f0f0f0f0f0f0f, w2&0x0f0f0f0f0f0f0f0f
	d := func(w uint64, i int) int { return int(w >> (8 * i) & 0xff) }
	if date != dc.date {
		year := d(w0, 0)*1000 + d(w0, 1)*100 + d(w0, 2)*10 + d(w0, 3)
		month, day := d(w0, 5)*10+d(w0, 6), d(w1, 0)*10+d(w1, 1)
		if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
			return time.Time{}, nil // leave odd values to encoding/json, which rejects them too
		}
		dc.date, dc.days = date, civilDays(year, month, day)
	}
	hour, min, sec := d(w1, 3)*10+d(w1, 4), d(w1, 6)*10+d(w1, 7), d(w2, 1)*10+d(w2, 2)
	ms := d(w2, 4)*100 + d(w2, 5)*10 + d(w2, 6)
	if hour > 23 || min > 59 || sec > 59 {
		return time.Time{}, nil
	}
	// As time.Date(…, time.UTC) would give, in a fraction of its time.
	return time.UnixMilli(dc.days*86_400_000 + int64(((hour*60+min)*60+sec)*1000+ms)).UTC(), rest
}

// timeSeps is auditlog.TimeFormat in three words of eight bytes (the first
// lowest), with zero where a digit goes; timeDigits has 0xff there.
var timeSeps, timeDigits = func() (seps, digits [3]uint64) {
	for i, c := range []byte(auditlog.TimeFormat) {
		if c >= '0' && c <= '9' {
			digits[i/8] |= 0xff << (8 * (i % 8))
		} else {
			seps[i/8] |= uint64(c) << (8 * (i % 8))
		}
	}
	return seps, digits
}()

// timeWord reports whether word k of a timestamp, w, holds the format's
// separators where it has them, and ASCII digits elsewhere.
func timeWord(w uint64, k int) bool {
	const ones, highs, threes = 0x0101010101010101, 0xf0f0f0f0f0f0f0f0, 0x3030303030303030
	sep, digits := timeSeps[k], timeDigits[k]
	// A digit is 0x30 to 0x39: its high nibble is 3, and stays 3 when 6 is
	// added (which carries into no other byte, as by then no byte is above
	// 0x5a).
	return w&^digits == sep && w&digits&highs == threes&digits && (w+6*ones)&digits&highs == threes&digits
}

// daysIn returns the number of days of a month (1 to 12) of the proleptic Gregorian calendar.
func daysIn(year, month int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (month+month/8)%2 // 31 in January, March, May, July, August, October, December
}

// civilDays returns the number of days from 1970-01-01 to a date of the
// proleptic Gregorian calendar (year 0 to 9999), by Howard Hinnant's
// days_from_civil: years start in March, so that leap days come last, and
// repeat every 400 years (146,097 days).
func civilDays(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := (year+400)/400 - 1 // floor(year / 400) for year ≥ -1
	yoe := year - era*400
	doy := (153*((month+9)%12)+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146_097 + int64(doe) - 719_468
}

// object reads a JSON object verbatim (the details), skipping over strings.
// It leaves the object's validity to the leaf: the verifier compares these
// bytes with those the server committed, which were valid JSON, so a line
// whose details are not is rejected there.
func object(b []byte) ([]byte, []byte) {
	if len(b) == 0 || b[0] != '{' {
		return nil, nil
	}
	depth, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !structural[c] {
			continue
		}
		switch {
		case c == '\\' || c == '\n':
			// Left to the general path, as fastBundleLine would leave it.
			// Read on, an escaped quote turns strings inside out, and the
			// object would not end before the buffer does: a scan of the
			// rest of the bundle for each such line.
			return nil, nil
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return b[:i+1], b[i+1:]
			}
		}
	}
	return nil, nil
}

// structural marks the bytes object looks at: one lookup passes over each
// of the others, where the switch would compare it with all seven.
var structural = func() (t [256]bool) {
	for _, c := range []byte("\\\n\"{}[]") {
		t[c] = true
	}
	return t
}()

// base64Value reads the base64 string of exactly len(dst) bytes into dst.
func base64Value(b, dst []byte) ([]byte, []byte) {
	v, rest := fixed(b, base64.StdEncoding.EncodedLen(len(dst)))
	if rest == nil || !decodeBase64(dst, v) {
		return nil, nil
	}
	return dst, rest
}

// fixed reads a JSON string of n bytes, whose bytes the caller checks.
func fixed(b []byte, n int) ([]byte, []byte) {
	if len(b) < n+2 || b[0] != '"' || b[n+1] != '"' {
		return nil, nil
	}
	return b[1 : n+1], b[n+2:]
}

// fastBundleLine reads the event line at the start of data, laid out as
// AppendBundleLine writes it, into l, and returns its length with its
// newline; or 0 when the line needs the general path: a purged event, an
// escape or a newline in a value, anything unexpected, or a line that data
// holds only part of (atEOF says whether data ends the bundle).
//
// It finds the line's end as it reads the line: the proof of event i in a
// tree of size events has proofLen(i, size) hashes of fixed width, which it
// takes without reading them. verify decodes or compares each: text that is
// not the canonical base64 of the right hash, a newline for one, fails there.
func fastBundleLine(data []byte, atEOF bool, size int64, l *bundleLine) int {
	l.purged = false
	e := &l.event
	*e = auditlog.Event{}
	b := lit(data, `{"event":{"organization":{"provider":`)
	e.Organization.Provider, b = str(b)
	e.Organization.Name, b = str(lit(b, `,"name":`))
	e.Sequence, b = integer(lit(b, `},"sequence":`))
	e.ID, b = str(lit(b, `,"id":`))
	e.Action, b = str(lit(b, `,"action":`))
	e.Actor.Email, b = str(lit(b, `,"actor":{"email":`))
	if r := lit(b, `,"role":`); r != nil {
		if e.Actor.Role, b = str(r); e.Actor.Role == "" {
			return 0 // the writer leaves an empty role out
		}
	}
	e.Result, b = str(lit(b, `},"result":`))
	e.Source, b = str(lit(b, `,"source":`))
	e.Timestamp, b = timestamp(lit(b, `,"timestamp":`), &l.dates)
	e.ReceivedAt, b = timestamp(lit(b, `,"receivedAt":`), &l.dates)
	e.RepositoryName, b = str(lit(b, `,"repositoryName":`))
	e.EntityID, b = str(lit(b, `,"entityId":`))
	e.Description, b = str(lit(b, `,"description":`))
	var d []byte
	if d, b = object(lit(b, `,"details":`)); string(d) != "{}" {
		e.Details = d
	}
	e.IPAddress, b = str(lit(b, `,"ipAddress":`))
	e.UserAgent, b = str(lit(b, `,"userAgent":`))
	// The event's strings were read up to the next quote; none may hold an
	// escape or a newline (which also keeps a string from running on into
	// the next line).
	if b == nil {
		return 0
	}
	if ev := data[:len(data)-len(b)]; bytes.IndexByte(ev, '\\') >= 0 || bytes.IndexByte(ev, '\n') >= 0 {
		return 0
	}
	l.proof, b = proofSpan(lit(b, `},"proof":[`), e.Sequence, size)
	b = lit(b, "]")
	if r := lit(b, `,"salt":`); r != nil {
		e.Salt, b = base64Value(r, l.salt[:])
	} else if r := lit(b, `,"personalHash":`); r != nil {
		e.PersonalHash, b = base64Value(r, l.personalHash[:])
	}
	b = lit(b, "}")
	switch {
	case b == nil:
		return 0
	case len(b) > 0 && b[0] == '\n':
		return len(data) - len(b) + 1
	case len(b) == 0 && atEOF:
		return len(data)
	}
	return 0
}

// proofSpan reads the text of the proof of event seq in a tree of size
// events: proofLen hashes of proofElem bytes each, less the last comma. A
// proof of another length, or of a sequence outside the tree, is left to the
// general path.
func proofSpan(b []byte, seq, size int64) ([]byte, []byte) {
	if b == nil || seq < 0 || seq >= size {
		return nil, nil
	}
	n := max(proofLen(uint64(seq), uint64(size))*proofElem-1, 0)
	if n >= len(b) || b[n] != ']' {
		return nil, nil
	}
	return b[:n], b[n:]
}
