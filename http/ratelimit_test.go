package http

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Rate
		ok   bool
	}{
		{"2500/5m", Rate{2500, 5 * time.Minute}, true},
		{"10/1s", Rate{10, time.Second}, true},
		{"10/s", Rate{10, time.Second}, true},
		{"60/m", Rate{60, time.Minute}, true},
		{"1000/h", Rate{1000, time.Hour}, true},
		{" 5/90s ", Rate{5, 90 * time.Second}, true},
		{"off", Rate{}, true},
		{"0", Rate{}, true},
		{"0/5m", Rate{}, true},
		{"2500", Rate{}, false},
		{"x/5m", Rate{}, false},
		{"-1/5m", Rate{}, false},
		{"10/0s", Rate{}, false},
		{"10/-1m", Rate{}, false},
		{"10/fortnight", Rate{}, false},
	} {
		got, err := ParseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, r := range []Rate{DefaultReadRate, DefaultWriteRate, {10, time.Second}, {7, 90 * time.Second}, {1, 2 * time.Hour}} {
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", r.String(), back, err, r)
		}
	}
	if got := DefaultReadRate.String(); got != "2500/5m" {
		t.Errorf("default read rate %q, want Codacy's 2500/5m", got)
	}
}

// The limiter allows a burst of N, then one request per Per/N, and reports
// the budget left and when it is full again.
func TestLimiter(t *testing.T) {
	l := newLimiter(Rate{N: 3, Per: 3 * time.Second}, 0)
	now := time.Unix(1_000_000, 0)
	for i := range 3 {
		q, ok := l.allow(now, "a")
		if !ok || q.remaining != 2-i || q.limit != 3 {
			t.Fatalf("request %d: %+v %v, want allowed with %d left", i, q, ok, 2-i)
		}
	}
	q, ok := l.allow(now, "a")
	if ok || q.remaining != 0 || q.retryAfter != time.Second || !q.reset.Equal(now.Add(3*time.Second)) {
		t.Fatalf("4th request: %+v %v, want refused, retry after 1s, full at +3s", q, ok)
	}
	// Another key has its own budget.
	if _, ok := l.allow(now, "b"); !ok {
		t.Fatal("key b was limited by key a")
	}
	// One request comes back after Per/N.
	if _, ok := l.allow(now.Add(999*time.Millisecond), "a"); ok {
		t.Fatal("allowed before a request came back")
	}
	if q, ok := l.allow(now.Add(time.Second), "a"); !ok || q.remaining != 0 {
		t.Fatalf("after 1s: %+v %v, want allowed with 0 left", q, ok)
	}
	// Two keys at once: refused by either, the other's budget untouched.
	l = newLimiter(Rate{N: 2, Per: time.Minute}, 0)
	l.allow(now, "ip")
	l.allow(now, "ip")
	if _, ok := l.allow(now, "tok", "ip"); ok {
		t.Fatal("allowed although the ip's budget is spent")
	}
	if q, ok := l.allow(now, "tok"); !ok || q.remaining != 1 {
		t.Fatalf("the refused request took from the token's budget: %+v %v", q, ok)
	}
	if q, _ := l.allow(now.Add(time.Hour), "tok", "fresh"); q.remaining != 1 {
		t.Fatalf("quota of two keys reports the tightest: %+v", q)
	}
}

// The limiter's memory is bounded: idle keys are forgotten, and past
// MaxKeys arbitrary ones are too.
func TestLimiter_Bounded(t *testing.T) {
	l := newLimiter(Rate{N: 10, Per: time.Minute}, 1000)
	now := time.Unix(1_000_000, 0)
	for i := range 5000 {
		if _, ok := l.allow(now, fmt.Sprint("k", i)); !ok {
			t.Fatalf("key %d refused", i)
		}
		if n := l.size(); n > 1000 {
			t.Fatalf("%d keys tracked, want at most 1000", n)
		}
	}
	// A minute and more later every key is idle (its budget full again) and goes at the next sweep.
	later := now.Add(2 * time.Minute)
	l.allow(later, "new")
	if n := l.size(); n != 1 {
		t.Errorf("%d keys tracked after every other went idle, want 1", n)
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,nope"); err == nil {
		t.Error("a bad proxy list was accepted")
	}
	for _, tt := range []struct {
		proxies []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{nil, "198.51.100.1:5000", nil, "198.51.100.1"},
		{nil, "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"}, // no trusted proxy: header ignored
		{trusted, "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},
		{trusted, "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{trusted, "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"}, // spoofed left part skipped
		{trusted, "10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9"},
		{trusted, "10.1.2.3:5000", []string{"203.0.113.9, garbage"}, "10.1.2.3"},
		{trusted, "10.1.2.3:5000", []string{"10.2.2.2"}, "10.2.2.2"}, // all trusted: the left-most
		{trusted, "10.1.2.3:5000", nil, "10.1.2.3"},
		{trusted, "[::ffff:192.0.2.7]:80", []string{"2001:db8::5, 198.51.100.4"}, "198.51.100.4"},
		{nil, "[2001:db8::1]:443", nil, "2001:db8::1"},
	} {
		s := &Server{TrustedProxies: tt.proxies}
		r := httptest.NewRequest("GET", "/api/v1/actions", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientIP(r).String(); got != tt.want {
			t.Errorf("remote %s, X-Forwarded-For %q: client %s, want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
	if got := ipKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); got != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 key %s, want its /64", got)
	}
}

// Every response carries the security headers, and paths with dot segments are refused.
func TestSecure(t *testing.T) {
	s := &Server{}
	h := s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/api/v1/actions", http.StatusTeapot},
		{"/api/v1/actions/", http.StatusTeapot},
		{"/", http.StatusTeapot},
		{"/api/v1/organizations/gh/../other/checkpoint", http.StatusBadRequest},
		{"/api/v1/organizations/gh/%2e%2e/checkpoint", http.StatusBadRequest},
		{"/api/v1/organizations/gh/a%2F..%2Fb/checkpoint", http.StatusBadRequest},
		{"/api//v1/actions", http.StatusBadRequest},
		{"/api/./v1/actions", http.StatusBadRequest},
	} {
		w := httptest.NewRecorder()
		s.Logger = nil
		r := httptest.NewRequest("GET", "http://x"+tt.path, nil)
		h.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: %d, want %d", tt.path, w.Code, tt.status)
		}
		for k, v := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": ContentSecurityPolicy,
			"Referrer-Policy":         "no-referrer",
		} {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s: %s %q, want %q", tt.path, k, got, v)
			}
		}
	}
}
