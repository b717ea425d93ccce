package http

import (
	"context"
	"net/http"
	"time"

	"github.com/auditlog/auditlog"
)

// A user manages their own account API tokens with one of them. Each call is
// recorded as user.tokens.create, read or delete in every organization the
// user is a member of, with the user as actor; a user of no organization
// leaves no event. A token is created and listed only once its event is
// stored; a deleted token stops working at once (every request reads the store).

var errNoToken = auditlog.Errorf(auditlog.ENOTFOUND, "token not found")

// maxTokenIDLength bounds a token id in a path; ids are 16 hex digits.
const maxTokenIDLength = 64

// handleCreateOwnToken is POST /api/v1/user/tokens.
func (s *Server) handleCreateOwnToken(w http.ResponseWriter, r *http.Request) {
	tok, err := s.requireAccount(r)
	if err != nil {
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
	orgs, err := s.Directory.Memberships(r.Context(), tok.Email)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	created, err := s.Tokens.CreateToken(r.Context(), tok.Email, body.ExpiresAt)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	details := map[string]any{"tokenId": created.ID}
	if created.ExpiresAt != nil {
		details["expiresAt"] = auditlog.FormatTime(*created.ExpiresAt)
	}
	if err := s.recordUserEvent(r, tok.Email, orgs, "user.tokens.create", created.ID, details); err != nil {
		// No token exists whose creation the log does not hold.
		if derr := s.Tokens.DeleteToken(context.WithoutCancel(r.Context()), tok.Email, created.ID); derr != nil {
			s.Logger.Error("withdrawing a token whose creation could not be recorded failed", "tokenId", created.ID, "err", derr)
		}
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusCreated, created)
}

// handleListOwnTokens is GET /api/v1/user/tokens: the user's tokens, oldest first, without secrets.
func (s *Server) handleListOwnTokens(w http.ResponseWriter, r *http.Request) {
	tok, err := s.requireAccount(r)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	orgs, err := s.Directory.Memberships(r.Context(), tok.Email)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	tokens, err := s.Tokens.Tokens(r.Context(), tok.Email)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	for i := range tokens {
		tokens[i].Secret = "" // never shown again
	}
	if tokens == nil {
		tokens = []auditlog.Token{}
	}
	if err := s.recordUserEvent(r, tok.Email, orgs, "user.tokens.read", "", map[string]any{"tokens": len(tokens)}); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Data []auditlog.Token `json:"data"`
	}{tokens})
}

// handleDeleteOwnToken is DELETE /api/v1/user/tokens/{id}: one of the user's
// own tokens, the one sending the request included.
func (s *Server) handleDeleteOwnToken(w http.ResponseWriter, r *http.Request) {
	tok, err := s.requireAccount(r)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	id := r.PathValue("id")
	if id == "" || len(id) > maxTokenIDLength {
		Error(w, r, s.Logger, errNoToken)
		return
	}
	orgs, err := s.Directory.Memberships(r.Context(), tok.Email)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	if err := s.Tokens.DeleteToken(r.Context(), tok.Email, id); err != nil {
		if auditlog.ErrorCode(err) == auditlog.ENOTFOUND {
			err = errNoToken
		}
		Error(w, r, s.Logger, err)
		return
	}
	if err := s.recordUserEvent(r, tok.Email, orgs, "user.tokens.delete", id, map[string]any{"tokenId": id}); err != nil {
		Error(w, r, s.Logger, err) // the token is gone; the failure is logged
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// recordUserEvent records a user's action in each of their organizations,
// with their role there.
func (s *Server) recordUserEvent(r *http.Request, email string, orgs []auditlog.Membership, action, entityID string, details map[string]any) error {
	id := s.newSelfEventID()
	events := make([]auditlog.Event, 0, len(orgs))
	for _, m := range orgs {
		events = append(events, s.selfEvent(r, id, m.OrgRef, action, auditlog.Actor{Email: email, Role: m.Role}, entityID, details))
	}
	return s.record(r, events)
}
