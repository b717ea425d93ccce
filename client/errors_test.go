package client_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
)

// TestErrors: the API's errors come back as *auditlog.Error with the code
// of their status and the ApiError's message, a rejected batch's details as
// []auditlog.EventError.
func TestErrors(t *testing.T) {
	s := MustRunServer(t)
	tok := mustSeed(t, s, acme, 3)
	s.MustCreateOrg(beta, auditlog.PlanPro)
	s.MustReader(beta, "ana@acme.example")
	gamma := auditlog.OrgRef{Provider: "gh", Name: "gamma"}
	s.MustCreateOrg(gamma, auditlog.PlanBusiness)
	reader := client.New(s.URL, client.WithToken(tok))
	admin := client.New(s.URL, client.WithToken(adminToken))
	ctx := t.Context()
	list := func(c *client.Client, ref auditlog.OrgRef, opts client.ListOptions) error {
		_, err := c.ListEvents(ctx, ref, opts)
		return err
	}
	for _, tc := range []struct {
		name, code, message string
		err                 error
	}{
		{"no token", auditlog.EUNAUTHORIZED, "missing credential", list(client.New(s.URL), acme, client.ListOptions{})},
		{"wrong token", auditlog.EUNAUTHORIZED, "", list(client.New(s.URL, client.WithToken("alt_nope")), acme, client.ListOptions{})},
		{"admin reads", auditlog.EFORBIDDEN, "the admin token cannot read events", list(admin, acme, client.ListOptions{})},
		{"not a member", auditlog.ENOTFOUND, "organization not found", list(reader, gamma, client.ListOptions{})},
		{"unknown organization", auditlog.ENOTFOUND, "organization not found", list(reader, auditlog.OrgRef{Provider: "gh", Name: "nope"}, client.ListOptions{})},
		{"not business", auditlog.EFORBIDDEN, "only available on the Business plan", list(reader, beta, client.ListOptions{})},
		{"bad query", auditlog.EINVALID, `term 1 "action:user.dance"`, list(reader, acme, client.ListOptions{Query: "action:user.dance"})},
		{"bad cursor", auditlog.EINVALID, "invalid cursor", list(reader, acme, client.ListOptions{Cursor: "AAAA"})},
		{"bad limit", auditlog.EINVALID, "limit must be an integer from 1 to 1000", list(reader, acme, client.ListOptions{Limit: 1001})},
		{"bad provider", auditlog.EINVALID, "unknown provider", list(reader, auditlog.OrgRef{Provider: "sf", Name: "x"}, client.ListOptions{})},
		{"reader ingests", auditlog.EFORBIDDEN, "requires the admin token", func() error {
			_, err := reader.AppendEvents(ctx, []auditlog.Event{login(acme, "")})
			return err
		}()},
		{"bad server URL", auditlog.EINVALID, "invalid server URL", list(client.New("localhost:8080"), acme, client.ListOptions{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *auditlog.Error
			if !errors.As(tc.err, &e) {
				t.Fatalf("%v is not an *auditlog.Error", tc.err)
			}
			wantCode(t, tc.err, tc.code)
			wantMessage(t, tc.err, tc.message)
		})
	}
}

// TestBatchErrorDetails: a batch the server refuses is a 422 whose details
// name each bad event by index; an invalid one never leaves the client.
func TestBatchErrorDetails(t *testing.T) {
	s := MustRunServer(t)
	s.MustCreateOrg(acme, auditlog.PlanBusiness)
	cnt := &counter{}
	c := client.New(s.URL, client.WithToken(adminToken), client.WithHTTPClient(&http.Client{Transport: cnt}))

	_, err := c.AppendEvents(t.Context(), []auditlog.Event{login(acme, ""), login(beta, ""), login(acme, ""), login(beta, "")})
	wantCode(t, err, auditlog.EUNPROCESSABLE)
	wantMessage(t, err, "2 events are invalid; nothing was stored")
	if got, want := fmt.Sprint(auditlog.ErrorDetails(err)), "[{1 organization gl/beta does not exist} {3 organization gl/beta does not exist}]"; got != want {
		t.Errorf("details %s, want %s", got, want)
	}
	if n := cnt.Count("POST /api/v1/events"); n != 1 {
		t.Errorf("%d requests, want 1: a 422 is not retried", n)
	}

	bad := login(acme, "")
	bad.Action = "user.dance"
	_, err = c.AppendEvents(t.Context(), []auditlog.Event{login(acme, ""), bad})
	wantCode(t, err, auditlog.EUNPROCESSABLE)
	if got := fmt.Sprint(auditlog.ErrorDetails(err)); !strings.HasPrefix(got, `[{1 unknown action "user.dance"`) {
		t.Errorf("details %s", got)
	}
	if n := cnt.Count("POST /api/v1/events"); n != 1 {
		t.Errorf("an invalid batch was sent")
	}
	s.MustHaveExactly(acme, 0)
}

// TestErrorsNotFromTheAPI: an answer that is not an ApiError (a proxy's page)
// keeps its status's code; a network error is not an *auditlog.Error.
func TestErrorsNotFromTheAPI(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway</html>")
	}))
	defer page.Close()
	c := client.New(page.URL, client.WithRetry(client.Retry{MaxAttempts: 1}))
	_, err := c.FindOrganization(t.Context(), acme)
	wantCode(t, err, auditlog.EUNAVAILABLE)
	wantMessage(t, err, "the server answered 502 Bad Gateway")

	page.Close()
	_, err = c.FindOrganization(t.Context(), acme)
	var e *auditlog.Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("network error: %v", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("network error %q does not say what happened", err)
	}
}
