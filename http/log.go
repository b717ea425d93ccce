package http

import (
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog"
)

// handleLogKey serves the checkpoint verifier key.
func (s *Server) handleLogKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(s.LogKey + "\n"))
}

// handleCheckpoint serves the organization's latest signed checkpoint.
func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	if _, err := s.requireReader(r, ref); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	note, _, err := s.Log.LatestCheckpoint(r.Context(), ref)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(note)
}

// handleInclusionProof proves one event in the tree of a signed checkpoint.
func (s *Server) handleInclusionProof(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	if _, err := s.requireReader(r, ref); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	seq, err := intParam(r.PathValue("sequence"), "sequence", 0)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	size, err := intParam(r.URL.Query().Get("size"), "size", 1)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	p, err := s.Log.ProveInclusion(r.Context(), ref, seq, size)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// handleConsistencyProof proves two signed checkpoints consistent.
func (s *Server) handleConsistencyProof(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	if _, err := s.requireReader(r, ref); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	q := r.URL.Query()
	if q.Get("from") == "" {
		Error(w, r, s.Logger, auditlog.Errorf(auditlog.EINVALID, "from is required: the tree size of the older checkpoint"))
		return
	}
	from, err := intParam(q.Get("from"), "from", 1)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	to, err := intParam(q.Get("to"), "to", 1)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	p, err := s.Log.ProveConsistency(r.Context(), ref, from, to)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// handleErase is POST /api/v1/users/{email}/erase.
func (s *Server) handleErase(w http.ResponseWriter, r *http.Request) {
	if err := s.requireAdmin(r); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	email, err := auditlog.NormalizeEmail(r.PathValue("email"))
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	n, err := s.Log.EraseUser(r.Context(), email)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	s.Logger.Info("erased a user", "events", n)
	writeJSON(w, http.StatusOK, map[string]any{"email": email, "erasedEvents": n})
}

// intParam parses an optional non-negative integer parameter; "" is 0.
func intParam(v, name string, min int64) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min {
		return 0, auditlog.Errorf(auditlog.EINVALID, "%s must be an integer of at least %d, got %q", name, min, truncate(v, 40))
	}
	return n, nil
}
