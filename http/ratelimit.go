package http

import (
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
)

// Rate is a request budget: N requests per Per, which may all come at once
// (a burst of N) and come back evenly over Per. A zero Rate is no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// DefaultReadRate is Codacy's documented limit: 2,500 requests per 5 minutes.
var DefaultReadRate = Rate{N: 2500, Per: 5 * time.Minute}

// DefaultWriteRate bounds the requests that change something.
var DefaultWriteRate = Rate{N: 500, Per: 5 * time.Minute}

// Off reports whether the rate sets no limit.
func (r Rate) Off() bool { return r.N <= 0 || r.Per <= 0 }

func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + shortDuration(r.Per)
}

func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// ParseRate reads "N/DURATION" ("2500/5m", "10/1s"), "N/s", "N/m", "N/h", or "off" (also "0").
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" || s == "" {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want N/DURATION such as 2500/5m, or off", s)
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 0 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a non-negative integer", s, n)
	}
	switch per {
	case "s", "m", "h":
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a positive duration such as 5m", s, per)
	}
	if count == 0 {
		return Rate{}, nil
	}
	return Rate{N: count, Per: d}, nil
}

// RateLimits configures the server's rate limiting. Every request to /api/
// is counted against its client IP (an IPv6 address by its /64) and, when it
// carries an account API token or another credential, against that credential:
// reads (GET, HEAD) against Reads, everything else against Writes. The admin
// token (the host platform) is not limited; /healthz, /readyz, /metrics and
// the web viewer are not either.
type RateLimits struct {
	Reads  Rate
	Writes Rate
	// MaxKeys bounds how many clients and credentials are tracked at once
	// (0: DefaultMaxRateKeys). Idle ones, whose budget is full again, are
	// forgotten first.
	MaxKeys int
}

// DefaultMaxRateKeys bounds the limiter's memory: about 100 bytes a key.
const DefaultMaxRateKeys = 100_000

// limiter is a GCRA (generic cell rate algorithm) limiter: a token bucket
// kept as one time per key, the "theoretical arrival time" at which the
// key's budget would be full again.
type limiter struct {
	rate    Rate
	step    time.Duration // Per / N: how long one request takes to come back
	maxKeys int

	mu        sync.Mutex
	tat       map[string]time.Time
	lastSweep time.Time
}

func newLimiter(rate Rate, maxKeys int) *limiter {
	if rate.Off() {
		return nil
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxRateKeys
	}
	step := rate.Per / time.Duration(rate.N)
	if step <= 0 {
		step = 1
	}
	return &limiter{rate: rate, step: step, maxKeys: maxKeys, tat: make(map[string]time.Time)}
}

// quota is what a limited request is told about its budget.
type quota struct {
	limit      int
	remaining  int
	reset      time.Time     // when the budget is full again
	retryAfter time.Duration // when denied: how long until one request is allowed
}

// allow takes one request from the budget of every key, or from none of
// them when any is exhausted. It reports the tightest key's quota.
func (l *limiter) allow(now time.Time, keys ...string) (quota, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, len(keys))
	q := quota{limit: l.rate.N, remaining: math.MaxInt}
	ok := true
	next := make([]time.Time, len(keys))
	for i, k := range keys {
		tat := l.tat[k]
		if tat.Before(now) {
			tat = now
		}
		n := tat.Add(l.step)
		if wait := n.Sub(now) - l.rate.Per; wait > 0 {
			ok = false
			q.retryAfter = max(q.retryAfter, wait)
			q.remaining = 0
			q.reset = later(q.reset, tat)
			continue
		}
		next[i] = n
		rem := int((l.rate.Per - n.Sub(now)) / l.step)
		if rem < q.remaining {
			q.remaining = rem
		}
		q.reset = later(q.reset, n)
	}
	if !ok {
		return q, false
	}
	for i, k := range keys {
		l.tat[k] = next[i]
	}
	return q, true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sweep forgets idle keys (whose budget is full again: forgetting them
// changes nothing) once a minute, and whenever adding n keys would pass
// maxKeys; if every key is busy, it forgets an arbitrary eighth of them.
func (l *limiter) sweep(now time.Time, n int) {
	full := len(l.tat)+n > l.maxKeys
	if !full && now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for k, tat := range l.tat {
		if !tat.After(now) {
			delete(l.tat, k)
		}
	}
	if len(l.tat)+n > l.maxKeys {
		drop := max(len(l.tat)/8, len(l.tat)+n-l.maxKeys)
		for k := range l.tat { // map order is random
			if drop == 0 {
				break
			}
			delete(l.tat, k)
			drop--
		}
	}
}

// size is how many keys the limiter tracks.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tat)
}

// rateLimiters are the server's two limiters; nil ones do not limit.
type rateLimiters struct {
	reads, writes *limiter
}

func newRateLimiters(c RateLimits) rateLimiters {
	return rateLimiters{reads: newLimiter(c.Reads, c.MaxKeys), writes: newLimiter(c.Writes, c.MaxKeys)}
}

// rateLimited reports whether a path is subject to rate limits: the API, not
// the probes, the metrics or the web viewer's pages.
func rateLimited(path string) bool {
	return strings.HasPrefix(path, "/api/")
}

// limit applies the rate limits to a request. It sets the X-RateLimit-*
// headers, and on a 429 Retry-After, and reports whether to serve it.
func (s *Server) limit(w http.ResponseWriter, r *http.Request) bool {
	if !rateLimited(r.URL.Path) {
		return true
	}
	l := s.limiters.writes
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		l = s.limiters.reads
	}
	if l == nil {
		return true
	}
	var keys [2]string
	ks := keys[:0]
	if s.isAdmin(r) {
		return true // the host platform
	}
	if secret, ok := apiToken(r); ok {
		sum := sha256.Sum256([]byte(secret)) // never keep a secret, even in memory
		ks = append(ks, "t:"+string(sum[:16]))
	}
	if ip := s.clientIP(r); ip.IsValid() {
		ks = append(ks, "i:"+ipKey(ip))
	}
	if len(ks) == 0 {
		return true
	}
	q, ok := l.allow(s.Now(), ks...)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(q.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(q.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(q.reset), 10))
	if ok {
		return true
	}
	secs := int64(math.Ceil(q.retryAfter.Seconds()))
	h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	s.metrics.rateLimited.Inc()
	Error(w, r, s.Logger, auditlog.Errorf(auditlog.ETOOMANY, "rate limit exceeded: at most %d requests per %s; retry after %d seconds", q.limit, shortDuration(l.rate.Per), max(secs, 1)))
	return false
}

func ceilUnix(t time.Time) int64 {
	u := t.Unix()
	if t.Nanosecond() > 0 {
		u++
	}
	return u
}
