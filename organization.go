package auditlog

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Providers are the Git providers an organization can come from.
var Providers = []string{"gh", "ghe", "gl", "gle", "bb", "bbe"}

// Plans an organization can be on. Only PlanBusiness may read its audit log.
const (
	PlanFree     = "free"
	PlanPro      = "pro"
	PlanBusiness = "business"
)

// Retention bounds, in days.
const (
	DefaultRetentionDays = 365
	MaxRetentionDays     = 3650
)

// OrgRef names an organization: its Git provider and its name there.
type OrgRef struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
}

func (r OrgRef) String() string { return r.Provider + "/" + r.Name }

// Validate reports whether the reference names a possible organization.
func (r OrgRef) Validate() error {
	if !validProvider(r.Provider) {
		return Errorf(EINVALID, "unknown provider %q: must be one of %s", r.Provider, strings.Join(Providers, ", "))
	}
	if r.Name == "" {
		return Errorf(EINVALID, "organization name is required")
	}
	if len(r.Name) > 255 || !utf8.ValidString(r.Name) || strings.ContainsRune(r.Name, '/') || strings.IndexFunc(r.Name, unicode.IsControl) >= 0 {
		return Errorf(EINVALID, "invalid organization name: at most 255 characters of valid UTF-8, without '/' or control characters")
	}
	return nil
}

func validProvider(p string) bool {
	for _, v := range Providers {
		if p == v {
			return true
		}
	}
	return false
}

// Organization is a customer organization.
type Organization struct {
	OrgRef
	Plan          string    `json:"plan"`
	RetentionDays int       `json:"retentionDays"`
	LegalHold     bool      `json:"legalHold"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// OrganizationUpdate changes an organization; nil fields keep their value
// (or take their default when the organization is created).
type OrganizationUpdate struct {
	Plan          *string `json:"plan"`
	RetentionDays *int    `json:"retentionDays"`
	LegalHold     *bool   `json:"legalHold"`
}

// Validate checks the fields that are set.
func (u OrganizationUpdate) Validate() error {
	if u.Plan != nil && *u.Plan != PlanFree && *u.Plan != PlanPro && *u.Plan != PlanBusiness {
		return Errorf(EUNPROCESSABLE, "invalid plan %q: must be one of free, pro, business", *u.Plan)
	}
	if u.RetentionDays != nil && (*u.RetentionDays < 1 || *u.RetentionDays > MaxRetentionDays) {
		return Errorf(EUNPROCESSABLE, "invalid retentionDays %d: must be between 1 and %d", *u.RetentionDays, MaxRetentionDays)
	}
	return nil
}

// Apply sets the update's fields on o; on a new organization unset fields take their defaults.
func (u OrganizationUpdate) Apply(o *Organization, created bool) {
	if created {
		o.Plan = PlanFree
		o.RetentionDays = DefaultRetentionDays
	}
	if u.Plan != nil {
		o.Plan = *u.Plan
	}
	if u.RetentionDays != nil {
		o.RetentionDays = *u.RetentionDays
	}
	if u.LegalHold != nil {
		o.LegalHold = *u.LegalHold
	}
}

// Roles a member can have in an organization, from least to most privileged.
const (
	RoleRepositoryRead     = "repositoryRead"
	RoleRepositoryWrite    = "repositoryWrite"
	RoleRepositoryAdmin    = "repositoryAdmin"
	RoleOrganizationMember = "organizationMember"
	RoleOrganizationAdmin  = "organizationAdmin"
	// RoleOrganizationManager is not a member role but may appear as an event actor's role.
	RoleOrganizationManager = "organizationManager"
)

// MemberRoles lists the roles a member can be given.
var MemberRoles = []string{RoleRepositoryRead, RoleRepositoryWrite, RoleRepositoryAdmin, RoleOrganizationMember, RoleOrganizationAdmin}

// ValidMemberRole reports whether r is one of MemberRoles.
func ValidMemberRole(r string) bool {
	for _, v := range MemberRoles {
		if r == v {
			return true
		}
	}
	return false
}

// ValidActorRole reports whether r may be an event actor's role.
func ValidActorRole(r string) bool {
	return ValidMemberRole(r) || r == RoleOrganizationManager
}

// Member is a user's membership of an organization.
type Member struct {
	Org       OrgRef    `json:"organization"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Manager   bool      `json:"manager"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// MemberUpdate changes a membership; nil fields keep their value.
// A new member must be given a role; Manager defaults to false.
type MemberUpdate struct {
	Role    *string `json:"role"`
	Manager *bool   `json:"manager"`
}

// CanReadAuditLog reports whether the member may read the organization's events.
func (m Member) CanReadAuditLog() bool {
	return m.Role == RoleOrganizationAdmin || m.Manager
}

// Membership is one organization of a user, as GET /api/v1/user shows it.
type Membership struct {
	OrgRef
	Role    string `json:"role"`
	Manager bool   `json:"manager"`
	Plan    string `json:"plan"`
}

// DirectoryService manages organizations and their members.
type DirectoryService interface {
	// PutOrganization creates or updates an organization; created reports which.
	PutOrganization(ctx context.Context, ref OrgRef, upd OrganizationUpdate) (org *Organization, created bool, err error)
	// FindOrganization returns the organization or an ENOTFOUND error.
	FindOrganization(ctx context.Context, ref OrgRef) (*Organization, error)
	// PutMember creates or updates a membership; created reports which.
	PutMember(ctx context.Context, ref OrgRef, email string, upd MemberUpdate) (m *Member, created bool, err error)
	// FindMember returns the membership or an ENOTFOUND error.
	FindMember(ctx context.Context, ref OrgRef, email string) (*Member, error)
	// DeleteMember removes a membership.
	DeleteMember(ctx context.Context, ref OrgRef, email string) error
	// Memberships lists the organizations a user belongs to.
	Memberships(ctx context.Context, email string) ([]Membership, error)
}
