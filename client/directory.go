package client

import (
	"context"
	"net/http"
	"time"

	"github.com/auditlog/auditlog"
)

// The directory: organizations and their members (admin token), the token's
// own user and account API tokens (account API token).

// PutOrganization creates or updates an organization; created reports
// which. Nil fields of upd keep their value, or take their default on a new
// organization. It needs the admin token.
func (c *Client) PutOrganization(ctx context.Context, ref auditlog.OrgRef, upd auditlog.OrganizationUpdate) (*auditlog.Organization, bool, error) {
	path, err := orgPath(ref)
	if err != nil {
		return nil, false, err
	}
	var org auditlog.Organization
	status, err := c.doJSON(ctx, &request{method: "PUT", path: path, body: jsonBody(upd), retry: true}, &org)
	if err != nil {
		return nil, false, err
	}
	return &org, status == http.StatusCreated, nil
}

// FindOrganization returns an organization, or an ENOTFOUND error. It needs the admin token.
func (c *Client) FindOrganization(ctx context.Context, ref auditlog.OrgRef) (*auditlog.Organization, error) {
	path, err := orgPath(ref)
	if err != nil {
		return nil, err
	}
	var org auditlog.Organization
	if _, err := c.doJSON(ctx, &request{method: "GET", path: path, retry: true}, &org); err != nil {
		return nil, err
	}
	return &org, nil
}

// PutMember creates or updates a membership; created reports which. A new
// member needs a role. It needs the admin token.
func (c *Client) PutMember(ctx context.Context, ref auditlog.OrgRef, email string, upd auditlog.MemberUpdate) (*auditlog.Member, bool, error) {
	path, err := orgPath(ref, "members", email)
	if err != nil {
		return nil, false, err
	}
	var m auditlog.Member
	status, err := c.doJSON(ctx, &request{method: "PUT", path: path, body: jsonBody(upd), retry: true}, &m)
	if err != nil {
		return nil, false, err
	}
	return &m, status == http.StatusCreated, nil
}

// FindMember returns a membership, or an ENOTFOUND error. It needs the admin token.
func (c *Client) FindMember(ctx context.Context, ref auditlog.OrgRef, email string) (*auditlog.Member, error) {
	path, err := orgPath(ref, "members", email)
	if err != nil {
		return nil, err
	}
	var m auditlog.Member
	if _, err := c.doJSON(ctx, &request{method: "GET", path: path, retry: true}, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// DeleteMember removes a membership. It needs the admin token.
func (c *Client) DeleteMember(ctx context.Context, ref auditlog.OrgRef, email string) error {
	path, err := orgPath(ref, "members", email)
	if err != nil {
		return err
	}
	_, err = c.doJSON(ctx, &request{method: "DELETE", path: path, retry: true}, nil)
	return err
}

// User is the user of an account API token and their organizations.
type User struct {
	Email         string                `json:"email"`
	Organizations []auditlog.Membership `json:"organizations"`
}

// User returns the token's user (GET /api/v1/user). It needs an account API token.
func (c *Client) User(ctx context.Context) (*User, error) {
	var u User
	if _, err := c.doJSON(ctx, &request{method: "GET", path: []string{"api", "v1", "user"}, retry: true}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Memberships implements auditlog.DirectoryService for the one user the
// server tells a client about: the account API token's own. Any other email
// is an EFORBIDDEN error.
func (c *Client) Memberships(ctx context.Context, email string) ([]auditlog.Membership, error) {
	u, err := c.User(ctx)
	if err != nil {
		return nil, err
	}
	if want, err := auditlog.NormalizeEmail(email); err != nil || want != u.Email {
		return nil, auditlog.Errorf(auditlog.EFORBIDDEN, "a client can list only its own token's memberships (%s)", u.Email)
	}
	return u.Organizations, nil
}

// CreateUserToken creates an account API token for any user: the host
// platform's bootstrap of a user's first token. The returned Token's Secret
// is shown only this once. A nil expiresAt never expires. It needs the
// admin token. It is not retried but on 429, so a lost answer never leaves
// two tokens.
func (c *Client) CreateUserToken(ctx context.Context, email string, expiresAt *time.Time) (*auditlog.Token, error) {
	return c.createToken(ctx, []string{"api", "v1", "users", email, "tokens"}, expiresAt)
}

// CreateOwnToken creates another account API token for the token's own
// user; its Secret is shown only this once. It needs an account API token.
func (c *Client) CreateOwnToken(ctx context.Context, expiresAt *time.Time) (*auditlog.Token, error) {
	return c.createToken(ctx, []string{"api", "v1", "user", "tokens"}, expiresAt)
}

func (c *Client) createToken(ctx context.Context, path []string, expiresAt *time.Time) (*auditlog.Token, error) {
	var body struct {
		ExpiresAt *string `json:"expiresAt,omitempty"`
	}
	if expiresAt != nil {
		s := expiresAt.UTC().Format(time.RFC3339Nano)
		body.ExpiresAt = &s
	}
	var tok auditlog.Token
	if _, err := c.doJSON(ctx, &request{method: "POST", path: path, body: jsonBody(body)}, &tok); err != nil {
		return nil, err
	}
	return &tok, nil
}

// OwnTokens lists the token's user's account API tokens, oldest first,
// without their secrets. It needs an account API token.
func (c *Client) OwnTokens(ctx context.Context) ([]auditlog.Token, error) {
	var body struct {
		Data []auditlog.Token `json:"data"`
	}
	if _, err := c.doJSON(ctx, &request{method: "GET", path: []string{"api", "v1", "user", "tokens"}, retry: true}, &body); err != nil {
		return nil, err
	}
	return body.Data, nil
}

// DeleteOwnToken deletes one of the user's own account API tokens (the one
// the client uses included). It needs an account API token.
func (c *Client) DeleteOwnToken(ctx context.Context, id string) error {
	_, err := c.doJSON(ctx, &request{method: "DELETE", path: []string{"api", "v1", "user", "tokens", id}, retry: true}, nil)
	return err
}

// GrantManager gives a member the organization manager role. It needs an
// account API token of an organizationAdmin of the organization.
func (c *Client) GrantManager(ctx context.Context, ref auditlog.OrgRef, email string) (*auditlog.Member, error) {
	path, err := orgPath(ref, "managers", email)
	if err != nil {
		return nil, err
	}
	var m auditlog.Member
	if _, err := c.doJSON(ctx, &request{method: "PUT", path: path, retry: true}, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// RevokeManager takes the organization manager role from a member. It
// needs an account API token of an organizationAdmin of the organization.
func (c *Client) RevokeManager(ctx context.Context, ref auditlog.OrgRef, email string) error {
	path, err := orgPath(ref, "managers", email)
	if err != nil {
		return err
	}
	_, err = c.doJSON(ctx, &request{method: "DELETE", path: path, retry: true}, nil)
	return err
}
