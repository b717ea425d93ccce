package http

import (
	"net/http"
	"time"

	"github.com/auditlog/auditlog"
)

func (s *Server) handlePutOrganization(w http.ResponseWriter, r *http.Request) {
	if err := s.requireAdmin(r); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	var upd auditlog.OrganizationUpdate
	if err := decodeBody(w, r, &upd); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	org, created, err := s.Directory.PutOrganization(r.Context(), orgRef(r, "name"), upd)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, createdStatus(created), org)
}

func (s *Server) handleGetOrganization(w http.ResponseWriter, r *http.Request) {
	if err := s.requireAdmin(r); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	org, err := s.Directory.FindOrganization(r.Context(), orgRef(r, "name"))
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, org)
}

func (s *Server) handleGetMember(w http.ResponseWriter, r *http.Request) {
	if err := s.requireAdmin(r); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	m, err := s.Directory.FindMember(r.Context(), orgRef(r, "name"), r.PathValue("email"))
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) handlePutMember(w http.ResponseWriter, r *http.Request) {
	if err := s.requireAdmin(r); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	var upd auditlog.MemberUpdate
	if err := decodeBody(w, r, &upd); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	m, created, err := s.Directory.PutMember(r.Context(), orgRef(r, "name"), r.PathValue("email"), upd)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, createdStatus(created), m)
}

func (s *Server) handleDeleteMember(w http.ResponseWriter, r *http.Request) {
	if err := s.requireAdmin(r); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	if err := s.Directory.DeleteMember(r.Context(), orgRef(r, "name"), r.PathValue("email")); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleCreateUserToken is the bootstrap of a user's first account API token, by the host platform.
func (s *Server) handleCreateUserToken(w http.ResponseWriter, r *http.Request) {
	if err := s.requireAdmin(r); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	var body struct {
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	tok, err := s.Tokens.CreateToken(r.Context(), r.PathValue("email"), body.ExpiresAt)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusCreated, tok)
}

// handleGetUser is GET /api/v1/user: the token's user and their organizations.
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	tok, err := s.requireUser(r)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	orgs, err := s.Directory.Memberships(r.Context(), tok.Email)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Email         string                `json:"email"`
		Organizations []auditlog.Membership `json:"organizations"`
	}{tok.Email, orgs})
}

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}
