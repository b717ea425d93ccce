package http

import (
	"context"
	"net/http"

	"github.com/auditlog/auditlog"
)

// An organization admin grants and revokes the organization manager role
// (the member's manager flag) with their account API token. Each change is
// recorded in the organization's log as organizations.security.managers.create
// or delete, the admin as actor and the member in entityId and details; a
// request that changes nothing (granting to a manager, revoking from a
// member who is not one) records nothing. The role is not a Business plan
// feature: an admin of any organization may grant it.

var (
	errNotOrgAdmin = auditlog.Errorf(auditlog.EFORBIDDEN, "granting or revoking the organization manager role requires the organizationAdmin role")
	errNoTarget    = auditlog.Errorf(auditlog.ENOTFOUND, "member not found: only a member of the organization can be given the organization manager role")
)

// handlePutManager is PUT /api/v1/organizations/{provider}/{name}/managers/{email}.
func (s *Server) handlePutManager(w http.ResponseWriter, r *http.Request) {
	m, err := s.setManager(r, true)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// handleDeleteManager is DELETE /api/v1/organizations/{provider}/{name}/managers/{email}.
func (s *Server) handleDeleteManager(w http.ResponseWriter, r *http.Request) {
	if _, err := s.setManager(r, false); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setManager(r *http.Request, grant bool) (*auditlog.Member, error) {
	ctx := r.Context()
	tok, err := s.requireAccount(r)
	if err != nil {
		return nil, err
	}
	ref := orgRef(r, "name")
	if err := s.requireOrgAdmin(ctx, ref, tok.Email); err != nil {
		return nil, err
	}
	email, err := auditlog.NormalizeEmail(r.PathValue("email"))
	if err != nil {
		return nil, err
	}
	target, err := s.Directory.FindMember(ctx, ref, email)
	if auditlog.ErrorCode(err) == auditlog.ENOTFOUND {
		return nil, errNoTarget
	} else if err != nil {
		return nil, err
	}
	if target.Manager == grant {
		return target, nil // nothing changes, nothing to record
	}
	m, _, err := s.Directory.PutMember(ctx, ref, email, auditlog.MemberUpdate{Manager: &grant})
	if err != nil {
		return nil, err // removed meanwhile: a 422, as a new member needs a role
	}
	action := "organizations.security.managers.delete"
	if grant {
		action = "organizations.security.managers.create"
	}
	e := s.selfEvent(r, s.newSelfEventID(), ref, action,
		auditlog.Actor{Email: tok.Email, Role: auditlog.RoleOrganizationAdmin},
		email, map[string]any{"email": email, "role": m.Role})
	if err := s.record(r, []auditlog.Event{e}); err != nil {
		if grant { // no grant the log does not hold
			revert := false
			if _, _, rerr := s.Directory.PutMember(context.WithoutCancel(ctx), ref, email, auditlog.MemberUpdate{Manager: &revert}); rerr != nil {
				s.Logger.Error("withdrawing a manager grant that could not be recorded failed", "org", ref.String(), "err", rerr)
			}
		}
		return nil, err
	}
	return m, nil
}

// requireOrgAdmin authorizes managing an organization's members: the user
// must be an organizationAdmin member. An unknown organization and one the
// user is not a member of are the same 404.
func (s *Server) requireOrgAdmin(ctx context.Context, ref auditlog.OrgRef, email string) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	if _, err := s.Directory.FindOrganization(ctx, ref); auditlog.ErrorCode(err) == auditlog.ENOTFOUND {
		return errNoOrgAccess
	} else if err != nil {
		return err
	}
	m, err := s.Directory.FindMember(ctx, ref, email)
	if auditlog.ErrorCode(err) == auditlog.ENOTFOUND {
		return errNoOrgAccess
	} else if err != nil {
		return err
	}
	if m.Role != auditlog.RoleOrganizationAdmin {
		return errNotOrgAdmin
	}
	return nil
}
