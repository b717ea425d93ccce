// Package stream delivers each organization's new events to its streams
// (SPEC §10): webhooks and NATS JetStream subjects, through the Deliverer of
// each stream type (packages webhook and nats).
//
// Each stream has its own goroutine, so a slow or dead receiver holds up
// nothing but its own stream, and ingest only pokes a channel. Where several
// servers share a store, a worker runs only the streams whose lease its
// server holds (auditlog.StreamStore.ClaimStreams), and claims again every
// ReloadInterval, which must be well within the store's lease time. A stream reads
// the events from its durable cursor on, in sequence order, keeps those that
// match its q, and delivers them in batches; the cursor advances only after
// the receiver acknowledged a batch, so every event is delivered at least
// once, across restarts. A failed delivery is retried after about RetryBase,
// then after twice as long each time, with jitter, up to RetryMax between
// tries, and never given up: a stream failing for 7 days or more keeps being
// retried every RetryMax until it recovers or is deleted (its events stay
// deliverable as long as retention keeps them).
package stream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of a Worker.
const (
	DefaultBatchSize      = 100
	DefaultRetryBase      = time.Second
	DefaultRetryMax       = 10 * time.Minute
	DefaultPollInterval   = time.Second
	DefaultReloadInterval = 10 * time.Second
	DefaultTimeout        = 30 * time.Second
	// LongOutage is how long a stream fails before the worker logs that its
	// receiver has been down for a long time; it keeps retrying after that.
	LongOutage = 7 * 24 * time.Hour
)

// Worker runs the deliveries of every stream of a store. It also serves the
// StreamService of the HTTP API, so that a created stream starts at once and
// a deleted one stops at once.
type Worker struct {
	Store      auditlog.StreamStore
	Deliverers map[string]auditlog.Deliverer // by stream type
	Logger     *slog.Logger
	Now        func() time.Time

	BatchSize      int           // matching events per delivery
	RetryBase      time.Duration // wait before the first retry
	RetryMax       time.Duration // longest wait between tries
	PollInterval   time.Duration // how often each stream looks for events nobody notified it of
	ReloadInterval time.Duration // how often the streams are claimed (the leases renewed) again
	Timeout        time.Duration // bound on one delivery

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	reload  chan struct{}
	mu      sync.RWMutex
	runners map[runnerKey]*runner
	byOrg   map[auditlog.OrgRef][]*runner
	metrics *metrics
}

type runnerKey struct {
	org auditlog.OrgRef
	id  string
}

var _ auditlog.StreamService = (*Worker)(nil)

// NewWorker returns a worker with the default settings; set its Deliverers, then Open it.
func NewWorker(store auditlog.StreamStore) *Worker {
	return &Worker{
		Store:          store,
		Deliverers:     map[string]auditlog.Deliverer{},
		Logger:         slog.Default(),
		Now:            time.Now,
		BatchSize:      DefaultBatchSize,
		RetryBase:      DefaultRetryBase,
		RetryMax:       DefaultRetryMax,
		PollInterval:   DefaultPollInterval,
		ReloadInterval: DefaultReloadInterval,
		Timeout:        DefaultTimeout,
		reload:         make(chan struct{}, 1),
		runners:        map[runnerKey]*runner{},
		byOrg:          map[auditlog.OrgRef][]*runner{},
		metrics:        newMetrics(),
	}
}

// Open starts a goroutine for every stream it claims and the one that keeps
// that set current. A store that cannot claim its streams fails Open.
func (w *Worker) Open() error {
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if err := w.sync(); err != nil {
		w.cancel()
		return err
	}
	w.wg.Add(1)
	go w.supervise()
	return nil
}

// Close stops every delivery (one in flight is abandoned, to be made again
// after the next start), waits for the goroutines, and closes the
// deliverers that are io.Closers.
func (w *Worker) Close() error {
	if w.cancel != nil {
		w.cancel()
		w.wg.Wait()
	}
	w.mu.Lock()
	clear(w.runners)
	clear(w.byOrg)
	w.metrics.held.Set(0)
	w.mu.Unlock()
	var errs []error
	for _, d := range w.Deliverers {
		if c, ok := d.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// Notify tells the streams of an organization that its log grew. It never
// blocks: the store's writer calls it after each commit.
func (w *Worker) Notify(ref auditlog.OrgRef, _ int64) {
	w.mu.RLock()
	for _, r := range w.byOrg[ref] {
		r.poke()
	}
	w.mu.RUnlock()
}

// Reload makes the worker claim its streams again, soon.
func (w *Worker) Reload() {
	select {
	case w.reload <- struct{}{}:
	default:
	}
}

func (w *Worker) supervise() {
	defer w.wg.Done()
	t := time.NewTicker(max(w.ReloadInterval, time.Millisecond))
	defer t.Stop()
	backoff := w.RetryBase
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		case <-w.reload:
		}
		if err := w.sync(); err != nil {
			if w.ctx.Err() != nil {
				return
			}
			w.Logger.Error("claiming the streams failed; retrying", "err", err, "in", backoff)
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(backoff):
			}
			// At most a reload interval: leases must be renewed, or taken
			// back, soon after the store answers again.
			backoff = min(2*backoff, w.RetryMax, max(w.ReloadInterval, w.RetryBase))
			w.Reload()
			continue
		}
		backoff = w.RetryBase
	}
}

// sync claims the streams, starts a runner for each newly held one, and
// stops those of streams deleted or lost to another server. A runner under
// an older lease of a stream held again, or one that ended (it found its
// lease lost), is replaced: each runner writes under one lease token.
func (w *Worker) sync() error {
	leases, err := w.Store.ClaimStreams(w.ctx)
	if err != nil {
		return err
	}
	held := make(map[runnerKey]auditlog.StreamLease, len(leases))
	for _, l := range leases {
		held[runnerKey{l.Org, l.ID}] = l
	}
	var stopped []*runner
	w.mu.Lock()
	for k, r := range w.runners {
		if l, ok := held[k]; ok && l.Token == r.token && !r.ended() {
			delete(held, k) // running under its current lease
			continue
		}
		r.cancel()
		stopped = append(stopped, r)
		w.removeLocked(k, r)
	}
	for k, l := range held {
		r := w.newRunner(l)
		w.runners[k] = r
		w.byOrg[k.org] = append(w.byOrg[k.org], r)
		w.wg.Add(1)
		go r.run()
	}
	w.metrics.held.Set(float64(len(w.runners)))
	w.mu.Unlock()
	for _, r := range stopped {
		<-r.done
	}
	return nil
}

// removeLocked forgets runner r of stream k; w.mu is held.
func (w *Worker) removeLocked(k runnerKey, r *runner) {
	delete(w.runners, k)
	rs := w.byOrg[k.org]
	for i := range rs {
		if rs[i] == r {
			rs = append(rs[:i:i], rs[i+1:]...)
			break
		}
	}
	if len(rs) == 0 {
		delete(w.byOrg, k.org)
	} else {
		w.byOrg[k.org] = rs
	}
}

// CreateStream registers a stream and starts delivering to it.
func (w *Worker) CreateStream(ctx context.Context, s *auditlog.Stream, secrets auditlog.StreamSecrets) (*auditlog.Stream, error) {
	out, err := w.Store.CreateStream(ctx, s, secrets)
	if err == nil {
		w.Reload()
	}
	return out, err
}

// Streams lists an organization's streams.
func (w *Worker) Streams(ctx context.Context, ref auditlog.OrgRef) ([]*auditlog.Stream, error) {
	return w.Store.Streams(ctx, ref)
}

// FindStream returns one stream.
func (w *Worker) FindStream(ctx context.Context, ref auditlog.OrgRef, id string) (*auditlog.Stream, error) {
	return w.Store.FindStream(ctx, ref, id)
}

// DeleteStream removes a stream and stops its deliveries.
func (w *Worker) DeleteStream(ctx context.Context, ref auditlog.OrgRef, id string) error {
	err := w.Store.DeleteStream(ctx, ref, id)
	if err == nil {
		w.Reload()
	}
	return err
}

// Collectors returns the worker's metrics for registration.
func (w *Worker) Collectors() []prometheus.Collector { return w.metrics.collectors() }
