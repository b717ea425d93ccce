package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
)

// httpClient is shared by every scenario: enough idle connections for the
// open-loop load.
var httpClient = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}

// setup creates the run's organizations on the Business plan, and a reader:
// an admin of the big organization with an api-token.
func (r *run) setup(ctx context.Context) error {
	id := runID()
	admin := client.New(r.srv.URL, client.WithToken(r.srv.AdminToken), client.WithHTTPClient(httpClient))
	business := auditlog.PlanBusiness
	r.orgs = make([]auditlog.OrgRef, r.cfg.Orgs)
	for i := range r.orgs {
		r.orgs[i] = auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("bench-%s-%04d", id, i)}
		if _, _, err := admin.PutOrganization(ctx, r.orgs[i], auditlog.OrganizationUpdate{Plan: &business}); err != nil {
			return fmt.Errorf("create organization %s: %w", r.orgs[i], err)
		}
	}
	email := "reader-" + id + "@bench.example"
	role := auditlog.RoleOrganizationAdmin
	if _, _, err := admin.PutMember(ctx, r.orgs[0], email, auditlog.MemberUpdate{Role: &role}); err != nil {
		return fmt.Errorf("add the reader: %w", err)
	}
	tok, err := admin.CreateUserToken(ctx, email, nil)
	if err != nil {
		return fmt.Errorf("create the reader's token: %w", err)
	}
	r.reader = tok.Secret
	r.cfg.progress("server %s: %d organizations gh/bench-%s-*, reader %s", r.srv.URL, len(r.orgs), id, email)
	return nil
}

// reads is a client for the reader.
func (r *run) reads() *client.Client {
	return client.New(r.srv.URL, client.WithToken(r.reader), client.WithHTTPClient(httpClient), client.WithTimeout(time.Hour))
}
