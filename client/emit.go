package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/auditlog/auditlog"
)

var (
	// ErrClosed is returned by Emit and Flush once Close has begun.
	ErrClosed = &auditlog.Error{Code: auditlog.EUNAVAILABLE, Message: "the audit log client is closed"}
	// ErrBufferFull is returned by Emit, with WithFailWhenFull, when the
	// queue holds BufferSize events: the server is not keeping up or cannot
	// be reached.
	ErrBufferFull = &auditlog.Error{Code: auditlog.ETOOMANY, Message: "the audit log client's event buffer is full: the server is slow or unreachable"}
)

// SendError reports events that Emit accepted but that were not stored:
// their batch failed after its retries, or the server refused them. Err is
// the last error (an *auditlog.Error for an answer of the server); for
// events the server refused as invalid, its Details are []auditlog.EventError
// whose indexes are into Events.
type SendError struct {
	Events []auditlog.Event
	Err    error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("auditlog client: %d events not stored: %v", len(e.Events), e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// queued is an event ready to send, with its encoding.
type queued struct {
	event auditlog.Event
	data  []byte
}

// flushRequest asks the sender to send everything queued before it.
type flushRequest struct {
	stop  bool // then stop
	reply chan error
}

// maxRetainedErrors bounds the failures kept for the next Flush or Close.
const maxRetainedErrors = 64

// Emit queues an event to be sent in a batch. It fills the event's defaults
// (result, source, description, the timestamp: now) and, if it has none, its
// client id; it returns at once an *auditlog.Error (EUNPROCESSABLE) for an
// invalid event, which is not queued. When the queue is full it waits until
// there is room or ctx ends, or returns ErrBufferFull with WithFailWhenFull.
// A nil error means queued, not stored: Flush waits for the server's answer.
func (c *Client) Emit(ctx context.Context, e auditlog.Event) error {
	if c.baseErr != nil {
		return c.baseErr
	}
	q, err := prepare(e, c.now())
	if err != nil {
		return err
	}
	c.em.mu.RLock()
	defer c.em.mu.RUnlock()
	if c.em.closed {
		return ErrClosed
	}
	c.em.startOnce.Do(c.startSender)
	select {
	case c.em.queue <- q:
		return nil
	default:
	}
	if c.failWhenFull {
		return ErrBufferFull
	}
	select {
	case c.em.queue <- q:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.em.stopping:
		return ErrClosed
	}
}

// prepare readies an event for sending: no server-assigned fields, a client
// id, its defaults, checked, and encoded.
func prepare(e auditlog.Event, now time.Time) (queued, error) {
	e.Sequence, e.ReceivedAt, e.Salt, e.PersonalHash = 0, time.Time{}, nil, nil
	if e.ID == "" {
		e.ID = auditlog.NewEventID(now)
	}
	e.Normalize(now) // copies Details, so the caller may reuse its buffer
	if err := e.Validate(now); err != nil {
		return queued{}, err
	}
	return queued{event: e, data: e.AppendJSON(nil)}, nil
}

// Flush sends every event emitted before it and waits for the server's
// answers. It returns the failures (each a *SendError) of every batch that
// could not be stored since the previous Flush, joined; if ctx ends first
// it returns ctx's error and the sending goes on.
func (c *Client) Flush(ctx context.Context) error {
	c.em.mu.RLock()
	closed := c.em.closed
	c.em.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	select {
	case <-c.em.started:
	default:
		return nil // nothing was ever emitted
	}
	req := flushRequest{reply: make(chan error, 1)}
	select {
	case c.em.requests <- req:
	case <-c.em.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events (Emit returns ErrClosed), sends every queued
// one and stops the sender. If ctx ends first, the requests in flight and
// their retries are abandoned, and what was not stored is reported in the
// error as *SendErrors with ctx's error. It returns the failures not yet
// reported by a Flush. Closing a closed client does nothing.
func (c *Client) Close(ctx context.Context) error {
	first := false
	c.em.closeOnce.Do(func() {
		first = true
		close(c.em.stopping) // Emits waiting for room give up, so the lock comes free
	})
	if !first {
		select {
		case <-c.em.done:
		case <-ctx.Done():
		}
		return nil
	}
	c.em.mu.Lock()
	c.em.closed = true
	c.em.mu.Unlock()
	select {
	case <-c.em.started:
	default: // never started, and now never will
		c.em.cancel()
		close(c.em.done)
		return nil
	}
	defer c.em.cancel()
	req := flushRequest{stop: true, reply: make(chan error, 1)}
	var ctxErr error
	select {
	case c.em.requests <- req:
	case <-ctx.Done():
		ctxErr = ctx.Err()
		c.em.cancel() // the sender gives up its batch in flight and takes the request
		c.em.requests <- req
	}
	select {
	case err := <-req.reply:
		return errors.Join(ctxErr, err)
	case <-ctx.Done():
		c.em.cancel()
		return errors.Join(ctx.Err(), <-req.reply)
	}
}

func (c *Client) startSender() {
	close(c.em.started)
	go c.runSender()
}

// runSender is the sender: it collects queued events into batches and posts
// each when it is full, when its first event has waited the flush interval,
// or when asked to by Flush and Close.
func (c *Client) runSender() {
	defer close(c.em.done)
	var (
		batch   []queued
		size    int
		timer   *time.Timer
		tick    <-chan time.Time
		failed  []error
		dropped int
	)
	report := func(err error) {
		if c.onError != nil {
			c.onError(err)
		}
		if len(failed) < maxRetainedErrors {
			failed = append(failed, err)
		} else {
			dropped++
		}
	}
	send := func() {
		if timer != nil {
			timer.Stop()
			tick = nil
		}
		if len(batch) > 0 {
			c.sendBatch(c.em.ctx, batch, report)
		}
		batch, size = nil, 0
	}
	add := func(q queued) {
		if len(batch) > 0 && size+len(q.data)+1 > maxBatchBytes {
			send()
		}
		batch = append(batch, q)
		size += len(q.data) + 1
		switch {
		case len(batch) >= c.batchSize:
			send()
		case len(batch) == 1 && c.flushInterval > 0:
			timer = time.NewTimer(c.flushInterval)
			tick = timer.C
		}
	}
	for {
		select {
		case q := <-c.em.queue:
			add(q)
		case <-tick:
			send()
		case req := <-c.em.requests:
			// What was queued before the request; only this goroutine receives, so none of it blocks.
			for n := len(c.em.queue); n > 0; n-- {
				add(<-c.em.queue)
			}
			send()
			if dropped > 0 {
				failed = append(failed, fmt.Errorf("auditlog client: %d more batches were not stored", dropped))
			}
			req.reply <- errors.Join(failed...)
			failed, dropped = nil, 0
			if req.stop {
				return
			}
		}
	}
}

// sendBatch posts a batch. When the server refuses some of its events as
// invalid (an organization that does not exist, an action this SDK knows but
// the server does not), it reports those and sends the others again.
func (c *Client) sendBatch(ctx context.Context, batch []queued, report func(error)) {
	_, err := c.postEvents(ctx, encodeBatch(batch))
	if err == nil {
		return
	}
	bad, _ := auditlog.ErrorDetails(err).([]auditlog.EventError)
	if auditlog.ErrorCode(err) != auditlog.EUNPROCESSABLE || len(bad) == 0 || len(bad) >= len(batch) {
		report(&SendError{Events: eventsOf(batch), Err: err})
		return
	}
	reason := make(map[int]string, len(bad))
	for _, b := range bad {
		reason[b.Index] = b.Reason
	}
	var refused, rest []queued
	var details []auditlog.EventError
	for i, q := range batch {
		if r, ok := reason[i]; ok {
			details = append(details, auditlog.EventError{Index: len(refused), Reason: r})
			refused = append(refused, q)
		} else {
			rest = append(rest, q)
		}
	}
	report(&SendError{Events: eventsOf(refused), Err: &auditlog.Error{
		Code:    auditlog.EUNPROCESSABLE,
		Message: fmt.Sprintf("the server refused %d of the %d events of a batch; the others were sent again", len(refused), len(batch)),
		Details: details,
	}})
	if _, err := c.postEvents(ctx, encodeBatch(rest)); err != nil {
		report(&SendError{Events: eventsOf(rest), Err: err})
	}
}

func encodeBatch(batch []queued) []byte {
	n := 2
	for _, q := range batch {
		n += len(q.data) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, q := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, q.data...)
	}
	return append(b, ']')
}

func eventsOf(batch []queued) []auditlog.Event {
	out := make([]auditlog.Event, len(batch))
	for i, q := range batch {
		out[i] = q.event
	}
	return out
}
