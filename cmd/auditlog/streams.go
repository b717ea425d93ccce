package main

import (
	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/seal"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/nats"
	"github.com/auditlog/auditlog/stream"
	"github.com/auditlog/auditlog/webhook"
)

// streamKey returns the key that encrypts stream secrets at rest:
// --stream-key-file, or else one derived from the checkpoint signing key,
// which does not live in the database either.
func (s *Service) streamKey(signing *merkle.Key) (*seal.Key, error) {
	if s.Config.StreamKeyFile != "" {
		return seal.LoadKey(s.Config.StreamKeyFile)
	}
	return seal.NewKey(signing.DeriveSecret("stream secrets"))
}

// newStreamWorker returns the stream delivery worker with a deliverer for
// each stream type; its store is set once the store is open.
func (s *Service) newStreamWorker() *stream.Worker {
	w := stream.NewWorker(nil)
	w.Logger = s.Logger.With("component", "streams")
	w.RetryBase = s.Config.StreamRetryBase
	w.RetryMax = s.Config.StreamRetryMax
	w.Deliverers[auditlog.StreamWebhook] = webhook.NewDeliverer(w.Timeout)
	w.Deliverers[auditlog.StreamNATS] = nats.NewDeliverer() // Close closes its connections
	return w
}
