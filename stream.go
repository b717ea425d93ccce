package auditlog

import (
	"context"
	"iter"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Stream types (SPEC §10).
const (
	StreamWebhook = "webhook"
	StreamNATS    = "nats"
)

// Stream states: active while deliveries succeed (or there is nothing to
// deliver), failing from a failed delivery until the next successful one.
const (
	StreamActive  = "active"
	StreamFailing = "failing"
)

// MaxStreamsPerOrg bounds how many streams an organization may register.
const MaxStreamsPerOrg = 20

// Stream is a destination that receives an organization's new events, in
// sequence order, at least once. Its secret (the webhook's HMAC key) and the
// credentials in its URL are stored encrypted and never part of a Stream:
// URL is shown with any password redacted.
type Stream struct {
	ID        string    `json:"id"`
	Org       OrgRef    `json:"organization"`
	Type      string    `json:"type"`
	URL       string    `json:"url"`
	Subject   string    `json:"subject,omitempty"` // nats only
	Query     string    `json:"q"`                 // canonical search text; "" delivers every event
	CreatedAt time.Time `json:"createdAt"`
	StreamStatus
}

// StreamStatus is where a stream's delivery stands. Only the delivery
// worker of the server holding the stream's lease changes it, through
// StreamStore.SetStreamStatus.
type StreamStatus struct {
	State string `json:"state"`
	// Cursor is the next sequence to consider: every event before it was
	// delivered or did not match the stream's q. Delivery resumes there.
	Cursor int64 `json:"cursor"`
	// LastDeliveredSequence is the sequence of the last event the receiver
	// acknowledged, -1 if none yet.
	LastDeliveredSequence int64      `json:"lastDeliveredSequence"`
	LastError             string     `json:"lastError,omitempty"`
	LastSuccessAt         *time.Time `json:"lastSuccessAt"`
	// FailingSince is the time of the first failed try of the current outage.
	FailingSince *time.Time `json:"failingSince,omitempty"`
}

// StreamSecrets are what a stream's deliverer needs and a listing never shows.
type StreamSecrets struct {
	URL    string // the URL as given, credentials included
	Secret []byte // the webhook's HMAC key; none for nats
}

// StreamService manages an organization's streams (the HTTP API).
type StreamService interface {
	// CreateStream registers s (ID, CreatedAt and StreamStatus are set by the
	// store: the stream starts at the organization's next sequence) with its
	// secrets, and returns it as stored.
	CreateStream(ctx context.Context, s *Stream, secrets StreamSecrets) (*Stream, error)
	// Streams lists an organization's streams, oldest first.
	Streams(ctx context.Context, ref OrgRef) ([]*Stream, error)
	// FindStream returns one stream or an ENOTFOUND error.
	FindStream(ctx context.Context, ref OrgRef, id string) (*Stream, error)
	// DeleteStream removes a stream; its deliveries stop.
	DeleteStream(ctx context.Context, ref OrgRef, id string) error
}

// StreamStore is what the delivery worker (package stream) needs of a store.
type StreamStore interface {
	StreamService
	// AllStreams lists the streams of every organization.
	AllStreams(ctx context.Context) ([]*Stream, error)
	// StreamSecrets decrypts a stream's URL and secret.
	StreamSecrets(ctx context.Context, ref OrgRef, id string) (*StreamSecrets, error)
	// ClaimStreams returns the streams this server is to deliver now, each
	// with the fencing token of its lease. Where several servers share the
	// store, each stream is leased to one of them at a time: ClaimStreams
	// renews the leases this server holds and takes those that are free or
	// expired (a server that stops calling it loses its streams to the
	// others). A single-process store always holds every stream.
	ClaimStreams(ctx context.Context) ([]StreamLease, error)
	// SetStreamStatus durably records a stream's delivery status, under the
	// lease whose token ClaimStreams gave. It is an ENOTFOUND error once the
	// stream is deleted, and an ECONFLICT error, changing nothing, once
	// another server has taken the stream over: a server that lost its lease
	// can neither move the cursor back nor overwrite the new holder's status.
	SetStreamStatus(ctx context.Context, ref OrgRef, id string, token int64, st StreamStatus) error
	// EventsFrom yields the organization's retained events with sequences
	// from from on, ascending, at most limit of them (0: no limit).
	EventsFrom(ctx context.Context, ref OrgRef, from int64, limit int) iter.Seq2[*Event, error]
}

// StreamLease is a server's right to deliver one stream: the stream as
// stored when the lease was claimed or renewed, and the lease's fencing
// token, which grows each time the stream passes to another server.
type StreamLease struct {
	*Stream
	Token int64
}

// Deliverer sends a batch of events, in order, to a stream of one type. It
// returns nil only once the receiver has acknowledged every event.
type Deliverer interface {
	Deliver(ctx context.Context, s *Stream, secret []byte, events []*Event) error
}

// Validate checks a stream to be created, with its secret: the type, an
// http(s) URL and a secret for a webhook, a NATS URL and a subject without
// wildcards for nats. It does not check Query, which package query parses.
func (s *Stream) Validate(secret []byte) error {
	invalid := func(format string, args ...any) error { return Errorf(EUNPROCESSABLE, format, args...) }
	if len(s.URL) > 2048 {
		return invalid("url is longer than 2048 bytes")
	}
	switch s.Type {
	case StreamWebhook:
		u, err := url.Parse(s.URL)
		switch {
		case s.URL == "":
			return invalid("url is required: the receiver's http:// or https:// address")
		case err != nil:
			return invalid("url is not a valid URL")
		case u.Scheme != "http" && u.Scheme != "https":
			return invalid("a webhook url must start with http:// or https://")
		case u.Hostname() == "":
			return invalid("a webhook url must name a host")
		case u.Fragment != "":
			return invalid("a webhook url must not have a fragment")
		}
		if len(secret) == 0 {
			return invalid("secret is required for a webhook: the receiver checks each delivery's signature with it")
		}
		if len(secret) > 1024 {
			return invalid("secret is longer than 1024 bytes")
		}
		if s.Subject != "" {
			return invalid("subject is for nats streams only")
		}
	case StreamNATS:
		if s.URL == "" {
			return invalid("url is required: the NATS server, as nats://host:4222")
		}
		for _, part := range strings.Split(s.URL, ",") {
			u, err := url.Parse(strings.TrimSpace(part))
			if err != nil {
				return invalid("url is not a valid URL")
			}
			switch u.Scheme {
			case "nats", "tls", "ws", "wss":
			default:
				return invalid("a nats url must start with nats://, tls://, ws:// or wss://")
			}
			if u.Hostname() == "" {
				return invalid("a nats url must name a host")
			}
		}
		if len(secret) > 0 {
			return invalid("secret is for webhooks only: give NATS credentials in the url")
		}
		return validSubject(s.Subject)
	case "":
		return invalid("type is required: webhook or nats")
	default:
		return invalid("invalid type %q: must be webhook or nats", truncate(s.Type, 32))
	}
	return nil
}

// validSubject checks a NATS subject to publish to: dot-separated tokens of
// printable characters, without wildcards.
func validSubject(s string) error {
	invalid := func(format string, args ...any) error { return Errorf(EUNPROCESSABLE, format, args...) }
	if s == "" {
		return invalid("subject is required for a nats stream")
	}
	if len(s) > 255 || !utf8.ValidString(s) {
		return invalid("subject must be at most 255 bytes of UTF-8")
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return invalid("subject %q has an empty token", s)
		}
		if tok == "*" || tok == ">" {
			return invalid("subject %q has a wildcard: give a concrete subject", s)
		}
		if strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
			return invalid("subject %q has spaces or control characters", s)
		}
	}
	return nil
}

// RedactURL returns a stream URL as a listing shows it: the password of its
// user information and the values of its query replaced by "xxxxx" (the URL
// as given is stored sealed, with the secret).
func RedactURL(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "xxxxx"
			continue
		}
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else if u.User.Username() != "" {
				u.User = url.User("xxxxx") // a token alone, as nats://token@host
			}
		}
		if u.RawQuery != "" {
			q := u.Query()
			for k := range q {
				q[k] = []string{"xxxxx"}
			}
			u.RawQuery = q.Encode()
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
