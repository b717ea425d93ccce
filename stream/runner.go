package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/query"
)

// maxScan bounds how many events one read looks at for a filtered stream:
// the cursor moves past the non-matching ones in steps of at most this many.
const maxScan = 10_000

// runner delivers one stream under one lease. Only its goroutine touches s.
type runner struct {
	w      *Worker
	s      auditlog.Stream
	token  int64 // the lease's fencing token
	q      *auditlog.Query
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	secrets  *auditlog.StreamSecrets
	failures int  // consecutive failed tries
	warned   bool // the long outage was logged
}

func (w *Worker) newRunner(l auditlog.StreamLease) *runner {
	r := &runner{w: w, s: *l.Stream, token: l.Token, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(w.ctx)
	return r
}

func (r *runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// ended reports whether the runner's goroutine has returned.
func (r *runner) ended() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *runner) logger() []any {
	return []any{"org", r.s.Org.String(), "stream", r.s.ID, "type", r.s.Type}
}

func (r *runner) run() {
	defer r.w.wg.Done()
	defer close(r.done)
	poll := time.NewTicker(max(r.w.PollInterval, time.Millisecond))
	defer poll.Stop()
	for {
		wait, err := r.deliverPending()
		if errors.Is(err, errGone) || errors.Is(err, errLost) || r.ctx.Err() != nil {
			return
		}
		if wait > 0 {
			// Backing off: commits do not cut the wait short.
			t := time.NewTimer(wait)
			select {
			case <-r.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		select {
		case <-r.ctx.Done():
			return
		case <-r.wake:
		case <-poll.C:
		}
	}
}

// errGone ends a runner whose stream was deleted, errLost one whose stream
// another server has taken over (the worker's next claim tells whether this
// server holds it again).
var (
	errGone = errors.New("the stream was deleted")
	errLost = errors.New("the stream's lease passed to another server")
)

// deliverPending delivers every pending matching event, batch by batch. It
// returns how long to wait before trying again after a failure, 0 once the
// stream is caught up.
func (r *runner) deliverPending() (time.Duration, error) {
	if err := r.prepare(); err != nil {
		return r.failed(err)
	}
	for r.ctx.Err() == nil {
		batch, next, err := r.read()
		if err != nil {
			if r.ctx.Err() != nil {
				return 0, err
			}
			r.w.Logger.Error("reading events for a stream failed", append(r.logger(), "err", err)...)
			return r.backoff(), err // the store's trouble, not the receiver's: the status stays
		}
		if len(batch) == 0 {
			if next == r.s.Cursor {
				return 0, nil
			}
			// Only events the stream's q does not match: move past them.
			st := r.s.StreamStatus
			st.Cursor = next
			if err := r.setStatus(st); err != nil {
				return r.backoff(), err
			}
			continue
		}
		if err := r.deliver(batch); err != nil {
			if r.ctx.Err() != nil {
				return 0, err // shutting down or deleted: not the receiver's failure
			}
			return r.failed(err)
		}
		now := r.w.Now().UTC().Truncate(time.Millisecond)
		st := r.s.StreamStatus
		st.State = auditlog.StreamActive
		st.Cursor = next
		st.LastDeliveredSequence = batch[len(batch)-1].Sequence
		st.LastSuccessAt = &now
		st.FailingSince = nil
		if err := r.setStatus(st); err != nil {
			return r.backoff(), err
		}
		if r.failures > 0 {
			r.w.Logger.Info("stream recovered", append(r.logger(), "after_failures", r.failures)...)
		}
		r.failures, r.warned = 0, false
	}
	return 0, r.ctx.Err()
}

// prepare parses the stream's q and opens its secrets, once.
func (r *runner) prepare() error {
	if r.q == nil && r.s.Query != "" {
		q, err := query.Parse(r.s.Query, r.w.Now())
		if err != nil {
			return fmt.Errorf("the stream's q does not parse: %s", auditlog.ErrorMessage(err))
		}
		r.q = q
	}
	if r.secrets == nil {
		sec, err := r.w.Store.StreamSecrets(r.ctx, r.s.Org, r.s.ID)
		if auditlog.ErrorCode(err) == auditlog.ENOTFOUND {
			return errGone
		} else if err != nil {
			r.w.Logger.Error("opening a stream's secrets failed", append(r.logger(), "err", err)...)
			return errors.New("the stream's secrets cannot be read: see the server log")
		}
		r.secrets = sec
	}
	if r.w.Deliverers[r.s.Type] == nil {
		return fmt.Errorf("this server cannot deliver to %s streams", r.s.Type)
	}
	return nil
}

// read returns the next batch of matching events and the cursor after it:
// after the batch's last event, or after the last event looked at when none matched.
func (r *runner) read() ([]*auditlog.Event, int64, error) {
	next := r.s.Cursor
	var batch []*auditlog.Event
	for e, err := range r.w.Store.EventsFrom(r.ctx, r.s.Org, r.s.Cursor, maxScan) {
		if err != nil {
			return nil, 0, err
		}
		next = e.Sequence + 1
		if r.q.Match(e) {
			batch = append(batch, e)
			if len(batch) == r.w.BatchSize {
				break
			}
		}
	}
	return batch, next, nil
}

func (r *runner) deliver(batch []*auditlog.Event) error {
	ctx, cancel := context.WithTimeout(r.ctx, r.w.Timeout)
	defer cancel()
	target := r.s
	target.URL = r.secrets.URL
	start := time.Now()
	err := r.w.Deliverers[r.s.Type].Deliver(ctx, &target, r.secrets.Secret, batch)
	r.w.metrics.observe(r.s.Type, len(batch), start, err)
	return err
}

// failed records a failed try and returns the wait before the next.
func (r *runner) failed(cause error) (time.Duration, error) {
	if errors.Is(cause, errGone) || errors.Is(cause, errLost) {
		return 0, cause
	}
	r.failures++
	now := r.w.Now().UTC().Truncate(time.Millisecond)
	st := r.s.StreamStatus
	st.State = auditlog.StreamFailing
	st.LastError = truncate(cause.Error(), 500)
	if st.FailingSince == nil {
		st.FailingSince = &now
	}
	wait := r.backoff()
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(cause, &ra) {
		wait = min(max(wait, ra.RetryAfter()), r.w.RetryMax)
	}
	args := append(r.logger(), "err", cause, "failures", r.failures, "retry_in", wait.Round(time.Millisecond))
	if now.Sub(*st.FailingSince) >= LongOutage && !r.warned {
		r.warned = true
		r.w.Logger.Warn("stream receiver has failed for 7 days or more; still retrying", append(args, "failing_since", st.FailingSince)...)
	} else if r.failures == 1 || r.failures%10 == 0 {
		r.w.Logger.Warn("stream delivery failed", args...)
	} else {
		r.w.Logger.Debug("stream delivery failed", args...)
	}
	if err := r.setStatus(st); errors.Is(err, errGone) || errors.Is(err, errLost) {
		return 0, err
	}
	return wait, cause
}

// backoff is the wait before the next try after r.failures failures (at
// least one): RetryBase doubled each time, with ±25% jitter, at most
// RetryMax (between 80% and 100% of it, once there, so that streams that
// failed together do not retry together).
func (r *runner) backoff() time.Duration {
	n := max(r.failures, 1)
	d := r.w.RetryBase
	for i := 1; i < n && d < r.w.RetryMax; i++ {
		d *= 2
	}
	d = time.Duration(float64(d) * (0.75 + rand.Float64()/2))
	if d > r.w.RetryMax {
		d = r.w.RetryMax - time.Duration(rand.Float64()*float64(r.w.RetryMax/5))
	}
	return d
}

func (r *runner) setStatus(st auditlog.StreamStatus) error {
	err := r.w.Store.SetStreamStatus(r.ctx, r.s.Org, r.s.ID, r.token, st)
	switch {
	case auditlog.ErrorCode(err) == auditlog.ENOTFOUND:
		return errGone
	case auditlog.ErrorCode(err) == auditlog.ECONFLICT:
		r.w.Logger.Info("stream taken over by another server", r.logger()...)
		return errLost
	case err != nil:
		if r.ctx.Err() == nil {
			r.w.Logger.Error("recording a stream's status failed", append(r.logger(), "err", err)...)
		}
		return err
	}
	r.s.StreamStatus = st
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
