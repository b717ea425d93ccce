package auditlog

import "encoding/json"

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
