package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
	"github.com/auditlog/auditlog/webhook"
)

type request struct {
	header http.Header
	body   []byte
}

// mustReceiver is an HTTP receiver on 127.0.0.1 that keeps every request and answers status.
func mustReceiver(tb testing.TB, status func(n int) int) (*httptest.Server, func() []request) {
	var mu sync.Mutex
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, request{r.Header.Clone(), body})
		n := len(got)
		mu.Unlock()
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.WriteHeader(status(n))
	}))
	tb.Cleanup(srv.Close)
	return srv, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), got...)
	}
}

func events(n int) []*auditlog.Event {
	var out []*auditlog.Event
	for i := range n {
		out = append(out, &auditlog.Event{
			Organization: auditlog.OrgRef{Provider: "gh", Name: "acme"}, Sequence: int64(i), ID: "id-" + string(rune('a'+i%26)),
			Action: "user.login", Actor: auditlog.Actor{Email: "ana@acme.example"}, Result: "succeed", Source: "UI",
			Timestamp: time.UnixMilli(1_750_000_000_000).UTC(), ReceivedAt: time.UnixMilli(1_750_000_000_123).UTC(),
			Description: "User logged in", Details: json.RawMessage(`{"k":"v"}`),
		})
	}
	return out
}

func TestDeliver(t *testing.T) {
	srv, got := mustReceiver(t, func(int) int { return http.StatusNoContent })
	d := webhook.NewDeliverer(5 * time.Second)
	s := &auditlog.Stream{ID: "st1", Type: auditlog.StreamWebhook, URL: srv.URL + "/hook"}
	evs := events(250)
	if err := d.Deliver(context.Background(), s, []byte("s3cret"), evs); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 3 {
		t.Fatalf("%d POSTs for 250 events, want 3 of at most 100", len(reqs))
	}
	var seq int64
	for i, r := range reqs {
		if err := client.VerifyWebhook("s3cret", r.header.Get(webhook.HeaderSignature), r.body, time.Minute); err != nil {
			t.Errorf("POST %d: signature %q: %v", i, r.header.Get(webhook.HeaderSignature), err)
		}
		if err := client.VerifyWebhook("other", r.header.Get(webhook.HeaderSignature), r.body, time.Minute); err == nil {
			t.Errorf("POST %d verifies with another secret", i)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var body struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		first := seq
		for _, e := range body.Events {
			if int64(e["sequence"].(float64)) != seq {
				t.Fatalf("event %v, want sequence %d", e, seq)
			}
			if e["receivedAt"] != "2025-06-15T15:06:40.123Z" || e["details"].(map[string]any)["k"] != "v" {
				t.Errorf("event not in v1 form: %v", e)
			}
			seq++
		}
		if want := "st1-" + itoa(first) + "-" + itoa(seq-1); r.header.Get(webhook.HeaderDelivery) != want {
			t.Errorf("delivery id %q, want %q", r.header.Get(webhook.HeaderDelivery), want)
		}
	}
	if seq != 250 {
		t.Errorf("%d events received", seq)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDeliverFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header string
		retry  time.Duration
	}{
		{"server error", 500, "", 0},
		{"unavailable with Retry-After", 503, "7", 7 * time.Second},
		{"redirect", 302, "", 0},
		{"client error", 400, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				if tc.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			err := webhook.NewDeliverer(5*time.Second).Deliver(context.Background(), &auditlog.Stream{ID: "x", URL: srv.URL}, []byte("k"), events(1))
			var se *webhook.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || se.RetryAfter() != tc.retry {
				t.Errorf("err %v, want a StatusError %d with RetryAfter %v", err, tc.status, tc.retry)
			}
		})
	}
	// A receiver that does not answer in time: the error does not show the URL (its query may hold a token).
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	err := webhook.NewDeliverer(100*time.Millisecond).Deliver(context.Background(), &auditlog.Stream{ID: "x", URL: srv.URL + "/?token=t0ps3cret"}, []byte("k"), events(1))
	if err == nil || strings.Contains(err.Error(), "t0ps3cret") || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("timeout: %v", err)
	}
	// A receiver that is not there.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	err = webhook.NewDeliverer(time.Second).Deliver(context.Background(), &auditlog.Stream{ID: "x", URL: dead.URL + "/?token=t0ps3cret"}, []byte("k"), events(1))
	if err == nil || strings.Contains(err.Error(), "t0ps3cret") {
		t.Errorf("refused: %v", err)
	}
}

// The signature is the documented HMAC, which client.VerifyWebhook checks
// and which a change of body, time or secret breaks.
func TestSign(t *testing.T) {
	at := time.Unix(1_750_000_000, 0)
	body := []byte(`{"events":[]}`)
	sig := webhook.Sign([]byte("s3cret"), at, body)
	// echo -n '1750000000.{"events":[]}' | openssl dgst -sha256 -hmac s3cret
	if want := "t=1750000000,v1=" + hmacHex("s3cret", `1750000000.{"events":[]}`); sig != want {
		t.Errorf("Sign = %q, want %q", sig, want)
	}
	if err := client.VerifyWebhook("s3cret", sig, body, 0); err != nil {
		t.Errorf("verify: %v", err)
	}
	for _, tc := range []struct {
		name, secret, header string
		body                 []byte
		tolerance            time.Duration
		want                 error
	}{
		{"other body", "s3cret", sig, []byte(`{"events":[1]}`), 0, client.ErrWebhookSignature},
		{"other secret", "s3cre", sig, body, 0, client.ErrWebhookSignature},
		{"too old", "s3cret", sig, body, time.Minute, client.ErrWebhookTooOld},
		{"other time", "s3cret", strings.Replace(sig, "t=1750000000", "t=1750000001", 1), body, 0, client.ErrWebhookSignature},
		{"no v1", "s3cret", "t=1750000000", body, 0, client.ErrWebhookHeader},
		{"garbage", "s3cret", "nonsense", body, 0, client.ErrWebhookHeader},
		{"empty", "s3cret", "", body, 0, client.ErrWebhookHeader},
	} {
		if err := client.VerifyWebhook(tc.secret, tc.header, tc.body, tc.tolerance); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A second v1 (a rotated secret) may match.
	rotated := sig + ",v1=" + strings.Repeat("00", 32)
	if err := client.VerifyWebhook("s3cret", rotated, body, 0); err != nil {
		t.Errorf("two v1 values: %v", err)
	}
}

func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
