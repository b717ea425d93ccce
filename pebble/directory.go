package pebble

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/auditlog/auditlog"
	"github.com/cockroachdb/pebble/v2"
)

var _ auditlog.DirectoryService = (*DB)(nil)

// PutOrganization creates or updates an organization.
func (db *DB) PutOrganization(ctx context.Context, ref auditlog.OrgRef, upd auditlog.OrganizationUpdate) (*auditlog.Organization, bool, error) {
	if err := ref.Validate(); err != nil {
		return nil, false, err
	}
	if err := upd.Validate(); err != nil {
		return nil, false, err
	}
	db.dirMu.Lock()
	defer db.dirMu.Unlock()

	b := db.db.NewBatch()
	defer b.Close()
	now := db.now()
	id, org, err := db.findOrg(ref)
	created := errors.Is(err, errNoOrg)
	switch {
	case created:
		if id, err = db.nextOrgID(b); err != nil {
			return nil, false, err
		}
		org = &auditlog.Organization{OrgRef: ref, CreatedAt: now}
		_ = b.Set(orgNameKey(ref.Provider, ref.Name), appendU32(nil, id), nil)
	case err != nil:
		return nil, false, err
	}
	upd.Apply(org, created)
	org.UpdatedAt = now
	if err := setJSON(b, orgKey(id), org); err != nil {
		return nil, false, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, false, fmt.Errorf("put organization: %w", err)
	}
	return org, created, nil
}

// FindOrganization returns an organization.
func (db *DB) FindOrganization(ctx context.Context, ref auditlog.OrgRef) (*auditlog.Organization, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	_, org, err := db.findOrg(ref)
	return org, err
}

var errNoOrg = auditlog.Errorf(auditlog.ENOTFOUND, "organization not found")

// orgID returns the internal id of an organization, or errNoOrg. Ids never
// change once given, so they are cached.
func (db *DB) orgID(ref auditlog.OrgRef) (uint32, error) {
	if id, ok := db.orgIDs.Load(ref); ok {
		return id.(uint32), nil
	}
	v, err := db.get(orgNameKey(ref.Provider, ref.Name))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, errNoOrg
	} else if err != nil {
		return 0, err
	}
	if len(v) != 4 {
		return 0, fmt.Errorf("organization %s: corrupt id", ref)
	}
	id := binary.BigEndian.Uint32(v)
	db.orgIDs.Store(ref, id)
	return id, nil
}

func (db *DB) findOrg(ref auditlog.OrgRef) (uint32, *auditlog.Organization, error) {
	id, err := db.orgID(ref)
	if err != nil {
		return 0, nil, err
	}
	org, err := db.orgByID(id)
	return id, org, err
}

func (db *DB) orgByID(id uint32) (*auditlog.Organization, error) {
	var org auditlog.Organization
	if err := db.getJSON(orgKey(id), &org); err != nil {
		return nil, fmt.Errorf("organization %d: %w", id, err)
	}
	return &org, nil
}

// nextOrgID allocates an organization id in b. The caller holds dirMu.
func (db *DB) nextOrgID(b *pebble.Batch) (uint32, error) {
	var n uint32
	v, err := db.get(metaOrgCounter)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return 0, err
	case len(v) == 4:
		n = binary.BigEndian.Uint32(v)
	default:
		return 0, errors.New("corrupt organization counter")
	}
	n++
	return n, b.Set(metaOrgCounter, appendU32(nil, n), nil)
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
	db.dirMu.Lock()
	defer db.dirMu.Unlock()

	id, err := db.orgID(ref)
	if err != nil {
		return nil, false, err
	}
	now := db.now()
	var m auditlog.Member
	err = db.getJSON(memberKey(id, email), &m)
	created := errors.Is(err, pebble.ErrNotFound)
	switch {
	case created:
		if upd.Role == nil {
			return nil, false, auditlog.Errorf(auditlog.EUNPROCESSABLE, "role is required for a new member")
		}
		m = auditlog.Member{Org: ref, Email: email, CreatedAt: now}
	case err != nil:
		return nil, false, err
	}
	if upd.Role != nil {
		m.Role = *upd.Role
	}
	if upd.Manager != nil {
		m.Manager = *upd.Manager
	}
	m.UpdatedAt = now
	b := db.db.NewBatch()
	defer b.Close()
	if err := setJSON(b, memberKey(id, email), &m); err != nil {
		return nil, false, err
	}
	_ = b.Set(userOrgKey(email, id), nil, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, false, fmt.Errorf("put member: %w", err)
	}
	return &m, created, nil
}

var errNoMember = auditlog.Errorf(auditlog.ENOTFOUND, "member not found")

// FindMember returns a membership.
func (db *DB) FindMember(ctx context.Context, ref auditlog.OrgRef, email string) (*auditlog.Member, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	id, err := db.orgID(ref)
	if err != nil {
		return nil, err
	}
	var m auditlog.Member
	if err := db.getJSON(memberKey(id, email), &m); errors.Is(err, pebble.ErrNotFound) {
		return nil, errNoMember
	} else if err != nil {
		return nil, err
	}
	return &m, nil
}

// DeleteMember removes a membership.
func (db *DB) DeleteMember(ctx context.Context, ref auditlog.OrgRef, email string) error {
	if _, err := db.FindMember(ctx, ref, email); err != nil {
		return err
	}
	email, _ = auditlog.NormalizeEmail(email)
	id, err := db.orgID(ref)
	if err != nil {
		return err
	}
	db.dirMu.Lock()
	defer db.dirMu.Unlock()
	b := db.db.NewBatch()
	defer b.Close()
	_ = b.Delete(memberKey(id, email), nil)
	_ = b.Delete(userOrgKey(email, id), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete member: %w", err)
	}
	return nil
}

// Memberships lists a user's organizations, ordered by provider and name.
func (db *DB) Memberships(ctx context.Context, email string) ([]auditlog.Membership, error) {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	prefix := userOrgPrefix(email)
	it, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for it.First(); it.Valid(); it.Next() {
		ids = append(ids, binary.BigEndian.Uint32(it.Key()[len(prefix):]))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, err
	}
	out := make([]auditlog.Membership, 0, len(ids))
	for _, id := range ids {
		org, err := db.orgByID(id)
		if err != nil {
			return nil, err
		}
		var m auditlog.Member
		if err := db.getJSON(memberKey(id, email), &m); err != nil {
			return nil, fmt.Errorf("membership %s in %s: %w", email, org.OrgRef, err)
		}
		out = append(out, auditlog.Membership{OrgRef: org.OrgRef, Role: m.Role, Manager: m.Manager, Plan: org.Plan})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OrgRef.String() < out[j].OrgRef.String() })
	return out, nil
}

func (db *DB) getJSON(key []byte, v any) error {
	b, err := db.get(key)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func setJSON(b *pebble.Batch, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Set(key, data, nil)
}
