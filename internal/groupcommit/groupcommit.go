// Package groupcommit hands requests from many goroutines to one goroutine
// that commits them in groups: every request waiting when a commit starts
// joins it, up to a bound on their total size, so that concurrent callers
// share one durable commit (one fsync, one transaction) instead of paying
// one each. Both stores' event writers are built on it.
package groupcommit

import (
	"context"
	"sync"
)

// Commit commits a group of requests and returns one result per request,
// in order, or one error for all of them.
type Commit[Req, Res any] func(group []Req) ([]Res, error)

// Queue is the group-commit queue of one committing goroutine.
type Queue[Req, Res any] struct {
	commit    Commit[Req, Res]
	size      func(Req) int
	max       int
	closedErr error

	items chan *item[Req, Res]
	stop  chan struct{}
	wg    sync.WaitGroup // the goroutine
	subs  sync.WaitGroup // Submit calls between the closed check and the queue

	mu     sync.Mutex
	closed bool
}

type item[Req, Res any] struct {
	req  Req
	done chan result[Res]
}

type result[Res any] struct {
	res Res
	err error
}

// New starts the committing goroutine. A group holds requests up to a total
// size of max (as size measures them; a single larger request is a group of
// its own); Submit answers closedErr once Close has begun.
func New[Req, Res any](max int, size func(Req) int, closedErr error, commit Commit[Req, Res]) *Queue[Req, Res] {
	q := &Queue[Req, Res]{commit: commit, size: size, max: max, closedErr: closedErr,
		items: make(chan *item[Req, Res], 1024), stop: make(chan struct{})}
	q.wg.Add(1)
	go q.run()
	return q
}

// Submit queues req and waits for its group's commit. If ctx ends first the
// request may still be committed: the caller learns nothing.
func (q *Queue[Req, Res]) Submit(ctx context.Context, req Req) (Res, error) {
	var zero Res
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return zero, q.closedErr
	}
	q.subs.Add(1) // the request holds the queue open until it is queued
	q.mu.Unlock()
	it := &item[Req, Res]{req: req, done: make(chan result[Res], 1)}
	select {
	case q.items <- it:
		q.subs.Done()
	case <-ctx.Done():
		q.subs.Done()
		return zero, ctx.Err()
	}
	select {
	case r := <-it.done:
		return r.res, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Closed reports whether Close has begun.
func (q *Queue[Req, Res]) Closed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// Close stops taking requests, commits every request already queued, and
// waits for the goroutine.
func (q *Queue[Req, Res]) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	q.mu.Unlock()
	q.subs.Wait() // every request let in is queued: the goroutine commits them all before it stops
	close(q.stop)
	q.wg.Wait()
}

func (q *Queue[Req, Res]) run() {
	defer q.wg.Done()
	for {
		var first *item[Req, Res]
		select {
		case first = <-q.items:
		case <-q.stop:
			select { // commit what was queued before close: those callers are waiting
			case first = <-q.items:
			default:
				return
			}
		}
		q.commitGroup(q.gather(first))
	}
}

// gather takes first and every request already waiting, up to max in size.
func (q *Queue[Req, Res]) gather(first *item[Req, Res]) []*item[Req, Res] {
	group, n := []*item[Req, Res]{first}, q.size(first.req)
	for n < q.max {
		select {
		case it := <-q.items:
			group = append(group, it)
			n += q.size(it.req)
		default:
			return group
		}
	}
	return group
}

func (q *Queue[Req, Res]) commitGroup(group []*item[Req, Res]) {
	reqs := make([]Req, len(group))
	for i, it := range group {
		reqs[i] = it.req
	}
	res, err := q.commit(reqs)
	for i, it := range group {
		if err != nil {
			it.done <- result[Res]{err: err}
		} else {
			it.done <- result[Res]{res: res[i]}
		}
	}
}
