// Package webhook delivers stream events to HTTP receivers (SPEC §10): one
// POST of {"events": [v1 events]} per batch, signed with the stream's secret.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/auditlog/auditlog"
)

// Headers of a delivery.
const (
	HeaderDelivery  = "X-Auditlog-Delivery"
	HeaderSignature = "X-Auditlog-Signature"
)

// MaxBatch is the most events one POST carries.
const MaxBatch = 100

// Deliverer POSTs batches of events to webhook streams. It implements auditlog.Deliverer.
type Deliverer struct {
	// Client sends the requests; it must not follow redirects (a redirect is a failure).
	Client *http.Client
	// Now is the clock of the signatures' timestamps.
	Now func() time.Time
	// UserAgent is sent with every request.
	UserAgent string
}

var _ auditlog.Deliverer = (*Deliverer)(nil)

// NewDeliverer returns a Deliverer with its own client: requests time out
// after timeout, redirects are not followed.
func NewDeliverer(timeout time.Duration) *Deliverer {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	return &Deliverer{
		Client: &http.Client{
			Transport:     tr,
			Timeout:       timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Now:       time.Now,
		UserAgent: "auditlog-webhook/1",
	}
}

// Sign returns the X-Auditlog-Signature value of body sent at t:
// t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Body returns the JSON body of a delivery: {"events": [v1 events]}.
func Body(events []*auditlog.Event) []byte {
	b := make([]byte, 0, 64+600*len(events))
	b = append(b, `{"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.AppendJSON(b)
	}
	return append(b, "]}"...)
}

// DeliveryID names a delivery: the stream and the sequences of its first
// and last events. A retry of the same batch carries the same id, so that a
// receiver can tell a retry from new events.
func DeliveryID(s *auditlog.Stream, events []*auditlog.Event) string {
	return s.ID + "-" + strconv.FormatInt(events[0].Sequence, 10) + "-" + strconv.FormatInt(events[len(events)-1].Sequence, 10)
}

// StatusError is a receiver's answer other than 2xx.
type StatusError struct {
	Status     int
	retryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("the receiver answered %d %s", e.Status, http.StatusText(e.Status))
}

// RetryAfter is the wait the receiver asked for with Retry-After, if any.
func (e *StatusError) RetryAfter() time.Duration { return e.retryAfter }

// Deliver POSTs events, in batches of at most MaxBatch, and succeeds once
// the receiver answered each with a 2xx status.
func (d *Deliverer) Deliver(ctx context.Context, s *auditlog.Stream, secret []byte, events []*auditlog.Event) error {
	for len(events) > 0 {
		n := min(len(events), MaxBatch)
		if err := d.post(ctx, s, secret, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

func (d *Deliverer) post(ctx context.Context, s *auditlog.Stream, secret []byte, events []*auditlog.Event) error {
	body := Body(events)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("the webhook url is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.UserAgent)
	req.Header.Set(HeaderDelivery, DeliveryID(s, events))
	req.Header.Set(HeaderSignature, Sign(secret, d.Now(), body))
	resp, err := d.Client.Do(req)
	if err != nil {
		// Not the url.Error's text: the URL may carry a token in its query.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) || ue != nil && ue.Timeout() {
			return errors.New("POST to the receiver timed out")
		}
		return fmt.Errorf("POST to the receiver failed: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &StatusError{Status: resp.StatusCode}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			e.retryAfter = time.Duration(secs) * time.Second
		}
		return e
	}
	return nil
}
