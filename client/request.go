package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog"
)

// Retry is the policy of requests that may be sent again: event batches
// (their ids make a repeat store nothing twice) and requests that change
// nothing or set a state (GET, PUT, DELETE). They are retried on 429 and 5xx
// answers (but 501) and on network errors; creating a token (POST) is
// retried only on 429, which the server answers before doing anything.
//
// The wait before retry n (n = 1, 2, ...) is MinBackoff·2ⁿ⁻¹, at most
// MaxBackoff, of which a random half is taken off (jitter), so that many
// clients do not come back at once; a Retry-After header asks for longer.
type Retry struct {
	MaxAttempts int           // tries in all, the first one included; 1 never retries
	MinBackoff  time.Duration // wait before the first retry
	MaxBackoff  time.Duration // longest wait between tries, unless Retry-After says more
	// MaxRetryAfter, if set, bounds the Retry-After the client waits for: an
	// answer asking for a longer wait is returned as the error at once.
	MaxRetryAfter time.Duration
}

// DefaultRetry tries 8 times over about half a minute.
func DefaultRetry() Retry {
	return Retry{MaxAttempts: 8, MinBackoff: 250 * time.Millisecond, MaxBackoff: 15 * time.Second}
}

func (r Retry) normalize() Retry {
	d := DefaultRetry()
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 1
	}
	if r.MinBackoff <= 0 {
		r.MinBackoff = d.MinBackoff
	}
	if r.MaxBackoff < r.MinBackoff {
		r.MaxBackoff = r.MinBackoff
	}
	return r
}

// backoff is the wait before retry n (n >= 1): exponential, capped, with jitter.
func (r Retry) backoff(n int) time.Duration {
	d := r.MaxBackoff
	if n-1 < 32 {
		if e := r.MinBackoff << (n - 1); e > 0 && e < d {
			d = e
		}
	}
	half := d / 2
	return d - half + rand.N(half+1)
}

// request is one API call.
type request struct {
	method string
	path   []string // path segments after the base URL, escaped one by one
	query  url.Values
	body   []byte
	ctype  string // Content-Type of body; application/json by default
	// retry says the request may be sent again after a 5xx or network error.
	retry bool
	// stream leaves the body open for the caller and the attempt unbounded by the client's timeout.
	stream bool
}

func (c *Client) url(r *request) (string, error) {
	if c.baseErr != nil {
		return "", c.baseErr
	}
	var b strings.Builder
	b.WriteString(c.base.Scheme + "://" + c.base.Host)
	b.WriteString(strings.TrimRight(c.base.EscapedPath(), "/"))
	for _, s := range r.path {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	if len(r.query) > 0 {
		b.WriteByte('?')
		b.WriteString(r.query.Encode())
	}
	return b.String(), nil
}

// do sends the request, retrying it as its kind allows, and returns a
// response with a 2xx status, whose body the caller must close, or the
// error: the API's ApiError as an *auditlog.Error, a network error, or the
// context's.
func (c *Client) do(ctx context.Context, r *request) (*http.Response, error) {
	target, err := c.url(r)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		resp, cancel, err := c.attempt(ctx, r, target)
		if err == nil && resp.StatusCode < 300 {
			if cancel != nil {
				resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			}
			return resp, nil
		}
		var wait time.Duration
		retryable := false
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			retryable = r.retry // err, a *url.Error, names the method and URL
		} else {
			err = decodeError(resp)
			wait = retryAfter(resp.Header, time.Now())
			retryable = resp.StatusCode == http.StatusTooManyRequests ||
				r.retry && resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented
		}
		if cancel != nil {
			cancel()
		}
		if !retryable || attempt >= c.retry.MaxAttempts || c.retry.MaxRetryAfter > 0 && wait > c.retry.MaxRetryAfter {
			return nil, err
		}
		wait = max(wait, c.retry.backoff(attempt))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (c *Client) attempt(ctx context.Context, r *request, target string) (*http.Response, context.CancelFunc, error) {
	var cancel context.CancelFunc
	if !r.stream && c.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		if cancel != nil {
			cancel()
		}
		return nil, nil, err
	}
	if r.body != nil {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		if cancel != nil {
			cancel()
		}
		return nil, nil, err
	}
	return resp, cancel, nil
}

// cancelBody releases an attempt's timeout when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// statusCodes maps HTTP statuses back to the domain's error codes (the
// inverse of the server's table in package http).
var statusCodes = map[int]string{
	http.StatusBadRequest:            auditlog.EINVALID,
	http.StatusUnauthorized:          auditlog.EUNAUTHORIZED,
	http.StatusForbidden:             auditlog.EFORBIDDEN,
	http.StatusNotFound:              auditlog.ENOTFOUND,
	http.StatusConflict:              auditlog.ECONFLICT,
	http.StatusRequestEntityTooLarge: auditlog.ETOOLARGE,
	http.StatusUnprocessableEntity:   auditlog.EUNPROCESSABLE,
	http.StatusTooManyRequests:       auditlog.ETOOMANY,
	http.StatusServiceUnavailable:    auditlog.EUNAVAILABLE,
	http.StatusBadGateway:            auditlog.EUNAVAILABLE,
	http.StatusGatewayTimeout:        auditlog.EUNAVAILABLE,
}

// StatusCode returns the domain error code of an HTTP status.
func StatusCode(status int) string {
	if code, ok := statusCodes[status]; ok {
		return code
	}
	if status >= 400 && status < 500 {
		return auditlog.EINVALID
	}
	return auditlog.EINTERNAL
}

// decodeError reads an error response (Codacy's ApiError) into an
// *auditlog.Error: its code from the status, its message from the body, and
// for a rejected batch the invalid events as []auditlog.EventError in Details.
// A body that is not an ApiError (a proxy's page) gives a message naming the status.
func decodeError(resp *http.Response) error {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var body struct {
		Error   string          `json:"error"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	}
	e := &auditlog.Error{Code: StatusCode(resp.StatusCode)}
	if json.Unmarshal(data, &body) == nil && body.Message != "" {
		e.Message = body.Message
	} else {
		e.Message = fmt.Sprintf("the server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if len(body.Details) > 0 && string(body.Details) != "null" {
		var bad []auditlog.EventError
		if json.Unmarshal(body.Details, &bad) == nil {
			e.Details = bad
		} else {
			e.Details = body.Details
		}
	}
	return e
}

// doJSON sends a request and decodes its JSON answer into out (unless nil).
func (c *Client) doJSON(ctx context.Context, r *request, out any) (status int, err error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decoding the answer: %w", r.method, strings.Join(r.path, "/"), err)
	}
	return resp.StatusCode, nil
}

// jsonBody encodes v as a request body.
func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("client: encoding a request body: " + err.Error()) // only the SDK's own types are encoded
	}
	return b
}
