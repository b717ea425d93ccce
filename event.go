package auditlog

import (
	"context"
	"encoding/json"
	"iter"
	"net/netip"
	"time"
	"unicode/utf8"
)

// Results and sources an event can have.
const (
	ResultSucceed  = "succeed"
	ResultFailed   = "failed"
	ResultRejected = "rejected"

	SourceUI  = "UI"
	SourceAPI = "API"
)

// Limits on ingested events.
const (
	MaxBatchEvents    = 10_000
	MaxBatchBytes     = 32 << 20
	MaxDetailsBytes   = 64 << 10
	MaxIDLength       = 128
	MaxFieldLength    = 1024 // repositoryName, entityId, userAgent
	MaxDescriptionLen = 4096
	MaxFutureSkew     = 5 * time.Minute
)

// Actor is who caused an event.
type Actor struct {
	Email string `json:"email"`
	Role  string `json:"role,omitempty"`
}

// Event is one audited operation in an organization's append-only log.
//
// Sequence, ReceivedAt and (when the client gave none) ID are assigned by the
// store. Timestamp and ReceivedAt have millisecond precision, in UTC.
type Event struct {
	Organization   OrgRef          `json:"organization"`
	Sequence       int64           `json:"sequence"`
	ID             string          `json:"id,omitempty"`
	Action         string          `json:"action"`
	Actor          Actor           `json:"actor"`
	Result         string          `json:"result"`
	Source         string          `json:"source"`
	Timestamp      time.Time       `json:"timestamp"`
	ReceivedAt     time.Time       `json:"receivedAt"`
	RepositoryName string          `json:"repositoryName"`
	EntityID       string          `json:"entityId"`
	Description    string          `json:"description"`
	Details        json.RawMessage `json:"details,omitempty"`
	IPAddress      string          `json:"ipAddress,omitempty"`
	UserAgent      string          `json:"userAgent,omitempty"`

	// Salt is the random salt of the personal fields (see Leaf); an erased
	// event has none, and PersonalHash instead. Neither is part of the v1 JSON.
	Salt         []byte `json:"-"`
	PersonalHash []byte `json:"-"`
}

// Level returns the catalog level of the event's action.
func (e *Event) Level() Level {
	a, _ := LookupAction(e.Action)
	return a.Level
}

// Normalize fills the defaults of an ingested event and brings its fields to
// their stored form: results and sources default, timestamps in UTC with
// millisecond precision, the description from the catalog, the email lower-case,
// details compacted. It does not validate; call Validate after it.
func (e *Event) Normalize(now time.Time) {
	if e.Result == "" {
		e.Result = ResultSucceed
	}
	if e.Source == "" {
		e.Source = SourceUI
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now
	}
	e.Timestamp = e.Timestamp.UTC().Truncate(time.Millisecond)
	if e.Description == "" {
		if a, ok := LookupAction(e.Action); ok {
			e.Description = a.Description
		}
	}
	if email, err := NormalizeEmail(e.Actor.Email); err == nil {
		e.Actor.Email = email
	}
	if len(e.Details) > 0 {
		if c, err := compactJSON(e.Details); err == nil {
			e.Details = c
		}
		if string(e.Details) == "null" || string(e.Details) == "{}" {
			e.Details = nil // no details: read back as {}
		}
	}
}

// Validate checks a normalized ingested event against the rules of SPEC §4,
// except that its organization exists, which only the store can tell.
func (e *Event) Validate(now time.Time) error {
	invalid := func(format string, args ...any) error { return Errorf(EUNPROCESSABLE, format, args...) }
	if err := e.Organization.Validate(); err != nil {
		if e.Organization == (OrgRef{}) {
			return invalid("organization is required")
		}
		return invalid("organization: %s", ErrorMessage(err))
	}
	if e.Action == "" {
		return invalid("action is required")
	}
	if _, ok := LookupAction(e.Action); !ok {
		return invalid("unknown action %q: see GET /api/v1/actions", truncate(e.Action, 100))
	}
	if e.Actor.Email == "" {
		return invalid("actor.email is required")
	}
	if _, err := NormalizeEmail(e.Actor.Email); err != nil {
		return invalid("actor.email: %s", ErrorMessage(err))
	}
	if e.Actor.Role != "" && !ValidActorRole(e.Actor.Role) {
		return invalid("invalid actor.role %q: must be one of repositoryRead, repositoryWrite, repositoryAdmin, organizationMember, organizationAdmin, organizationManager", truncate(e.Actor.Role, 64))
	}
	if e.Result != ResultSucceed && e.Result != ResultFailed && e.Result != ResultRejected {
		return invalid("invalid result %q: must be succeed, failed or rejected", truncate(e.Result, 64))
	}
	if e.Source != SourceUI && e.Source != SourceAPI {
		return invalid("invalid source %q: must be UI or API", truncate(e.Source, 64))
	}
	if e.Timestamp.After(now.Add(MaxFutureSkew)) {
		return invalid("timestamp %s is more than 5 minutes in the future", e.Timestamp.Format(time.RFC3339))
	}
	if e.Timestamp.Year() < 1970 || e.Timestamp.Year() > 9999 {
		return invalid("timestamp must be between 1970 and 9999")
	}
	if len(e.ID) > MaxIDLength {
		return invalid("id is longer than %d characters", MaxIDLength)
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"id", e.ID, MaxIDLength},
		{"repositoryName", e.RepositoryName, MaxFieldLength},
		{"entityId", e.EntityID, MaxFieldLength},
		{"description", e.Description, MaxDescriptionLen},
		{"userAgent", e.UserAgent, MaxFieldLength},
	} {
		if len(f.value) > f.max {
			return invalid("%s is longer than %d bytes", f.name, f.max)
		}
		if !utf8.ValidString(f.value) {
			return invalid("%s is not valid UTF-8", f.name)
		}
	}
	if e.IPAddress != "" {
		if _, err := netip.ParseAddr(e.IPAddress); err != nil {
			return invalid("ipAddress %q is not an IP address", truncate(e.IPAddress, 64))
		}
	}
	if len(e.Details) > 0 {
		if len(e.Details) > MaxDetailsBytes {
			return invalid("details is larger than 64 KiB")
		}
		if e.Details[0] != '{' || !json.Valid(e.Details) {
			return invalid("details must be a JSON object")
		}
		if !utf8.Valid(e.Details) { // json.Valid does not check the encoding of strings
			return invalid("details is not valid UTF-8")
		}
	}
	return nil
}

// EventError names one invalid event of a batch by its 0-based index.
type EventError struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// PrepareBatch normalizes and validates a batch of ingested events. It returns
// an EUNPROCESSABLE error whose Details list every invalid event.
func PrepareBatch(events []Event, now time.Time) error {
	if len(events) == 0 {
		return Errorf(EINVALID, "the batch holds no events")
	}
	if len(events) > MaxBatchEvents {
		return Errorf(ETOOLARGE, "a batch holds at most %d events, got %d", MaxBatchEvents, len(events))
	}
	var bad []EventError
	for i := range events {
		events[i].Normalize(now)
		if err := events[i].Validate(now); err != nil {
			bad = append(bad, EventError{Index: i, Reason: ErrorMessage(err)})
		}
	}
	return BatchError(bad)
}

// BatchError returns the EUNPROCESSABLE error for a batch's invalid events, or nil if there are none.
func BatchError(bad []EventError) error {
	if len(bad) == 0 {
		return nil
	}
	return &Error{Code: EUNPROCESSABLE, Message: pluralEvents(len(bad)) + " invalid; nothing was stored", Details: bad}
}

func pluralEvents(n int) string {
	if n == 1 {
		return "1 event is"
	}
	return itoa(n) + " events are"
}

// Appended is where one event of a batch was stored.
type Appended struct {
	ID       string `json:"id"`
	Sequence int64  `json:"sequence"`
}

// AppendResult is the outcome of appending a batch.
type AppendResult struct {
	Accepted   int        `json:"accepted"`
	Duplicates int        `json:"duplicates"`
	Events     []Appended `json:"events"`
}

// EventFilter selects an organization's events. Zero fields select everything.
type EventFilter struct {
	From, To time.Time // inclusive bounds on Timestamp; zero means unbounded
	Limit    int       // at most this many events; 0 means no limit
	Query    *Query    // only events that match; nil matches all
	// After continues a listing: only events strictly older, in list order
	// (timestamp, then sequence, descending), than the position it names.
	After *Position
}

// Position is a place in an organization's list order, as a cursor keeps it.
type Position struct {
	Timestamp time.Time
	Sequence  int64
}

// EventService appends and reads events.
type EventService interface {
	// AppendEvents validates and durably appends a batch: all of it or, on error, nothing.
	AppendEvents(ctx context.Context, events []Event) (*AppendResult, error)
	// FindEvents yields an organization's events that match f, newest first
	// (by timestamp, then sequence), reading lazily as the caller iterates.
	FindEvents(ctx context.Context, ref OrgRef, f EventFilter) iter.Seq2[*Event, error]
}
