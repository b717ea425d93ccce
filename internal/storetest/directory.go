package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	acme = auditlog.OrgRef{Provider: "gh", Name: "acme"}
	beta = auditlog.OrgRef{Provider: "gl", Name: "beta"}
	zeta = auditlog.OrgRef{Provider: "bbe", Name: "zeta-corp"}
)

func testOrganizations(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("CreateThenUpdate", func(t *testing.T) {
		s, clock := mustOpen(t, open)
		org, created, err := s.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{})
		if err != nil {
			t.Fatal(err)
		}
		if !created {
			t.Error("first put: created = false, want true")
		}
		want := &auditlog.Organization{OrgRef: acme, Plan: auditlog.PlanFree, RetentionDays: 365, LegalHold: false, CreatedAt: T0, UpdatedAt: T0}
		if diff := cmp.Diff(want, org); diff != "" {
			t.Errorf("created organization (-want +got):\n%s", diff)
		}
		got, err := s.FindOrganization(ctx, acme)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("found organization (-want +got):\n%s", diff)
		}

		clock.Advance(time.Hour)
		org, created, err = s.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{
			Plan: ptr(auditlog.PlanBusiness), RetentionDays: ptr(30), LegalHold: ptr(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		if created {
			t.Error("second put: created = true, want false")
		}
		want = &auditlog.Organization{OrgRef: acme, Plan: auditlog.PlanBusiness, RetentionDays: 30, LegalHold: true, CreatedAt: T0, UpdatedAt: T0.Add(time.Hour)}
		if diff := cmp.Diff(want, org); diff != "" {
			t.Errorf("updated organization (-want +got):\n%s", diff)
		}

		// Fields left unset keep their value.
		clock.Advance(time.Hour)
		if _, _, err := s.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{LegalHold: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		want.LegalHold, want.UpdatedAt = false, T0.Add(2*time.Hour)
		got, err = s.FindOrganization(ctx, acme)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after a partial update (-want +got):\n%s", diff)
		}
		if _, _, err := s.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{}); err != nil {
			t.Fatal(err)
		}
		if got, err = s.FindOrganization(ctx, acme); err != nil {
			t.Fatal(err)
		}
		if got.Plan != auditlog.PlanBusiness || got.RetentionDays != 30 {
			t.Errorf("an empty update changed plan/retention to %q/%d", got.Plan, got.RetentionDays)
		}
	})

	t.Run("Distinct", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		// The same name on another provider, and another name, are other organizations.
		MustCreateOrg(t, s, auditlog.OrgRef{Provider: "gl", Name: "acme"}, auditlog.PlanPro)
		MustCreateOrg(t, s, auditlog.OrgRef{Provider: "gh", Name: "acme2"}, auditlog.PlanFree)
		for ref, want := range map[auditlog.OrgRef]string{
			acme: auditlog.PlanBusiness, {Provider: "gl", Name: "acme"}: auditlog.PlanPro, {Provider: "gh", Name: "acme2"}: auditlog.PlanFree,
		} {
			org, err := s.FindOrganization(ctx, ref)
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			if org.OrgRef != ref || org.Plan != want {
				t.Errorf("%s: got %s on %q, want plan %q", ref, org.OrgRef, org.Plan, want)
			}
		}
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		// Racing creations of one organization create it once; racing creations
		// of different ones create different organizations, whose logs are apart.
		const n = 10
		s, _ := mustOpen(t, open)
		var (
			wg      sync.WaitGroup
			created = make([]bool, n)
			errs    = make([]error, 2*n)
		)
		for i := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, created[i], errs[i] = s.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{})
			}()
			go func() {
				defer wg.Done()
				ref := auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("org-%d", i)}
				_, _, errs[n+i] = s.PutOrganization(ctx, ref, auditlog.OrganizationUpdate{})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
		}
		if got := slices.Index(created, true); got < 0 || slices.Index(created[got+1:], true) >= 0 {
			t.Errorf("created = %v, want exactly one true", created)
		}
		for i := range n {
			res := MustAppend(t, s, NewEvent(auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("org-%d", i)}, "e"))
			if res.Accepted != 1 || res.Events[0].Sequence != 0 {
				t.Errorf("org-%d: first event %+v, want accepted at sequence 0", i, res)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanFree)
		_, err := s.FindOrganization(ctx, auditlog.OrgRef{Provider: "gh", Name: "nobody"})
		wantCode(t, err, auditlog.ENOTFOUND)
	})

	t.Run("Invalid", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			ref  auditlog.OrgRef
			upd  auditlog.OrganizationUpdate
			code string
		}{
			{"provider", auditlog.OrgRef{Provider: "github", Name: "acme"}, auditlog.OrganizationUpdate{}, auditlog.EINVALID},
			{"empty provider", auditlog.OrgRef{Name: "acme"}, auditlog.OrganizationUpdate{}, auditlog.EINVALID},
			{"empty name", auditlog.OrgRef{Provider: "gh"}, auditlog.OrganizationUpdate{}, auditlog.EINVALID},
			{"slash in name", auditlog.OrgRef{Provider: "gh", Name: "a/b"}, auditlog.OrganizationUpdate{}, auditlog.EINVALID},
			{"plan", acme, auditlog.OrganizationUpdate{Plan: ptr("enterprise")}, auditlog.EUNPROCESSABLE},
			{"plan case", acme, auditlog.OrganizationUpdate{Plan: ptr("Business")}, auditlog.EUNPROCESSABLE},
			{"retention 0", acme, auditlog.OrganizationUpdate{RetentionDays: ptr(0)}, auditlog.EUNPROCESSABLE},
			{"retention -1", acme, auditlog.OrganizationUpdate{RetentionDays: ptr(-1)}, auditlog.EUNPROCESSABLE},
			{"retention 3651", acme, auditlog.OrganizationUpdate{RetentionDays: ptr(3651)}, auditlog.EUNPROCESSABLE},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s, _ := mustOpen(t, open)
				_, _, err := s.PutOrganization(ctx, tt.ref, tt.upd)
				wantCode(t, err, tt.code)
				// Nothing was created.
				if tt.ref.Validate() == nil {
					_, err := s.FindOrganization(ctx, tt.ref)
					wantCode(t, err, auditlog.ENOTFOUND)
				}
				// Nor is an existing organization changed.
				MustCreateOrg(t, s, acme, auditlog.PlanPro)
				if tt.ref == acme {
					_, _, err := s.PutOrganization(ctx, acme, tt.upd)
					wantCode(t, err, tt.code)
					org, err := s.FindOrganization(ctx, acme)
					if err != nil {
						t.Fatal(err)
					}
					if org.Plan != auditlog.PlanPro || org.RetentionDays != 365 {
						t.Errorf("a rejected update changed the organization to %q/%d", org.Plan, org.RetentionDays)
					}
				}
			})
		}
	})

	t.Run("RetentionBounds", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		for _, days := range []int{1, 3650} {
			org, _, err := s.PutOrganization(ctx, acme, auditlog.OrganizationUpdate{RetentionDays: ptr(days)})
			if err != nil {
				t.Fatalf("retention %d: %v", days, err)
			}
			if org.RetentionDays != days {
				t.Errorf("retention %d: got %d", days, org.RetentionDays)
			}
		}
	})
}

func testMembers(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("CreateUpdateFind", func(t *testing.T) {
		s, clock := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)

		m, created, err := s.PutMember(ctx, acme, "  Alice@Example.COM ", auditlog.MemberUpdate{Role: ptr(auditlog.RoleRepositoryWrite)})
		if err != nil {
			t.Fatal(err)
		}
		if !created {
			t.Error("first put: created = false, want true")
		}
		want := &auditlog.Member{Org: acme, Email: "alice@example.com", Role: auditlog.RoleRepositoryWrite, Manager: false, CreatedAt: T0, UpdatedAt: T0}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("created member (-want +got):\n%s", diff)
		}
		for _, email := range []string{"alice@example.com", "ALICE@example.com"} {
			got, err := s.FindMember(ctx, acme, email)
			if err != nil {
				t.Fatalf("find %s: %v", email, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("find %s (-want +got):\n%s", email, diff)
			}
		}

		// Granting the manager flag keeps the role; changing the role keeps the flag.
		clock.Advance(time.Minute)
		m, created, err = s.PutMember(ctx, acme, "alice@example.com", auditlog.MemberUpdate{Manager: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		if created {
			t.Error("second put: created = true, want false")
		}
		want.Manager, want.UpdatedAt = true, T0.Add(time.Minute)
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("after granting manager (-want +got):\n%s", diff)
		}
		clock.Advance(time.Minute)
		if _, _, err := s.PutMember(ctx, acme, "ALICE@EXAMPLE.COM", auditlog.MemberUpdate{Role: ptr(auditlog.RoleOrganizationAdmin)}); err != nil {
			t.Fatal(err)
		}
		want.Role, want.UpdatedAt = auditlog.RoleOrganizationAdmin, T0.Add(2*time.Minute)
		got, err := s.FindMember(ctx, acme, "alice@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after changing the role (-want +got):\n%s", diff)
		}
		if !got.CanReadAuditLog() {
			t.Error("an organizationAdmin manager cannot read the audit log")
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			ref   auditlog.OrgRef
			email string
			upd   auditlog.MemberUpdate
			code  string
		}{
			{"role required on create", acme, "bob@example.com", auditlog.MemberUpdate{Manager: ptr(true)}, auditlog.EUNPROCESSABLE},
			{"invalid role", acme, "bob@example.com", auditlog.MemberUpdate{Role: ptr("owner")}, auditlog.EUNPROCESSABLE},
			{"manager is not a member role", acme, "bob@example.com", auditlog.MemberUpdate{Role: ptr(auditlog.RoleOrganizationManager)}, auditlog.EUNPROCESSABLE},
			{"empty role", acme, "bob@example.com", auditlog.MemberUpdate{Role: ptr("")}, auditlog.EUNPROCESSABLE},
			{"invalid email", acme, "bob", auditlog.MemberUpdate{Role: ptr(auditlog.RoleRepositoryRead)}, auditlog.EINVALID},
			{"empty email", acme, "", auditlog.MemberUpdate{Role: ptr(auditlog.RoleRepositoryRead)}, auditlog.EINVALID},
			{"unknown organization", beta, "bob@example.com", auditlog.MemberUpdate{Role: ptr(auditlog.RoleRepositoryRead)}, auditlog.ENOTFOUND},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s, _ := mustOpen(t, open)
				MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
				_, _, err := s.PutMember(ctx, tt.ref, tt.email, tt.upd)
				wantCode(t, err, tt.code)
				if tt.code != auditlog.EINVALID {
					_, err := s.FindMember(ctx, tt.ref, tt.email)
					wantCode(t, err, auditlog.ENOTFOUND)
				}
			})
		}
	})

	t.Run("InvalidRoleKeepsMember", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustPutMember(t, s, acme, "bob@example.com", auditlog.RoleRepositoryAdmin, false)
		_, _, err := s.PutMember(ctx, acme, "bob@example.com", auditlog.MemberUpdate{Role: ptr("root")})
		wantCode(t, err, auditlog.EUNPROCESSABLE)
		m, err := s.FindMember(ctx, acme, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if m.Role != auditlog.RoleRepositoryAdmin {
			t.Errorf("role %q after a rejected update, want %q", m.Role, auditlog.RoleRepositoryAdmin)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustCreateOrg(t, s, beta, auditlog.PlanBusiness)
		MustPutMember(t, s, beta, "bob@example.com", auditlog.RoleOrganizationAdmin, false)

		_, err := s.FindMember(ctx, acme, "bob@example.com") // a member of another organization
		wantCode(t, err, auditlog.ENOTFOUND)
		_, err = s.FindMember(ctx, acme, "nobody@example.com")
		wantCode(t, err, auditlog.ENOTFOUND)
		_, err = s.FindMember(ctx, zeta, "bob@example.com") // an unknown organization
		wantCode(t, err, auditlog.ENOTFOUND)
		wantCode(t, s.DeleteMember(ctx, acme, "bob@example.com"), auditlog.ENOTFOUND)
		wantCode(t, s.DeleteMember(ctx, zeta, "bob@example.com"), auditlog.ENOTFOUND)
	})

	t.Run("Delete", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustCreateOrg(t, s, beta, auditlog.PlanFree)
		MustPutMember(t, s, acme, "bob@example.com", auditlog.RoleOrganizationAdmin, true)
		MustPutMember(t, s, beta, "bob@example.com", auditlog.RoleRepositoryRead, false)
		MustPutMember(t, s, acme, "carol@example.com", auditlog.RoleRepositoryRead, false)

		if err := s.DeleteMember(ctx, acme, "Bob@Example.com"); err != nil {
			t.Fatal(err)
		}
		_, err := s.FindMember(ctx, acme, "bob@example.com")
		wantCode(t, err, auditlog.ENOTFOUND)
		wantCode(t, s.DeleteMember(ctx, acme, "bob@example.com"), auditlog.ENOTFOUND)
		// Only that membership is gone.
		if _, err := s.FindMember(ctx, beta, "bob@example.com"); err != nil {
			t.Errorf("bob in %s: %v", beta, err)
		}
		if _, err := s.FindMember(ctx, acme, "carol@example.com"); err != nil {
			t.Errorf("carol in %s: %v", acme, err)
		}
		got, err := s.Memberships(ctx, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		want := []auditlog.Membership{{OrgRef: beta, Role: auditlog.RoleRepositoryRead, Plan: auditlog.PlanFree}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("memberships after delete (-want +got):\n%s", diff)
		}

		// A deleted member added again starts afresh: no manager flag left over.
		m, created, err := s.PutMember(ctx, acme, "bob@example.com", auditlog.MemberUpdate{Role: ptr(auditlog.RoleRepositoryRead)})
		if err != nil {
			t.Fatal(err)
		}
		if !created || m.Manager {
			t.Errorf("re-added member: created %v, manager %v; want true, false", created, m.Manager)
		}
	})

	t.Run("Memberships", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustCreateOrg(t, s, beta, auditlog.PlanFree)
		MustCreateOrg(t, s, zeta, auditlog.PlanPro)
		MustPutMember(t, s, acme, "alice@example.com", auditlog.RoleOrganizationAdmin, false)
		MustPutMember(t, s, beta, "Alice@example.com", auditlog.RoleOrganizationMember, true)
		MustPutMember(t, s, zeta, "bob@example.com", auditlog.RoleRepositoryRead, false)

		// The plan is the organization's current one.
		if _, _, err := s.PutOrganization(ctx, beta, auditlog.OrganizationUpdate{Plan: ptr(auditlog.PlanPro)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Memberships(ctx, "ALICE@example.com")
		if err != nil {
			t.Fatal(err)
		}
		want := []auditlog.Membership{
			{OrgRef: acme, Role: auditlog.RoleOrganizationAdmin, Manager: false, Plan: auditlog.PlanBusiness},
			{OrgRef: beta, Role: auditlog.RoleOrganizationMember, Manager: true, Plan: auditlog.PlanPro},
		}
		byOrg := cmpopts.SortSlices(func(a, b auditlog.Membership) bool { return a.OrgRef.String() < b.OrgRef.String() })
		if diff := cmp.Diff(want, got, byOrg); diff != "" {
			t.Errorf("memberships (-want +got):\n%s", diff)
		}

		got, err = s.Memberships(ctx, "nobody@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("memberships of a stranger: %v, want none", got)
		}
	})
}
