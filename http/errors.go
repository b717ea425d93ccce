package http

import (
	"log/slog"
	"net/http"

	"github.com/auditlog/auditlog"
)

// errorStatus maps each domain error code to its HTTP status and Codacy ApiError name.
var errorStatus = map[string]struct {
	status int
	name   string
}{
	auditlog.EINVALID:       {http.StatusBadRequest, "BadRequest"},
	auditlog.EUNAUTHORIZED:  {http.StatusUnauthorized, "Unauthorized"},
	auditlog.EFORBIDDEN:     {http.StatusForbidden, "Forbidden"},
	auditlog.ENOTFOUND:      {http.StatusNotFound, "NotFound"},
	auditlog.ECONFLICT:      {http.StatusConflict, "Conflict"},
	auditlog.ETOOLARGE:      {http.StatusRequestEntityTooLarge, "PayloadTooLarge"},
	auditlog.EUNPROCESSABLE: {http.StatusUnprocessableEntity, "UnprocessableEntity"},
	auditlog.ETOOMANY:       {http.StatusTooManyRequests, "TooManyRequests"},
	auditlog.EUNAVAILABLE:   {http.StatusServiceUnavailable, "ServiceUnavailable"},
	auditlog.EINTERNAL:      {http.StatusInternalServerError, "InternalServerError"},
}

// apiError is Codacy's ApiError body, plus details for batch validation.
type apiError struct {
	Error   string   `json:"error"`
	Message string   `json:"message"`
	Actions []string `json:"actions"`
	Code    string   `json:"code,omitempty"`
	Details any      `json:"details,omitempty"`
}

// Error writes err as an ApiError. Internal errors are logged with their
// detail and shown to the client only as "internal error".
func Error(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	code := auditlog.ErrorCode(err)
	if code == auditlog.EINTERNAL {
		logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	st, ok := errorStatus[code]
	if !ok {
		st = errorStatus[auditlog.EINTERNAL]
	}
	body := apiError{Error: st.name, Message: auditlog.ErrorMessage(err), Actions: []string{}, Details: auditlog.ErrorDetails(err)}
	if st.status == http.StatusUnauthorized {
		body.Code = st.name
	}
	if (st.status == http.StatusServiceUnavailable || st.status == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, st.status, body)
}
