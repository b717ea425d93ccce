package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// queries reads pages of 100 events of the big organization, one request
// after another: the newest page cfg.Queries times, then a search for a rare
// word and one for an action a tenth as many times each; each kind stops
// after cfg.QueryTime (if not 0) once it has 5 answers, or at once when one
// query takes longer than that (TimedOut).
func (r *run) queries(ctx context.Context) error {
	org := r.orgs[0]
	for _, q := range []struct{ name, q string }{
		{"newest-100", ""},
		{"search-word", WordRare},
		{"search-action", "action:organizations.gatepolicies.setcodacydefault"},
	} {
		n := r.cfg.Queries
		if q.q != "" {
			n = max(n/10, 20)
		}
		params := url.Values{"limit": {"100"}}
		if q.q != "" {
			params.Set("q", q.q)
		}
		target := r.srv.URL + "/api/v1/organizations/" + org.Provider + "/" + url.PathEscape(org.Name) + "/events?" + params.Encode()
		lat := make([]time.Duration, 0, n)
		deadline := time.Now().Add(r.cfg.QueryTime)
		timedOut := false
		for i := range n {
			if r.cfg.QueryTime > 0 && i >= 5 && time.Now().After(deadline) {
				break // enough of this kind: the count says how many
			}
			t0 := time.Now()
			err := r.get(ctx, target, r.cfg.QueryTime)
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				timedOut = true // slower than the whole budget: no figure but this
				break
			}
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(t0))
		}
		res := QueryResult{Name: q.name, Q: q.q, Org: org.String(), Latency: summarize(lat), TimedOut: timedOut}
		if timedOut {
			r.cfg.progress("query %s: one query took longer than --query-time %s: stopped", q.name, r.cfg.QueryTime)
		}
		r.rep.Queries = append(r.rep.Queries, res)
		r.cfg.progress("query %s: %d, p50 %.2f ms, p99 %.2f ms", q.name, len(lat), res.Latency.P50, res.Latency.P99)
	}
	return nil
}

// get reads a page as the reader, in full, within timeout (if not 0).
func (r *run) get(ctx context.Context, target string, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, "GET", target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("api-token", r.reader)
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", target, describe(resp.StatusCode, body, err))
	}
	return nil
}

// describe is an answer that went wrong, for an error message.
func describe(status int, body []byte, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d %.300s", status, body)
}
