package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/auditlog/auditlog"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// maxJSONBody bounds the body of every route but ingest.
const maxJSONBody = 1 << 20

// decodeBody reads a JSON object body into v, strictly: unknown fields,
// trailing data and wrong types are a 400 naming the problem. An empty body
// leaves v unchanged.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); errors.Is(err, io.EOF) {
		return nil
	} else if err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return auditlog.Errorf(auditlog.EINVALID, "malformed JSON body: unexpected data after the object")
	}
	return nil
}

// jsonError turns a decoding error into a client-facing message.
func jsonError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooBig):
		return auditlog.Errorf(auditlog.ETOOLARGE, "the request body is larger than %d bytes", tooBig.Limit)
	case errors.As(err, &syntax):
		return auditlog.Errorf(auditlog.EINVALID, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		return auditlog.Errorf(auditlog.EINVALID, "%s", typeErrorReason(typ))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return auditlog.Errorf(auditlog.EINVALID, "malformed JSON: unexpected end of the body")
	}
	return auditlog.Errorf(auditlog.EINVALID, "malformed JSON: %s", trimJSONPrefix(err.Error()))
}

func typeErrorReason(e *json.UnmarshalTypeError) string {
	field := e.Field
	if field == "" {
		field = "value"
	}
	return fmt.Sprintf("%s must be %s, not a JSON %s", field, jsonTypeName(e.Type.Kind().String()), e.Value)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "uint32", "uint64", "float64":
		return "a number"
	}
	return "of another type"
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
