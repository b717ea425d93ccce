package http

import (
	"net/http"
	"strings"

	"github.com/auditlog/auditlog"
)

var (
	errNoCredential = auditlog.Errorf(auditlog.EUNAUTHORIZED, "missing credential: send an account API token in the api-token header")
	errNoAdmin      = auditlog.Errorf(auditlog.EUNAUTHORIZED, "missing or invalid admin token: send it as Authorization: Bearer <admin token>")
	errAdminOnly    = auditlog.Errorf(auditlog.EFORBIDDEN, "this operation requires the admin token, not an account API token")
	errAdminReads   = auditlog.Errorf(auditlog.EFORBIDDEN, "the admin token cannot read events: use an account API token of an organization admin or manager")
	// errNoOrgAccess is the one answer for an unknown organization and for one the user is not a member of.
	errNoOrgAccess = auditlog.Errorf(auditlog.ENOTFOUND, "organization not found")
	errRole        = auditlog.Errorf(auditlog.EFORBIDDEN, "reading the audit log requires the organizationAdmin role or the organization manager role")
	errPlan        = auditlog.Errorf(auditlog.EFORBIDDEN, "the audit log is only available on the Business plan")
	errNoRoute     = auditlog.Errorf(auditlog.ENOTFOUND, "no such route")
	errUserOnly    = auditlog.Errorf(auditlog.EFORBIDDEN, "this operation requires an account API token, not the admin token")
)

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):]), true
	}
	return "", false
}

// apiToken returns the account API token of a request: Codacy's api-token
// header, or an Authorization bearer token.
func apiToken(r *http.Request) (string, bool) {
	if t := r.Header.Get("api-token"); t != "" {
		return t, true
	}
	return bearerToken(r)
}

// requireAdmin checks that the request carries the admin token.
func (s *Server) requireAdmin(r *http.Request) error {
	if s.isAdmin(r) {
		return nil
	}
	if secret, ok := apiToken(r); ok {
		if _, err := s.Tokens.Authenticate(r.Context(), secret); err == nil {
			return errAdminOnly
		}
	}
	return errNoAdmin
}

// requireUser authenticates the request's account API token.
func (s *Server) requireUser(r *http.Request) (*auditlog.Token, error) {
	secret, ok := apiToken(r)
	if !ok {
		return nil, errNoCredential
	}
	tok, err := s.Tokens.Authenticate(r.Context(), secret)
	if err != nil {
		if auditlog.ErrorCode(err) == auditlog.EUNAUTHORIZED && s.isAdmin(r) {
			return nil, errAdminReads
		}
		return nil, err
	}
	return tok, nil
}

// requireAccount authenticates the request's account API token on a route
// that acts as a user: the admin token, which has no user, is a 403.
func (s *Server) requireAccount(r *http.Request) (*auditlog.Token, error) {
	tok, err := s.requireUser(r)
	if err == errAdminReads {
		return nil, errUserOnly
	}
	return tok, err
}

// requireReader authorizes reading an organization's events (SPEC §3): the
// token's user must be an organizationAdmin or manager of the organization,
// and the organization must be on the Business plan.
func (s *Server) requireReader(r *http.Request, ref auditlog.OrgRef) (*auditlog.Token, error) {
	tok, err := s.requireUser(r)
	if err != nil {
		return nil, err
	}
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	org, err := s.Directory.FindOrganization(r.Context(), ref)
	if auditlog.ErrorCode(err) == auditlog.ENOTFOUND {
		return nil, errNoOrgAccess
	} else if err != nil {
		return nil, err
	}
	m, err := s.Directory.FindMember(r.Context(), ref, tok.Email)
	if auditlog.ErrorCode(err) == auditlog.ENOTFOUND {
		return nil, errNoOrgAccess
	} else if err != nil {
		return nil, err
	}
	if !m.CanReadAuditLog() {
		return nil, errRole
	}
	if org.Plan != auditlog.PlanBusiness {
		return nil, errPlan
	}
	return tok, nil
}

// orgRef reads an organization reference from the path.
func orgRef(r *http.Request, nameParam string) auditlog.OrgRef {
	return auditlog.OrgRef{Provider: r.PathValue("provider"), Name: r.PathValue(nameParam)}
}
