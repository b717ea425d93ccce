package http

import (
	"net/http"
	"path"
	"strings"

	"github.com/auditlog/auditlog"
)

// ContentSecurityPolicy is sent with every response: the web viewer loads
// everything from the server itself, and no page may be framed.
const ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

var errBadPath = auditlog.Errorf(auditlog.EINVALID, "malformed path: empty, '.' or '..' segments are not allowed")

// secure sets the security headers of every response, and refuses paths with
// dot or empty segments (which ServeMux would otherwise redirect elsewhere).
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store") // answers may hold secrets and personal data
		}
		if p := r.URL.Path; p != "*" && p != path.Clean(p) && p != path.Clean(p)+"/" {
			Error(w, r, s.Logger, errBadPath)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// guard wraps a route's handler: it bounds the request body (32 MiB for an
// ingest batch, 1 MiB for anything else) after applying the rate limits.
func (s *Server) guard(pattern string, h http.HandlerFunc) http.HandlerFunc {
	limit := int64(maxJSONBody)
	if pattern == ingestPattern {
		limit = auditlog.MaxBatchBytes
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.limit(w, r) {
			return
		}
		if r.ContentLength > limit {
			Error(w, r, s.Logger, auditlog.Errorf(auditlog.ETOOLARGE, "the request body is larger than %d bytes", limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h(w, r)
	}
}

// ingestPattern is the one route whose body may be larger than 1 MiB.
const ingestPattern = "POST /api/v1/events"
