package pebble

import (
	"encoding/json"

	"github.com/auditlog/auditlog"
)

// The hashes of the words an event can be found by, as the word index files
// them (words.go): those of Event.SearchWords, computed for every ingested
// event without decoding its details into Go values or allocating per word.

// catalogWords holds the word hashes of each catalog action's description, by action code.
var catalogWords = func() [][]uint64 {
	out := make([][]uint64, len(auditlog.Actions()))
	for code, a := range auditlog.Actions() {
		out[code] = hashWords(nil, a.Description)
	}
	return out
}()

// eventWords returns the hashes of the words e can be found by (Event.SearchWords),
// possibly repeated.
func eventWords(e *auditlog.Event) []uint64 {
	var out []uint64
	if def, ok := auditlog.LookupAction(e.Action); ok && e.Description == def.Description {
		code, _ := auditlog.ActionCode(e.Action)
		out = append(make([]uint64, 0, len(catalogWords[code])+8), catalogWords[code]...)
	} else {
		out = hashWords(out, e.Description)
	}
	if len(e.Details) > 0 {
		var ok bool
		if out, ok = detailsWords(out, e.Details); !ok {
			return slowEventWords(e)
		}
	}
	return out
}

// slowEventWords is eventWords through Event.SearchWords.
func slowEventWords(e *auditlog.Event) []uint64 {
	words := e.SearchWords()
	out := make([]uint64, len(words))
	for i, w := range words {
		out[i] = wordHash(w)
	}
	return out
}

// hashWords appends the wordHash of each word of s (auditlog.Words).
func hashWords[T string | []byte](out []uint64, s T) []uint64 {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			for _, w := range auditlog.Words(string(s)) {
				out = append(out, wordHash(w))
			}
			return out
		}
	}
	// ASCII: a word is a run of letters and digits, lower-cased, hashed
	// as wordHash does (FNV-1a, 64 bits).
	const offset, prime = 14695981039346656037, 1099511628211
	h, in := uint64(offset), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		default:
			if in {
				out = append(out, h)
				h, in = offset, false
			}
			continue
		}
		h = (h ^ uint64(c)) * prime
		in = true
	}
	if in {
		out = append(out, h)
	}
	return out
}

// detailsWords appends the word hashes of every string value (not object
// keys) of the JSON document raw, which ingest validated. It reports false
// if raw is not as expected, for the caller to take the slow path.
func detailsWords(out []uint64, raw []byte) ([]uint64, bool) {
	// stack of containers: true for an object; in an object, key tells
	// whether the next string is a key.
	var stack []bool
	key := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '{':
			stack = append(stack, true)
			key = true
		case '[':
			stack = append(stack, false)
			key = false
		case '}', ']':
			if len(stack) == 0 {
				return out, false
			}
			stack = stack[:len(stack)-1]
			key = false
		case ',':
			key = len(stack) > 0 && stack[len(stack)-1]
		case ':':
			key = false
		case '"':
			j, escaped := i+1, false
			for ; j < len(raw) && raw[j] != '"'; j++ {
				if raw[j] == '\\' {
					escaped = true
					j++
				}
			}
			if j >= len(raw) {
				return out, false
			}
			if !key {
				if !escaped {
					out = hashWords(out, raw[i+1:j])
				} else {
					var s string
					if json.Unmarshal(raw[i:j+1], &s) != nil {
						return out, false
					}
					out = hashWords(out, s)
				}
			}
			i = j
		}
	}
	return out, len(stack) == 0
}
