package http

import (
	_ "embed"
	"net/http"

	"github.com/auditlog/auditlog"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// OpenAPI is the API's OpenAPI 3 document.
//
//go:embed openapi.yaml
var OpenAPI []byte

func (s *Server) handleActions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, auditlog.Actions())
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz is 503 while the server shuts down or its storage cannot serve.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.stopping.Load() {
		Error(w, r, s.Logger, auditlog.Errorf(auditlog.EUNAVAILABLE, "shutting down"))
		return
	}
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			Error(w, r, s.Logger, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(OpenAPI)
}
