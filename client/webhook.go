package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook stream's deliveries (SPEC §10).
const (
	WebhookSignatureHeader = "X-Auditlog-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256>
	WebhookDeliveryHeader  = "X-Auditlog-Delivery"  // the same on a retry of the same batch
)

// Errors of VerifyWebhook.
var (
	ErrWebhookHeader    = errors.New("auditlog webhook: malformed X-Auditlog-Signature header")
	ErrWebhookSignature = errors.New("auditlog webhook: no signature matches the body")
	ErrWebhookTooOld    = errors.New("auditlog webhook: the signature's timestamp is outside the tolerance")
)

// VerifyWebhook checks a webhook delivery: header is the value of its
// X-Auditlog-Signature header, t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
// "<t>.<body>")>, and body the request body exactly as received. It returns
// nil if a v1 signature matches, in constant time, and t is within tolerance
// of the current time (so a recorded delivery cannot be replayed later);
// tolerance 0 skips that check. A receiver should also drop the events it
// already has by their id: delivery is at least once.
func VerifyWebhook(secret, header string, body []byte, tolerance time.Duration) error {
	return verifyWebhook(secret, header, body, tolerance, time.Now())
}

func verifyWebhook(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrWebhookHeader
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrWebhookHeader
			}
			sigs = append(sigs, sig)
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrWebhookHeader
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, sig := range sigs {
		ok = hmac.Equal(sig, want) || ok
	}
	if !ok {
		return ErrWebhookSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
			return ErrWebhookTooOld
		}
	}
	return nil
}
