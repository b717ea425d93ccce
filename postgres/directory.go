package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/auditlog/auditlog"
	"github.com/jackc/pgx/v5"
)

var _ auditlog.DirectoryService = (*DB)(nil)

var (
	errNoOrg    = auditlog.Errorf(auditlog.ENOTFOUND, "organization not found")
	errNoMember = auditlog.Errorf(auditlog.ENOTFOUND, "member not found")
)

// PutOrganization creates or updates an organization.
func (db *DB) PutOrganization(ctx context.Context, ref auditlog.OrgRef, upd auditlog.OrganizationUpdate) (*auditlog.Organization, bool, error) {
	if err := ref.Validate(); err != nil {
		return nil, false, err
	}
	if err := upd.Validate(); err != nil {
		return nil, false, err
	}
	var (
		org     *auditlog.Organization
		created bool
	)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		org, created, err = db.putOrganization(ctx, tx, ref, upd)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return org, created, nil
}

func (db *DB) putOrganization(ctx context.Context, tx pgx.Tx, ref auditlog.OrgRef, upd auditlog.OrganizationUpdate) (*auditlog.Organization, bool, error) {
	now := db.now()
	org := &auditlog.Organization{OrgRef: ref, CreatedAt: now, UpdatedAt: now}
	upd.Apply(org, true)
	// Racing creations: one inserts, the others wait for it and then update.
	var id int32
	err := tx.QueryRow(ctx, `INSERT INTO organizations (provider, name, plan, retention_days, legal_hold, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (provider, name) DO NOTHING RETURNING id`,
		ref.Provider, ref.Name, org.Plan, org.RetentionDays, org.LegalHold, now).Scan(&id)
	switch {
	case err == nil:
		if _, err := tx.Exec(ctx, `INSERT INTO log_heads (org_id) VALUES ($1)`, id); err != nil {
			return nil, false, fmt.Errorf("create log head: %w", err)
		}
		return org, true, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, false, fmt.Errorf("create organization: %w", err)
	}
	o, err := scanOrganization(tx.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations
		WHERE provider = $1 AND name = $2 FOR UPDATE`, ref.Provider, ref.Name))
	if err != nil {
		return nil, false, err
	}
	upd.Apply(&o.Organization, false)
	o.UpdatedAt = now
	if _, err := tx.Exec(ctx, `UPDATE organizations SET plan = $2, retention_days = $3, legal_hold = $4, updated_at = $5 WHERE id = $1`,
		o.id, o.Plan, o.RetentionDays, o.LegalHold, now); err != nil {
		return nil, false, fmt.Errorf("update organization: %w", err)
	}
	return &o.Organization, false, nil
}

const orgColumns = `id, provider, name, plan, retention_days, legal_hold, created_at, updated_at`

// organization is an organization with its internal id.
type organization struct {
	auditlog.Organization
	id int32
}

func scanOrganization(row pgx.Row) (*organization, error) {
	var o organization
	err := row.Scan(&o.id, &o.Provider, &o.Name, &o.Plan, &o.RetentionDays, &o.LegalHold, &o.CreatedAt, &o.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoOrg
	} else if err != nil {
		return nil, fmt.Errorf("read organization: %w", err)
	}
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return &o, nil
}

// FindOrganization returns an organization.
func (db *DB) FindOrganization(ctx context.Context, ref auditlog.OrgRef) (*auditlog.Organization, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	o, err := scanOrganization(db.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE provider = $1 AND name = $2`, ref.Provider, ref.Name))
	if err != nil {
		return nil, err
	}
	db.orgIDs.Store(ref, o.id)
	return &o.Organization, nil
}

// orgByID returns the organization of an internal id.
func (db *DB) orgByID(ctx context.Context, q querier, id int32) (*organization, error) {
	return scanOrganization(q.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1`, id))
}

// orgID returns the internal id of an organization, or errNoOrg. Ids never
// change once given (organizations are never deleted), so they are cached.
func (db *DB) orgID(ctx context.Context, ref auditlog.OrgRef) (int32, error) {
	if id, ok := db.orgIDs.Load(ref); ok {
		return id.(int32), nil
	}
	if ref.Validate() != nil {
		return 0, errNoOrg
	}
	var id int32
	err := db.pool.QueryRow(ctx, `SELECT id FROM organizations WHERE provider = $1 AND name = $2`, ref.Provider, ref.Name).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, errNoOrg
	} else if err != nil {
		return 0, fmt.Errorf("look up organization %s: %w", ref, err)
	}
	db.orgIDs.Store(ref, id)
	return id, nil
}

// PutMember creates or updates a membership.
func (db *DB) PutMember(ctx context.Context, ref auditlog.OrgRef, email string, upd auditlog.MemberUpdate) (*auditlog.Member, bool, error) {
	if err := ref.Validate(); err != nil {
		return nil, false, err
	}
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return nil, false, err
	}
	if upd.Role != nil && !auditlog.ValidMemberRole(*upd.Role) {
		return nil, false, auditlog.Errorf(auditlog.EUNPROCESSABLE, "invalid role %q: must be one of repositoryRead, repositoryWrite, repositoryAdmin, organizationMember, organizationAdmin", *upd.Role)
	}
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return nil, false, err
	}
	var (
		m       *auditlog.Member
		created bool
	)
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		m, created, err = db.putMember(ctx, tx, org, ref, email, upd)
		return err
	})
	return m, created, err
}

func (db *DB) putMember(ctx context.Context, tx pgx.Tx, org int32, ref auditlog.OrgRef, email string, upd auditlog.MemberUpdate) (*auditlog.Member, bool, error) {
	now := db.now()
	m := &auditlog.Member{Org: ref, Email: email, CreatedAt: now, UpdatedAt: now}
	if upd.Role != nil {
		m.Role = *upd.Role
		if upd.Manager != nil {
			m.Manager = *upd.Manager
		}
		tag, err := tx.Exec(ctx, `INSERT INTO members (org_id, email, role, manager, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (org_id, email) DO NOTHING`, org, email, m.Role, m.Manager, now)
		if err != nil {
			return nil, false, fmt.Errorf("create member: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return m, true, nil
		}
	}
	err := tx.QueryRow(ctx, `SELECT role, manager, created_at FROM members WHERE org_id = $1 AND email = $2 FOR UPDATE`, org, email).
		Scan(&m.Role, &m.Manager, &m.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, auditlog.Errorf(auditlog.EUNPROCESSABLE, "role is required for a new member")
	} else if err != nil {
		return nil, false, fmt.Errorf("read member: %w", err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	if upd.Role != nil {
		m.Role = *upd.Role
	}
	if upd.Manager != nil {
		m.Manager = *upd.Manager
	}
	if _, err := tx.Exec(ctx, `UPDATE members SET role = $3, manager = $4, updated_at = $5 WHERE org_id = $1 AND email = $2`,
		org, email, m.Role, m.Manager, now); err != nil {
		return nil, false, fmt.Errorf("update member: %w", err)
	}
	return m, false, nil
}

// FindMember returns a membership.
func (db *DB) FindMember(ctx context.Context, ref auditlog.OrgRef, email string) (*auditlog.Member, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return nil, err
	}
	m := &auditlog.Member{Org: ref, Email: email}
	err = db.pool.QueryRow(ctx, `SELECT role, manager, created_at, updated_at FROM members WHERE org_id = $1 AND email = $2`, org, email).
		Scan(&m.Role, &m.Manager, &m.CreatedAt, &m.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoMember
	} else if err != nil {
		return nil, fmt.Errorf("find member: %w", err)
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, nil
}

// DeleteMember removes a membership.
func (db *DB) DeleteMember(ctx context.Context, ref auditlog.OrgRef, email string) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return err
	}
	org, err := db.orgID(ctx, ref)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM members WHERE org_id = $1 AND email = $2`, org, email)
	if err != nil {
		return fmt.Errorf("delete member: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errNoMember
	}
	return nil
}

// Memberships lists a user's organizations, ordered by provider and name.
func (db *DB) Memberships(ctx context.Context, email string) ([]auditlog.Membership, error) {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT o.provider, o.name, m.role, m.manager, o.plan
		FROM members m JOIN organizations o ON o.id = m.org_id WHERE m.email = $1`, email)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditlog.Membership, error) {
		var m auditlog.Membership
		err := row.Scan(&m.Provider, &m.Name, &m.Role, &m.Manager, &m.Plan)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OrgRef.String() < out[j].OrgRef.String() })
	if out == nil {
		out = []auditlog.Membership{}
	}
	return out, nil
}
