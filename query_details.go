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
	return anyHasWord(v, word, prefix)
}

func anyHasWord(v any, word string, prefix bool) bool {
	switch v := v.(type) {
	case string:
		return hasWord(v, word, prefix)
	case map[string]any:
		for _, x := range v {
			if anyHasWord(x, word, prefix) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if anyHasWord(x, word, prefix) {
				return true
			}
		}
	}
	return false
}
