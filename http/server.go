// Package http is the HTTP API: the route table, authentication and
// authorization, request decoding and the JSON and streaming responses.
package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/prometheus/client_golang/prometheus"
)

// Server serves the HTTP API over the services it is given.
type Server struct {
	Addr       string // listen address, e.g. "127.0.0.1:8080" or "127.0.0.1:0"
	AdminToken string // the host platform's credential

	Events    auditlog.EventService
	Directory auditlog.DirectoryService
	Tokens    auditlog.TokenService
	Log       auditlog.LogService
	LogKey    string // the checkpoint verifier key, served at /api/v1/log-key
	// CursorKey authenticates list cursors; replicas behind one load balancer share it.
	CursorKey []byte
	// Ready reports whether the storage can serve; nil means always ready.
	Ready func(context.Context) error
	// Streams manages the organizations' streams; nil makes the stream routes 404.
	Streams auditlog.StreamService

	Logger   *slog.Logger
	Registry *prometheus.Registry // metrics are registered here and served at /metrics
	Now      func() time.Time

	// RateLimits limits requests per client IP and per credential; zero rates do not limit.
	RateLimits RateLimits
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (for rate limits and the IP address of the server's own events); none by default.
	TrustedProxies []netip.Prefix
	// MaxInflightIngestBytes bounds the ingest request bodies decoded and
	// stored at once (0: no bound): each request weighs its Content-Length,
	// or the whole budget without one. Past it a request waits up to
	// IngestQueueWait, in order, with at most MaxQueuedIngest others, and is
	// otherwise answered 503 with Retry-After. NewServer sets the defaults.
	MaxInflightIngestBytes int64
	MaxQueuedIngest        int
	IngestQueueWait        time.Duration

	admission *admission
	ln        net.Listener
	srv       *http.Server
	metrics   *metrics
	adminSum  [32]byte
	stopping  atomic.Bool
	limiters  rateLimiters
}

// NewServer returns a server with defaults; set its services, then Open it.
func NewServer() *Server {
	return &Server{
		Addr:     "127.0.0.1:8080",
		Logger:   slog.Default(),
		Registry: prometheus.NewRegistry(),
		Now:      time.Now,

		MaxInflightIngestBytes: DefaultMaxInflightIngestBytes,
		MaxQueuedIngest:        DefaultMaxQueuedIngest,
		IngestQueueWait:        DefaultIngestQueueWait,
	}
}

// Open starts listening and serving in the background.
func (s *Server) Open() error {
	if s.AdminToken == "" {
		return errors.New("http: the admin token is not set")
	}
	if len(s.CursorKey) < 16 {
		return errors.New("http: the cursor key is not set")
	}
	s.adminSum = sha256.Sum256([]byte(s.AdminToken))
	s.metrics = newMetrics(s.Registry)
	s.limiters = newRateLimiters(s.RateLimits)
	s.admission = newAdmission(s.MaxInflightIngestBytes, s.MaxQueuedIngest, s.IngestQueueWait, s.Registry)
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute, // streaming responses extend it as they write
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL the server listens on.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting connections and waits, until ctx ends, for in-flight
// requests (an ingest waiting for its commit included) to finish.
func (s *Server) Close(ctx context.Context) error {
	s.stopping.Store(true)
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// isAdmin reports, in constant time, whether the request carries the admin token as a bearer token.
func (s *Server) isAdmin(r *http.Request) bool {
	tok, ok := bearerToken(r)
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.adminSum[:]) == 1
}
