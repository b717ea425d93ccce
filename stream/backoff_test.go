package stream

import (
	"testing"
	"time"
)

// The wait after n failures is about RetryBase·2^(n-1) (±25%), at most
// RetryMax (and then at least 80% of it).
func TestBackoff(t *testing.T) {
	w := NewWorker(nil)
	r := &runner{w: w}
	for n, want := range map[int]time.Duration{
		1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second,
		9: 256 * time.Second, 10: 512 * time.Second, 11: 10 * time.Minute, 1000: 10 * time.Minute,
	} {
		r.failures = n
		seen := map[time.Duration]bool{}
		for range 200 {
			d := r.backoff()
			seen[d] = true
			if d < min(want*3/4, w.RetryMax*4/5) || d > min(want*5/4, w.RetryMax) {
				t.Fatalf("after %d failures: waits %v, want %v ±25%% and at most %v", n, d, want, w.RetryMax)
			}
		}
		if len(seen) < 10 {
			t.Errorf("after %d failures: only %d distinct waits: no jitter", n, len(seen))
		}
	}
	// Retries go on for at least 7 days: the first 7 days of waits are far
	// more than one try, and the wait never exceeds RetryMax however long.
	var total time.Duration
	tries := 0
	for r.failures = 1; total < 7*24*time.Hour; r.failures++ {
		total += r.backoff()
		tries++
	}
	if tries < 1000 {
		t.Errorf("only %d tries in 7 days", tries)
	}
}
