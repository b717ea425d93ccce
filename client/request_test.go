package client

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-1", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Retry-After", tc.header)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	r := Retry{MaxAttempts: 10, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for n, full := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		full *= time.Millisecond
		seen := map[time.Duration]bool{}
		for range 200 {
			d := r.backoff(n + 1)
			if d < full/2 || d > full {
				t.Fatalf("retry %d waits %v, want within [%v, %v]", n+1, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("retry %d: %d distinct waits in 200, want jitter", n+1, len(seen))
		}
	}
	if d := r.backoff(80); d > time.Second { // no overflow far out
		t.Errorf("retry 80 waits %v", d)
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		base string
		path []string
		want string
	}{
		{"http://127.0.0.1:8080", []string{"api", "v1", "events"}, "http://127.0.0.1:8080/api/v1/events"},
		{"https://audit.example.com/prefix/", []string{"api", "v1", "organizations", "gh", "my org?#%", "members", "ana+x@acme.example"},
			"https://audit.example.com/prefix/api/v1/organizations/gh/my%20org%3F%23%25/members/ana+x@acme.example"},
	} {
		c := New(tc.base)
		got, err := c.url(&request{path: tc.path})
		if err != nil || got != tc.want {
			t.Errorf("%s %v: %s, %v; want %s", tc.base, tc.path, got, err, tc.want)
		}
	}
}
