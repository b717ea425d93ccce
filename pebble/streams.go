package pebble

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/cockroachdb/pebble/v2"
)

var _ auditlog.StreamStore = (*DB)(nil)

// streamRecord is a stored stream: its definition, and its URL and secret
// sealed with DB.StreamKey (bound to the organization and the stream's id).
// Its delivery status lives under its own key (streamStatusKey), which the
// delivery worker rewrites after every batch.
type streamRecord struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	URL       string    `json:"url"` // redacted
	Subject   string    `json:"subject,omitempty"`
	Query     string    `json:"q"`
	CreatedAt time.Time `json:"createdAt"`
	Sealed    []byte    `json:"sealed"` // sealedSecrets, sealed
}

var errNoStream = auditlog.Errorf(auditlog.ENOTFOUND, "stream not found")

// CreateStream registers a stream, starting at the organization's next sequence.
func (db *DB) CreateStream(ctx context.Context, s *auditlog.Stream, secrets auditlog.StreamSecrets) (*auditlog.Stream, error) {
	if db.StreamKey == nil {
		return nil, errors.New("no stream key is configured: stream secrets cannot be stored")
	}
	if s.Type != auditlog.StreamWebhook && s.Type != auditlog.StreamNATS {
		return nil, auditlog.Errorf(auditlog.EUNPROCESSABLE, "invalid stream type %q: must be webhook or nats", s.Type)
	}
	org, err := db.orgID(s.Org)
	if err != nil {
		return nil, err
	}
	db.streamMu.Lock()
	defer db.streamMu.Unlock()
	n := 0
	for _, err := range db.streamRecords(ctx, org) {
		if err != nil {
			return nil, err
		}
		n++
	}
	if n >= auditlog.MaxStreamsPerOrg {
		return nil, auditlog.Errorf(auditlog.EUNPROCESSABLE, "an organization has at most %d streams: delete one first", auditlog.MaxStreamsPerOrg)
	}
	size, err := db.logSize(org)
	if err != nil {
		return nil, err
	}
	out := *s
	out.ID = auditlog.NewID(8)
	out.CreatedAt = db.now()
	out.StreamStatus = auditlog.StreamStatus{State: auditlog.StreamActive, Cursor: size, LastDeliveredSequence: -1}
	sealed, err := db.StreamKey.SealStream(s.Org, out.ID, secrets)
	if err != nil {
		return nil, err
	}
	rec := streamRecord{ID: out.ID, Type: out.Type, URL: out.URL, Subject: out.Subject, Query: out.Query, CreatedAt: out.CreatedAt,
		Sealed: sealed}
	b := db.db.NewBatch()
	defer b.Close()
	if err := setJSON(b, streamKey(org, out.ID), &rec); err != nil {
		return nil, err
	}
	if err := setJSON(b, streamStatusKey(org, out.ID), &out.StreamStatus); err != nil {
		return nil, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("create stream: %w", err)
	}
	return &out, nil
}

// Streams lists an organization's streams, oldest first.
func (db *DB) Streams(ctx context.Context, ref auditlog.OrgRef) ([]*auditlog.Stream, error) {
	org, err := db.orgID(ref)
	if err != nil {
		return nil, err
	}
	var out []*auditlog.Stream
	for rec, err := range db.streamRecords(ctx, org) {
		if err != nil {
			return nil, err
		}
		s, err := db.stream(org, ref, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *auditlog.Stream) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// AllStreams lists the streams of every organization.
func (db *DB) AllStreams(ctx context.Context) ([]*auditlog.Stream, error) {
	var out []*auditlog.Stream
	err := db.forEachOrg(func(org uint32) error {
		o, err := db.orgByID(org)
		if err != nil {
			return err
		}
		list, err := db.Streams(ctx, o.OrgRef)
		out = append(out, list...)
		return err
	})
	return out, err
}

// ClaimStreams returns every stream: the embedded store belongs to one
// process, which always holds the lease of each of its streams (token 0).
func (db *DB) ClaimStreams(ctx context.Context) ([]auditlog.StreamLease, error) {
	list, err := db.AllStreams(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]auditlog.StreamLease, len(list))
	for i, s := range list {
		out[i] = auditlog.StreamLease{Stream: s}
	}
	return out, nil
}

// FindStream returns one stream.
func (db *DB) FindStream(ctx context.Context, ref auditlog.OrgRef, id string) (*auditlog.Stream, error) {
	org, rec, err := db.findStream(ref, id)
	if err != nil {
		return nil, err
	}
	return db.stream(org, ref, rec)
}

// DeleteStream removes a stream and its status.
func (db *DB) DeleteStream(ctx context.Context, ref auditlog.OrgRef, id string) error {
	db.streamMu.Lock()
	defer db.streamMu.Unlock()
	org, _, err := db.findStream(ref, id)
	if err != nil {
		return err
	}
	b := db.db.NewBatch()
	defer b.Close()
	_ = b.Delete(streamKey(org, id), nil)
	_ = b.Delete(streamStatusKey(org, id), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete stream: %w", err)
	}
	return nil
}

// StreamSecrets opens a stream's sealed URL and secret.
func (db *DB) StreamSecrets(ctx context.Context, ref auditlog.OrgRef, id string) (*auditlog.StreamSecrets, error) {
	if db.StreamKey == nil {
		return nil, errors.New("no stream key is configured: stream secrets cannot be read")
	}
	_, rec, err := db.findStream(ref, id)
	if err != nil {
		return nil, err
	}
	return db.StreamKey.OpenStream(ref, id, rec.Sealed)
}

// SetStreamStatus records a stream's delivery status. It is written without
// waiting for the disk: a crash may lose the last advances of a cursor, and
// then those events are delivered again (at least once), never skipped.
// There is one process, hence one lease holder: the token is not checked.
func (db *DB) SetStreamStatus(ctx context.Context, ref auditlog.OrgRef, id string, _ int64, st auditlog.StreamStatus) error {
	db.streamMu.Lock()
	defer db.streamMu.Unlock()
	org, _, err := db.findStream(ref, id)
	if err != nil {
		return err
	}
	data, err := json.Marshal(&st)
	if err != nil {
		return err
	}
	return db.db.Set(streamStatusKey(org, id), data, pebble.NoSync)
}

// EventsFrom yields the organization's retained events from sequence from
// on, ascending; events purged by retention are skipped.
func (db *DB) EventsFrom(ctx context.Context, ref auditlog.OrgRef, from int64, limit int) iter.Seq2[*auditlog.Event, error] {
	return func(yield func(*auditlog.Event, error) bool) {
		org, err := db.orgID(ref)
		if err != nil {
			yield(nil, err)
			return
		}
		n := 0
		for rec, err := range db.eventsBySequence(ctx, org, ref, max(from, 0), 0) {
			if err != nil {
				yield(nil, err)
				return
			}
			if rec.Event == nil {
				continue // purged by retention
			}
			if !yield(rec.Event, nil) {
				return
			}
			if n++; limit > 0 && n >= limit {
				return
			}
		}
	}
}

func (db *DB) findStream(ref auditlog.OrgRef, id string) (uint32, *streamRecord, error) {
	if err := ref.Validate(); err != nil {
		return 0, nil, err
	}
	org, err := db.orgID(ref)
	if err != nil {
		return 0, nil, err
	}
	if id == "" || len(id) > 64 {
		return 0, nil, errNoStream
	}
	var rec streamRecord
	if err := db.getJSON(streamKey(org, id), &rec); errors.Is(err, pebble.ErrNotFound) {
		return 0, nil, errNoStream
	} else if err != nil {
		return 0, nil, fmt.Errorf("stream %s/%s: %w", ref, id, err)
	}
	return org, &rec, nil
}

// stream joins a stream record with its status.
func (db *DB) stream(org uint32, ref auditlog.OrgRef, rec *streamRecord) (*auditlog.Stream, error) {
	s := &auditlog.Stream{ID: rec.ID, Org: ref, Type: rec.Type, URL: rec.URL, Subject: rec.Subject, Query: rec.Query, CreatedAt: rec.CreatedAt}
	if err := db.getJSON(streamStatusKey(org, rec.ID), &s.StreamStatus); err != nil {
		return nil, fmt.Errorf("stream %s/%s: status: %w", ref, rec.ID, err)
	}
	return s, nil
}

// streamRecords yields the stored records of an organization's streams, in key order.
func (db *DB) streamRecords(ctx context.Context, org uint32) iter.Seq2[*streamRecord, error] {
	return func(yield func(*streamRecord, error) bool) {
		prefix := streamKey(org, "")
		it, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			yield(nil, err)
			return
		}
		defer it.Close()
		for valid := it.First(); valid; valid = it.Next() {
			var rec streamRecord
			if err := json.Unmarshal(it.Value(), &rec); err != nil {
				yield(nil, fmt.Errorf("stream record %x: %w", it.Key(), err))
				return
			}
			if !yield(&rec, nil) {
				return
			}
		}
		if err := it.Error(); err != nil {
			yield(nil, err)
		}
	}
}
