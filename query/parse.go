package query

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/auditlog/auditlog"
)

// Limits of a query.
const (
	MaxBytes      = 1024 // of the query text, and of its canonical form
	MaxTerms      = 32   // after splitting words
	MaxValueBytes = 256  // of each value, unquoted
)

// Parse parses q, the search language of SPEC §9, into a Query. now resolves
// the relative dates today and yesterday. Any error is an *auditlog.Error with
// code auditlog.EINVALID whose message points at the bad term.
func Parse(q string, now time.Time) (*auditlog.Query, error) {
	if len(q) > MaxBytes {
		return nil, auditlog.Errorf(auditlog.EINVALID, "q: the query is %d bytes, more than %d", len(q), MaxBytes)
	}
	if !utf8.ValidString(q) {
		off := 0
		for off < len(q) {
			r, n := utf8.DecodeRuneInString(q[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return nil, auditlog.Errorf(auditlog.EINVALID, "q: invalid UTF-8 at position %d", position(q, off))
	}
	p := parser{q: q, now: now}
	for n := 1; ; n++ {
		tok, err := p.next(n)
		if err != nil {
			return nil, err
		}
		if tok == nil {
			break
		}
		if err := p.term(tok); err != nil {
			return nil, err
		}
	}
	query := &auditlog.Query{Terms: p.terms}
	if f := Format(query); len(f) > MaxBytes {
		return nil, auditlog.Errorf(auditlog.EINVALID, "q: the query is %d bytes once written in canonical form, more than %d", len(f), MaxBytes)
	}
	return query, nil
}

type parser struct {
	q     string
	i     int // byte offset of the next unread character
	now   time.Time
	terms []auditlog.Term
}

// token is one space-separated term of the query text.
type token struct {
	n     int    // 1-based number of the term
	pos   int    // byte offset in the query
	raw   string // its text as written
	parts []part
}

// part is a run of a token's text, quoted or not; quoted parts are unescaped.
type part struct {
	text   string
	quoted bool
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

// next reads the nth token, or returns nil at the end of the query.
func (p *parser) next(n int) (*token, error) {
	for p.i < len(p.q) {
		r, size := utf8.DecodeRuneInString(p.q[p.i:])
		if !isSpace(r) {
			break
		}
		p.i += size
	}
	if p.i == len(p.q) {
		return nil, nil
	}
	tok := &token{n: n, pos: p.i}
	for p.i < len(p.q) {
		if p.q[p.i] == '"' {
			text, end, ok := unquote(p.q, p.i)
			if !ok {
				tok.raw = p.q[tok.pos:]
				return nil, p.errorf(tok, "unbalanced quote: the '\"' at position %d is never closed", position(p.q, p.i))
			}
			tok.parts = append(tok.parts, part{text: text, quoted: true})
			p.i = end
			continue
		}
		start := p.i
		for p.i < len(p.q) && p.q[p.i] != '"' {
			r, size := utf8.DecodeRuneInString(p.q[p.i:])
			if isSpace(r) {
				break
			}
			p.i += size
		}
		if p.i == start { // a space
			break
		}
		tok.parts = append(tok.parts, part{text: p.q[start:p.i]})
	}
	tok.raw = p.q[tok.pos:p.i]
	return tok, nil
}

// unquote reads the quoted string starting at q[i] == '"'. It returns the
// unescaped text and the offset after the closing quote, or ok false if the
// quote is never closed.
func unquote(q string, i int) (text string, end int, ok bool) {
	var b strings.Builder
	for j := i + 1; j < len(q); j++ {
		switch c := q[j]; {
		case c == '"':
			return b.String(), j + 1, true
		case c == '\\' && j+1 < len(q) && (q[j+1] == '"' || q[j+1] == '\\'):
			b.WriteByte(q[j+1])
			j++
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// term parses one token into one or more terms.
func (p *parser) term(tok *token) error {
	parts := tok.parts
	negate := false
	if !parts[0].quoted && strings.HasPrefix(parts[0].text, "-") {
		negate = true
		parts = append([]part{{text: parts[0].text[1:]}}, parts[1:]...)
		if parts[0].text == "" {
			parts = parts[1:]
		}
		if len(parts) == 0 {
			return p.errorf(tok, "a '-' negates the term written right after it, with no space")
		}
		if !parts[0].quoted && strings.HasPrefix(parts[0].text, "-") {
			return p.errorf(tok, "a term can be negated only once")
		}
	}
	if !parts[0].quoted {
		if i := strings.IndexByte(parts[0].text, ':'); i > 0 && isFieldName(parts[0].text[:i]) {
			field := strings.ToLower(parts[0].text[:i])
			rest := append([]part{{text: parts[0].text[i+1:]}}, parts[1:]...)
			return p.field(tok, field, negate, rest)
		}
	}
	return p.words(tok, negate, parts)
}

func isFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// field parses a field:value term; parts are the value's.
func (p *parser) field(tok *token, field string, negate bool, parts []part) error {
	var b strings.Builder
	for _, pt := range parts {
		b.WriteString(pt.text)
	}
	value := b.String()
	last := parts[len(parts)-1]
	star := !last.quoted && strings.HasSuffix(last.text, "*") // an unquoted trailing '*'
	parse, ok := fields[field]
	if !ok {
		return p.errorf(tok, "unknown field %q: fields are %s; quote the term to search for its words", truncate(field, 32), fieldNames)
	}
	if value == "" {
		return p.errorf(tok, "%s has an empty value", field)
	}
	if len(value) > MaxValueBytes {
		return p.errorf(tok, "the value is %d bytes, more than %d", len(value), MaxValueBytes)
	}
	t := auditlog.Term{Field: field, Negate: negate, Pos: tok.pos}
	if err := parse(&t, value, star, p.now); err != "" {
		return p.errorf(tok, "%s", err)
	}
	if len(t.Value) > MaxValueBytes {
		return p.errorf(tok, "the value is %d bytes once normalized, more than %d", len(t.Value), MaxValueBytes)
	}
	return p.add(tok, t)
}

// words parses a term without a field into one word term per word.
func (p *parser) words(tok *token, negate bool, parts []part) error {
	var b strings.Builder
	prefix := false
	for i, pt := range parts {
		text := pt.text
		if !pt.quoted {
			if i == len(parts)-1 && strings.HasSuffix(text, "*") {
				text = text[:len(text)-1]
				prefix = true
			}
			if strings.Contains(text, "*") {
				return p.errorf(tok, "a '*' is allowed only at the end of a word, to match words that start with it")
			}
		}
		b.WriteString(text)
	}
	text := b.String()
	if len(text) > MaxValueBytes {
		return p.errorf(tok, "the term is %d bytes, more than %d", len(text), MaxValueBytes)
	}
	lower := strings.ToLower(text)
	words := auditlog.Words(lower)
	if len(words) == 0 {
		if prefix && text == "" {
			return p.errorf(tok, "a '*' must follow a word")
		}
		return p.errorf(tok, "no word to search for: a word is a run of letters and digits")
	}
	if prefix {
		r, _ := utf8.DecodeLastRuneInString(lower)
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return p.errorf(tok, "a '*' must follow a letter or digit")
		}
	}
	if negate && len(words) > 1 {
		return p.errorf(tok, "cannot negate several words (%s): negate each word on its own", strings.Join(words, ", "))
	}
	for i, w := range words {
		t := auditlog.Term{Field: auditlog.FieldWord, Negate: negate, Value: w, Prefix: prefix && i == len(words)-1, Pos: tok.pos}
		if err := p.add(tok, t); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) add(tok *token, t auditlog.Term) error {
	if len(p.terms) == MaxTerms {
		return p.errorf(tok, "too many terms: a query has at most %d", MaxTerms)
	}
	p.terms = append(p.terms, t)
	return nil
}

// errorf returns the EINVALID error of a bad term.
func (p *parser) errorf(tok *token, format string, args ...any) error {
	return auditlog.Errorf(auditlog.EINVALID, "q: term %d %q at position %d: %s",
		tok.n, truncate(tok.raw, 64), position(p.q, tok.pos), fmt.Sprintf(format, args...))
}

// position returns the 1-based character position of byte offset off in q.
func position(q string, off int) int {
	return utf8.RuneCountInString(q[:off]) + 1
}

// truncate shortens s to at most n bytes, on a character boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
