package auditlog

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and one Codacy ApiError name in package http.
const (
	EINVALID       = "invalid"       // malformed request: 400
	EUNAUTHORIZED  = "unauthorized"  // no or bad credential: 401
	EFORBIDDEN     = "forbidden"     // valid credential, not allowed: 403
	ENOTFOUND      = "not_found"     // unknown or not visible: 404
	ECONFLICT      = "conflict"      // state conflict: 409
	ETOOLARGE      = "too_large"     // request body or batch too large: 413
	EUNPROCESSABLE = "unprocessable" // well-formed but invalid content: 422
	ETOOMANY       = "too_many"      // rate limited or overloaded: 429
	EUNAVAILABLE   = "unavailable"   // shutting down or storage unavailable: 503
	EINTERNAL      = "internal"      // anything else: 500, detail never shown
)

// Error is the domain's coded error. Its Message is safe to show to a client.
type Error struct {
	Code    string
	Message string
	// Details optionally carries structured, client-safe information,
	// such as the list of invalid events of a rejected batch.
	Details any
}

func (e *Error) Error() string {
	return fmt.Sprintf("auditlog error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the message of its *Error,
// or "internal error" for any other error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorDetails returns the Details of the first *Error in err's chain, or nil.
func ErrorDetails(err error) any {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}
