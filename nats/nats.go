// Package nats delivers stream events to NATS JetStream (SPEC §10): one
// message per event, its v1 JSON, with the Nats-Msg-Id header set to the
// event's id so that JetStream drops a redelivered event within the stream's
// duplicate window.
package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of each message besides Nats-Msg-Id.
const (
	HeaderOrganization = "Auditlog-Organization" // provider/name
	HeaderSequence     = "Auditlog-Sequence"
)

// Deliverer publishes events to JetStream, keeping one connection per
// server URL. It implements auditlog.Deliverer.
type Deliverer struct {
	// ConnectTimeout bounds connecting to a server.
	ConnectTimeout time.Duration

	mu    sync.Mutex
	conns map[string]*conn
}

type conn struct {
	nc *natsgo.Conn
	js jetstream.JetStream
}

var _ auditlog.Deliverer = (*Deliverer)(nil)

// NewDeliverer returns a Deliverer; Close it to close its connections.
func NewDeliverer() *Deliverer {
	return &Deliverer{ConnectTimeout: 5 * time.Second, conns: map[string]*conn{}}
}

// Close closes every connection.
func (d *Deliverer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for u, c := range d.conns {
		c.nc.Close()
		delete(d.conns, u)
	}
	return nil
}

// Deliver publishes one message per event to the stream's subject, in
// order, and returns once JetStream has acknowledged every one. The messages
// are sent without waiting for each ack in turn; after a failure the worker
// publishes the batch again from its first event, and JetStream drops the
// messages it already has (Nats-Msg-Id).
func (d *Deliverer) Deliver(ctx context.Context, s *auditlog.Stream, _ []byte, events []*auditlog.Event) error {
	c, err := d.conn(s.URL)
	if err != nil {
		return err
	}
	futures := make([]jetstream.PubAckFuture, 0, len(events))
	org := s.Org.String()
	for _, e := range events {
		m := natsgo.NewMsg(s.Subject)
		m.Data = e.AppendJSON(make([]byte, 0, 512))
		m.Header.Set(HeaderOrganization, org)
		m.Header.Set(HeaderSequence, strconv.FormatInt(e.Sequence, 10))
		f, err := c.js.PublishMsgAsync(m, jetstream.WithMsgID(e.ID))
		if err != nil {
			d.drop(s.URL, c)
			return fmt.Errorf("publish to %s: %w", s.Subject, err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, natsgo.ErrNoResponders) {
				return fmt.Errorf("no JetStream stream takes subject %s", s.Subject)
			}
			return fmt.Errorf("publish event %d to %s: %w", events[i].Sequence, s.Subject, err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for JetStream to acknowledge event %d: %w", events[i].Sequence, ctx.Err())
		}
	}
	return nil
}

// conn returns the connection to a server URL, connecting if needed.
func (d *Deliverer) conn(u string) (*conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.conns[u]; ok && !c.nc.IsClosed() {
		return c, nil
	}
	nc, err := natsgo.Connect(u, natsgo.Name("auditlog"), natsgo.Timeout(d.ConnectTimeout), natsgo.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	c := &conn{nc: nc, js: js}
	d.conns[u] = c
	return c, nil
}

// drop closes a connection that failed, so that the next delivery makes a new one.
func (d *Deliverer) drop(u string, c *conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conns[u] == c {
		delete(d.conns, u)
	}
	c.nc.Close()
}
