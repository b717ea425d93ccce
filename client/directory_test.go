package client_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
)

// TestDirectory: the client is an auditlog.DirectoryService over HTTP, and
// manages tokens: the admin's bootstrap and the user's own.
func TestDirectory(t *testing.T) {
	s := MustRunServer(t)
	admin := client.New(s.URL, client.WithToken(adminToken))
	var dir auditlog.DirectoryService = admin
	ctx := t.Context()

	plan := auditlog.PlanBusiness
	org, created, err := dir.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{Plan: &plan})
	if err != nil || !created || org.Plan != plan || org.RetentionDays != auditlog.DefaultRetentionDays || org.OrgRef != acme {
		t.Fatalf("create: %+v, created %v, %v", org, created, err)
	}
	days := 30
	org, created, err = dir.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{RetentionDays: &days})
	if err != nil || created || org.Plan != plan || org.RetentionDays != 30 {
		t.Fatalf("update: %+v, created %v, %v", org, created, err)
	}
	if org, err := dir.FindOrganization(ctx, acme); err != nil || org.RetentionDays != 30 {
		t.Fatalf("find: %+v, %v", org, err)
	}
	_, err = dir.FindOrganization(ctx, beta)
	wantCode(t, err, auditlog.ENOTFOUND)
	bad := "gold"
	_, _, err = dir.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{Plan: &bad})
	wantCode(t, err, auditlog.EUNPROCESSABLE)

	role := auditlog.RoleOrganizationAdmin
	m, created, err := dir.PutMember(ctx, acme, "Ana@Acme.example", auditlog.MemberUpdate{Role: &role})
	if err != nil || !created || m.Email != "ana@acme.example" || m.Role != role {
		t.Fatalf("put member: %+v, %v, %v", m, created, err)
	}
	member := auditlog.RoleOrganizationMember
	if _, _, err := dir.PutMember(ctx, acme, "bob+audit@acme.example", auditlog.MemberUpdate{Role: &member}); err != nil {
		t.Fatal(err)
	}
	if m, err := dir.FindMember(ctx, acme, "bob+audit@acme.example"); err != nil || m.Role != member {
		t.Fatalf("find member: %+v, %v", m, err)
	}

	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	tok, err := admin.CreateUserToken(ctx, "ana@acme.example", &expires)
	if err != nil || !strings.HasPrefix(tok.Secret, auditlog.TokenPrefix) || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(expires) {
		t.Fatalf("bootstrap token: %+v, %v", tok, err)
	}
	ana := client.New(s.URL, client.WithToken(tok.Secret))
	u, err := ana.User(ctx)
	if err != nil || u.Email != "ana@acme.example" || len(u.Organizations) != 1 || u.Organizations[0].OrgRef != acme {
		t.Fatalf("user: %+v, %v", u, err)
	}
	if ms, err := ana.Memberships(ctx, "ANA@acme.example"); err != nil || len(ms) != 1 {
		t.Fatalf("memberships: %v, %v", ms, err)
	}
	_, err = ana.Memberships(ctx, "bob+audit@acme.example")
	wantCode(t, err, auditlog.EFORBIDDEN)

	second, err := ana.CreateOwnToken(ctx, nil)
	if err != nil || second.Secret == "" || second.Secret == tok.Secret {
		t.Fatalf("own token: %+v, %v", second, err)
	}
	tokens, err := ana.OwnTokens(ctx)
	if err != nil || len(tokens) != 2 || tokens[0].ID != tok.ID || tokens[1].ID != second.ID || tokens[0].Secret != "" {
		t.Fatalf("own tokens: %+v, %v", tokens, err)
	}
	if err := ana.DeleteOwnToken(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	_, err = client.New(s.URL, client.WithToken(second.Secret)).User(ctx)
	wantCode(t, err, auditlog.EUNAUTHORIZED)
	wantCode(t, ana.DeleteOwnToken(ctx, second.ID), auditlog.ENOTFOUND)
	_, err = admin.CreateOwnToken(ctx, nil)
	wantCode(t, err, auditlog.EFORBIDDEN)

	m, err = ana.GrantManager(ctx, acme, "bob+audit@acme.example")
	if err != nil || !m.Manager {
		t.Fatalf("grant manager: %+v, %v", m, err)
	}
	if err := ana.RevokeManager(ctx, acme, "bob+audit@acme.example"); err != nil {
		t.Fatal(err)
	}
	if m, err := dir.FindMember(ctx, acme, "bob+audit@acme.example"); err != nil || m.Manager {
		t.Fatalf("after revoke: %+v, %v", m, err)
	}

	if err := dir.DeleteMember(ctx, acme, "bob+audit@acme.example"); err != nil {
		t.Fatal(err)
	}
	_, err = dir.FindMember(ctx, acme, "bob+audit@acme.example")
	wantCode(t, err, auditlog.ENOTFOUND)

	actions, err := ana.Actions(ctx)
	if err != nil || len(actions) != len(auditlog.Actions()) {
		t.Errorf("actions: %d, %v", len(actions), err)
	}
}

// TestProofs: checkpoints, inclusion and consistency proofs, and erasure.
func TestProofs(t *testing.T) {
	s := MustRunServer(t)
	tok := mustSeed(t, s, acme, 5)
	c := client.New(s.URL, client.WithToken(tok))
	ctx := t.Context()
	waitFor(t, "a checkpoint", func() bool {
		cp, err := c.Checkpoint(ctx, acme)
		return err == nil && strings.HasPrefix(string(cp), "auditlog/gh/acme\n5\n")
	})
	p, err := c.InclusionProof(ctx, acme, 2, 0)
	if err != nil || p.Sequence != 2 || p.TreeSize != 5 || len(p.Proof) == 0 || p.Checkpoint == "" {
		t.Fatalf("inclusion: %+v, %v", p, err)
	}
	_, err = c.InclusionProof(ctx, acme, 9, 0)
	if auditlog.ErrorCode(err) == "" {
		t.Error("a proof of an event beyond the tree")
	}
	if _, err := c.ConsistencyProof(ctx, acme, 5, 0); err != nil {
		t.Fatal(err)
	}
	n, err := client.New(s.URL, client.WithToken(adminToken)).EraseUser(ctx, "ana@acme.example")
	if err != nil || n != 5 {
		t.Fatalf("erase: %d, %v", n, err)
	}
}
