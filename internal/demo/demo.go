// Package demo seeds a store with a demonstration organization, gh/demo: its
// members and a year of realistic audit events, so that the viewer, the API and
// the exports have something to show on a fresh install.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/auditlog/auditlog"
)

// Org is the demo organization.
var Org = auditlog.OrgRef{Provider: "gh", Name: "demo"}

// AdminEmail is the demo organization's admin.
const AdminEmail = "admin@demo.example"

// batchSize is how many events Seed appends per AppendEvents call.
const batchSize = 1000

// Services are what Seed writes to.
type Services struct {
	Directory auditlog.DirectoryService
	Tokens    auditlog.TokenService
	Events    auditlog.EventService
}

// Seed creates gh/demo on the Business plan with an organizationAdmin (AdminEmail) and
// several other members of various roles (one with the manager flag), and — only if the organization
// has no events yet — fills a year (ending at now) of realistic events covering every catalog action
// (auditlog.Actions()), from several actors and repositories, then creates a fresh account API token
// for AdminEmail and returns its secret. It is safe to call on every start (a restart does not refill).
func Seed(ctx context.Context, s Services, now time.Time, rng *rand.Rand) (token string, err error) {
	plan := auditlog.PlanBusiness
	if _, _, err := s.Directory.PutOrganization(ctx, Org, auditlog.OrganizationUpdate{Plan: &plan}); err != nil {
		return "", fmt.Errorf("demo: put organization: %w", err)
	}
	for _, p := range people {
		role, manager := p.role, p.manager
		if _, _, err := s.Directory.PutMember(ctx, Org, p.email, auditlog.MemberUpdate{Role: &role, Manager: &manager}); err != nil {
			return "", fmt.Errorf("demo: put member %s: %w", p.email, err)
		}
	}

	empty, err := hasNoEvents(ctx, s.Events)
	if err != nil {
		return "", err
	}
	if empty {
		events := Events(now, rng)
		for i := 0; i < len(events); i += batchSize {
			batch := events[i:min(i+batchSize, len(events))]
			if _, err := s.Events.AppendEvents(ctx, batch); err != nil {
				return "", fmt.Errorf("demo: append events %d-%d: %w", i, i+len(batch)-1, err)
			}
		}
	}

	t, err := s.Tokens.CreateToken(ctx, AdminEmail, nil)
	if err != nil {
		return "", fmt.Errorf("demo: create token: %w", err)
	}
	return t.Secret, nil
}

func hasNoEvents(ctx context.Context, events auditlog.EventService) (bool, error) {
	for _, err := range events.FindEvents(ctx, Org, auditlog.EventFilter{Limit: 1}) {
		if err != nil {
			return false, fmt.Errorf("demo: find events: %w", err)
		}
		return false, nil
	}
	return true, nil
}
