package auditlog

import (
	"bytes"
	"encoding/json"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func compactJSON(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
