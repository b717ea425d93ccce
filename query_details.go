package auditlog

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// detailsHaveWord reports whether any string value in the details object,
// at any depth, has the word. Keys are not searched.
func detailsHaveWord(details []byte, word string, prefix bool) bool {
	if len(details) == 0 {
		return false
	}
	var v any
	if json.Unmarshal(details, &v) != nil {
		return false
	}
	found := false
	eachString(v, func(s string) {
		found = found || hasWord(s, word, prefix)
	})
	return found
}

// MayContainWord reports whether raw bytes that hold an event's JSON
// details (and possibly more) could hold word: false only when they surely do
// not (no \u escape, and word, an ASCII lower-case word, is not in them
// case-insensitively). It spares decoding most events a word search reads.
func MayContainWord(raw []byte, word string) bool { return mayContain(raw, word) }

func mayContain(details []byte, word string) bool {
	if len(details) < len(word) || bytes.Contains(details, []byte(`\u`)) {
		return len(details) >= len(word)
	}
	for i := 0; i < len(word); i++ {
		if word[i] >= utf8.RuneSelf {
			return true
		}
	}
	first := word[0]
	for i := 0; i+len(word) <= len(details); i++ {
		if lowerASCII(details[i]) != first {
			continue
		}
		j := 1
		for j < len(word) && lowerASCII(details[i+j]) == word[j] {
			j++
		}
		if j == len(word) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// eachString calls fn with every string value in v (a decoded JSON value), at any depth.
func eachString(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case map[string]any:
		for _, x := range v {
			eachString(x, fn)
		}
	case []any:
		for _, x := range v {
			eachString(x, fn)
		}
	}
}
