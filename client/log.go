package client

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/auditlog/auditlog"
)

// Tamper evidence, erasure and the public endpoints.

// Checkpoint returns the organization's latest signed checkpoint, a C2SP
// signed note; check it with the verifier key (LogKey) obtained beforehand
// and kept. It needs an account API token of an organization admin or manager.
func (c *Client) Checkpoint(ctx context.Context, ref auditlog.OrgRef) ([]byte, error) {
	path, err := orgPath(ref, "checkpoint")
	if err != nil {
		return nil, err
	}
	return c.text(ctx, path, nil)
}

// LogKey returns the server's checkpoint verifier key, which anyone may read.
func (c *Client) LogKey(ctx context.Context) (string, error) {
	b, err := c.text(ctx, []string{"api", "v1", "log-key"}, nil)
	return strings.TrimSpace(string(b)), err
}

// InclusionProof proves the event at seq in the organization's tree of size
// size (0: the latest checkpoint's). It needs an account API token of an
// organization admin or manager.
func (c *Client) InclusionProof(ctx context.Context, ref auditlog.OrgRef, seq, size int64) (*auditlog.InclusionProof, error) {
	path, err := orgPath(ref, "events", fmt.Sprint(seq), "proof")
	if err != nil {
		return nil, err
	}
	params := url.Values{}
	if size > 0 {
		params.Set("size", fmt.Sprint(size))
	}
	var p auditlog.InclusionProof
	if _, err := c.doJSON(ctx, &request{method: "GET", path: path, query: params, retry: true}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ConsistencyProof proves the organization's signed checkpoint of size from
// consistent with the one of size to (0: the latest). It needs an account
// API token of an organization admin or manager.
func (c *Client) ConsistencyProof(ctx context.Context, ref auditlog.OrgRef, from, to int64) (*auditlog.ConsistencyProof, error) {
	path, err := orgPath(ref, "consistency")
	if err != nil {
		return nil, err
	}
	params := url.Values{"from": {fmt.Sprint(from)}}
	if to > 0 {
		params.Set("to", fmt.Sprint(to))
	}
	var p auditlog.ConsistencyProof
	if _, err := c.doJSON(ctx, &request{method: "GET", path: path, query: params, retry: true}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// EraseUser removes a person's personal data from every stored event and
// reports how many events changed. It needs the admin token.
func (c *Client) EraseUser(ctx context.Context, email string) (int, error) {
	var body struct {
		ErasedEvents int `json:"erasedEvents"`
	}
	_, err := c.doJSON(ctx, &request{method: "POST", path: []string{"api", "v1", "users", email, "erase"}, retry: true}, &body)
	return body.ErasedEvents, err
}

// Actions returns the server's action catalog.
func (c *Client) Actions(ctx context.Context) ([]auditlog.Action, error) {
	var out []auditlog.Action
	_, err := c.doJSON(ctx, &request{method: "GET", path: []string{"api", "v1", "actions"}, retry: true}, &out)
	return out, err
}

// text reads a small text/plain answer.
func (c *Client) text(ctx context.Context, path []string, params url.Values) ([]byte, error) {
	resp, err := c.do(ctx, &request{method: "GET", path: path, query: params, retry: true})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", strings.Join(path, "/"), err)
	}
	return b, nil
}
