// Package client is the Go SDK of auditlog: what a host platform uses to
// send its users' events, and what an organization's admins use to read,
// filter and export them, over the HTTP API.
//
// A Client holds one credential. The host platform's admin token ingests
// events and manages the directory (organizations, members, first tokens);
// an account API token of an organization admin or manager reads events,
// exports them and manages its own tokens. Both are sent as
// "Authorization: Bearer <token>".
//
// Like the stores, a Client implements auditlog.EventService and
// auditlog.DirectoryService, so code written against those interfaces runs
// the same against an in-process store or a remote server.
//
// # Sending events
//
// Emit queues an event in memory and returns; a background sender posts the
// queue in batches, when BatchSize events are waiting, when the oldest has
// waited FlushInterval, or on Flush and Close. Emit gives every event
// without an id a client id (a UUIDv7) before it is queued, so a batch that
// is sent again, after a 429, a 5xx or a network error, stores nothing twice:
// the server answers a known id with its original sequence. Emit validates
// the event against the SDK's copy of the action catalog and rules
// (auditlog.Event.Validate) and returns an invalid one's error at once, so one
// bad event never sinks a batch.
//
// The queue is bounded (BufferSize events). When it is full, Emit waits for
// room until its context ends, or, with WithFailWhenFull, returns
// ErrBufferFull at once. A batch that still fails when its retries are spent
// (or that the server refuses, such as a 422 for an organization that does
// not exist) is reported as a *SendError holding its events, to the
// WithErrorHandler function as it happens and by the next Flush or Close.
// Always Close a client that emitted events, or what it still holds is lost.
package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
)

// Defaults of a Client's options.
const (
	DefaultBatchSize     = 500
	DefaultFlushInterval = time.Second
	DefaultBufferSize    = 10_000
	DefaultPageSize      = 500
	DefaultTimeout       = time.Minute
	// MaxPageSize is the server's largest page of GET .../events.
	MaxPageSize = 1000
	// maxBatchBytes keeps a batch well under the server's 32 MiB body limit.
	maxBatchBytes = 16 << 20
)

var (
	_ auditlog.EventService     = (*Client)(nil)
	_ auditlog.DirectoryService = (*Client)(nil)
)

// Client talks to one auditlog server with one credential. It is safe for
// concurrent use. Create it with New; Close it when it emitted events.
type Client struct {
	baseURL   string
	base      *url.URL
	baseErr   error
	token     string
	hc        *http.Client
	userAgent string
	retry     Retry
	timeout   time.Duration
	pageSize  int
	now       func() time.Time

	batchSize     int
	flushInterval time.Duration
	bufferSize    int
	failWhenFull  bool
	onError       func(error)

	em emitter
}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the credential: the admin token to ingest events and manage
// the directory, or an account API token to read.
func WithToken(token string) Option { return func(c *Client) { c.token = strings.TrimSpace(token) } }

// WithHTTPClient sets the HTTP client (its transport, proxies, TLS). Its
// Timeout, if any, bounds streamed exports too; prefer WithTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header, which the server records in the
// events it writes about the client's own requests (token changes, exports).
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithTimeout bounds each attempt of a request other than an export's
// download (default DefaultTimeout); 0 leaves attempts unbounded but for
// their context.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetry sets the retry policy of requests that may be sent again.
func WithRetry(r Retry) Option { return func(c *Client) { c.retry = r } }

// WithBatchSize sets how many queued events trigger a batch (default
// DefaultBatchSize, at most auditlog.MaxBatchEvents).
func WithBatchSize(n int) Option { return func(c *Client) { c.batchSize = n } }

// WithFlushInterval sets how long a queued event waits at most before its
// batch is sent (default DefaultFlushInterval); 0 sends only full batches
// and on Flush and Close.
func WithFlushInterval(d time.Duration) Option { return func(c *Client) { c.flushInterval = d } }

// WithBufferSize bounds how many events Emit queues before it waits or
// fails (default DefaultBufferSize).
func WithBufferSize(n int) Option { return func(c *Client) { c.bufferSize = n } }

// WithFailWhenFull makes Emit return ErrBufferFull when the queue is full,
// instead of waiting for room.
func WithFailWhenFull() Option { return func(c *Client) { c.failWhenFull = true } }

// WithErrorHandler sets a function told of every batch that could not be
// delivered (a *SendError), from the sender's goroutine, as it happens. It
// must not call the client's Flush or Close.
func WithErrorHandler(f func(error)) Option { return func(c *Client) { c.onError = f } }

// WithPageSize sets how many events each request of Events and FindEvents
// reads (default DefaultPageSize, at most MaxPageSize).
func WithPageSize(n int) Option { return func(c *Client) { c.pageSize = n } }

// WithClock sets the clock that stamps events without a timestamp and seeds
// their client ids (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New returns a client of the server at baseURL, such as
// "https://auditlog.example.com". Out-of-range options take their default or
// nearest limit. An invalid baseURL makes every call fail with EINVALID.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		baseURL:       strings.TrimRight(baseURL, "/"),
		hc:            &http.Client{},
		userAgent:     "auditlog-go-client/1",
		retry:         DefaultRetry(),
		timeout:       DefaultTimeout,
		pageSize:      DefaultPageSize,
		now:           time.Now,
		batchSize:     DefaultBatchSize,
		flushInterval: DefaultFlushInterval,
		bufferSize:    DefaultBufferSize,
	}
	for _, o := range opts {
		o(c)
	}
	u, err := url.Parse(c.baseURL)
	switch {
	case err != nil:
		c.baseErr = auditlog.Errorf(auditlog.EINVALID, "invalid server URL %q: %v", baseURL, err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		c.baseErr = auditlog.Errorf(auditlog.EINVALID, "invalid server URL %q: want http:// or https:// and a host", baseURL)
	default:
		c.base = u
	}
	if c.batchSize <= 0 {
		c.batchSize = DefaultBatchSize
	}
	c.batchSize = min(c.batchSize, auditlog.MaxBatchEvents)
	if c.bufferSize <= 0 {
		c.bufferSize = DefaultBufferSize
	}
	if c.pageSize <= 0 {
		c.pageSize = DefaultPageSize
	}
	c.pageSize = min(c.pageSize, MaxPageSize)
	if c.flushInterval < 0 {
		c.flushInterval = 0
	}
	c.retry = c.retry.normalize()
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	c.em.init(c.bufferSize)
	return c
}

// URL returns the server's base URL as the client was given it, without a trailing slash.
func (c *Client) URL() string { return c.baseURL }

// Emit, Flush and Close live in emit.go; their state is the emitter.
type emitter struct {
	startOnce sync.Once
	queue     chan queued
	requests  chan flushRequest
	stopping  chan struct{} // closed when Close begins: waiting Emits give up
	done      chan struct{} // closed when the sender has stopped
	started   chan struct{} // closed when the sender has started

	mu     sync.RWMutex // Emit holds it shared while it queues; Close exclusively to close
	closed bool

	closeOnce sync.Once
	ctx       context.Context // of the sender's requests; cancelled when Close gives up
	cancel    context.CancelFunc
}

func (em *emitter) init(bufferSize int) {
	em.queue = make(chan queued, bufferSize)
	em.requests = make(chan flushRequest)
	em.stopping = make(chan struct{})
	em.done = make(chan struct{})
	em.started = make(chan struct{})
	em.ctx, em.cancel = context.WithCancel(context.Background())
}
