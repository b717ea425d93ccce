package http

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
)

// ingestEvent is an event as a host sends it (SPEC §4). Fields that the
// server assigns (sequence, receivedAt) are not accepted.
type ingestEvent struct {
	Organization   auditlog.OrgRef `json:"organization"`
	ID             string          `json:"id"`
	Action         string          `json:"action"`
	Actor          auditlog.Actor  `json:"actor"`
	Result         string          `json:"result"`
	Source         string          `json:"source"`
	Timestamp      *string         `json:"timestamp"`
	RepositoryName string          `json:"repositoryName"`
	EntityID       string          `json:"entityId"`
	Description    string          `json:"description"`
	Details        json.RawMessage `json:"details"`
	IPAddress      string          `json:"ipAddress"`
	UserAgent      string          `json:"userAgent"`
}

func (in *ingestEvent) event() (auditlog.Event, error) {
	e := auditlog.Event{
		Organization: in.Organization, ID: in.ID, Action: in.Action, Actor: in.Actor,
		Result: in.Result, Source: in.Source, RepositoryName: in.RepositoryName, EntityID: in.EntityID,
		Description: in.Description, Details: in.Details, IPAddress: in.IPAddress, UserAgent: in.UserAgent,
	}
	if in.Timestamp != nil {
		t, err := time.Parse(time.RFC3339Nano, *in.Timestamp)
		if err != nil {
			return e, fmt.Errorf("timestamp %q is not an RFC 3339 date-time", *in.Timestamp)
		}
		e.Timestamp = t
	}
	return e, nil
}

// handleIngest is POST /api/v1/events: a JSON array or NDJSON batch, stored
// whole or not at all.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	if err := s.requireAdmin(r); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	release, aerr := s.admission.acquire(r.Context(), r.ContentLength)
	if aerr != nil {
		if r.Context().Err() == nil {
			Error(w, r, s.Logger, aerr)
		} // else the client is gone: nobody reads an answer
		return
	}
	defer release()
	body := http.MaxBytesReader(w, r.Body, auditlog.MaxBatchBytes)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var (
		events []auditlog.Event
		bad    []auditlog.EventError
		err    error
	)
	if mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl" {
		events, bad, err = decodeNDJSON(body)
	} else {
		events, bad, err = decodeJSONArray(body)
	}
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	s.metrics.ingestBatch.Observe(float64(len(events)))
	if len(bad) > 0 {
		// Report every bad event, those that decoded badly and those that decoded but are invalid.
		now := s.Now().UTC()
		failed := map[int]bool{}
		for _, b := range bad {
			failed[b.Index] = true
		}
		for i := range events {
			if failed[i] {
				continue
			}
			events[i].Normalize(now)
			if err := events[i].Validate(now); err != nil {
				bad = append(bad, auditlog.EventError{Index: i, Reason: auditlog.ErrorMessage(err)})
			}
		}
		sort.Slice(bad, func(i, j int) bool { return bad[i].Index < bad[j].Index })
		s.metrics.ingestEvents.WithLabelValues("rejected").Add(float64(len(events)))
		Error(w, r, s.Logger, auditlog.BatchError(bad))
		return
	}
	res, err := s.Events.AppendEvents(r.Context(), events)
	if err != nil {
		if auditlog.ErrorCode(err) == auditlog.EUNPROCESSABLE {
			s.metrics.ingestEvents.WithLabelValues("rejected").Add(float64(len(events)))
		}
		Error(w, r, s.Logger, err)
		return
	}
	s.metrics.ingestEvents.WithLabelValues("accepted").Add(float64(res.Accepted))
	s.metrics.ingestEvents.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	writeJSON(w, http.StatusOK, res)
}

var errTooManyEvents = auditlog.Errorf(auditlog.ETOOLARGE, "a batch holds at most %d events", auditlog.MaxBatchEvents)

// decodeJSONArray reads a JSON array of events. An element that cannot be
// decoded is reported by index; a body that is not a well-formed array is an error.
//
// It reads the whole body (at most auditlog.MaxBatchBytes) and decodes it
// with fastJSONArray when it can, and otherwise with decodeJSONStream, which
// gives every answer, events or errors, for a body fastJSONArray leaves.
func decodeJSONArray(body io.Reader) ([]auditlog.Event, []auditlog.EventError, error) {
	buf := bodyBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledBody {
			bodyBuffers.Put(buf)
		}
	}()
	data, err := readBody(body, (*buf)[:0])
	*buf = data
	if err != nil {
		// The same bytes then the same error, as encoding/json would have read them.
		return decodeJSONStream(io.MultiReader(bytes.NewReader(data), errReader{err}))
	}
	if events, ok := fastJSONArray(data); ok {
		return events, nil, nil
	}
	return decodeJSONStream(bytes.NewReader(data))
}

// bodyBuffers holds buffers for the bodies decodeJSONArray reads: neither
// decoder keeps any of a body's memory.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer bodyBuffers keeps.
const maxPooledBody = 4 << 20

// readBody appends all of r to b, as io.ReadAll does.
func readBody(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF { // as io.ReadAll and encoding/json's Decoder: a wrapped EOF is an error
				return b, nil
			}
			return b, err
		}
	}
}

// errReader returns its error on every read.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// decodeJSONStream is decodeJSONArray with encoding/json, for any body.
func decodeJSONStream(body io.Reader) ([]auditlog.Event, []auditlog.EventError, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, auditlog.Errorf(auditlog.EINVALID, "the request body is empty: send a JSON array of events")
		}
		return nil, nil, jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, nil, auditlog.Errorf(auditlog.EINVALID, "the request body must be a JSON array of events (or NDJSON with Content-Type: application/x-ndjson)")
	}
	var (
		events []auditlog.Event
		bad    []auditlog.EventError
	)
	for dec.More() {
		if len(events) == auditlog.MaxBatchEvents {
			return nil, nil, errTooManyEvents
		}
		i := len(events)
		var in ingestEvent
		err := dec.Decode(&in)
		var syntax *json.SyntaxError
		var tooBig *http.MaxBytesError
		if errors.As(err, &syntax) || errors.As(err, &tooBig) || errors.Is(err, io.ErrUnexpectedEOF) {
			e := jsonError(err)
			return nil, nil, auditlog.Errorf(auditlog.ErrorCode(e), "event %d: %s", i, auditlog.ErrorMessage(e))
		}
		e, convErr := in.event()
		events = append(events, e)
		if err == nil {
			err = convErr
		}
		if err != nil {
			bad = append(bad, auditlog.EventError{Index: i, Reason: decodeReason(err)})
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, auditlog.Errorf(auditlog.EINVALID, "malformed JSON: unexpected data after the array")
	}
	if len(events) == 0 {
		return nil, nil, auditlog.Errorf(auditlog.EINVALID, "the batch holds no events")
	}
	return events, bad, nil
}

// decodeNDJSON reads one event per line; blank lines are skipped.
func decodeNDJSON(body io.Reader) ([]auditlog.Event, []auditlog.EventError, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var (
		events []auditlog.Event
		bad    []auditlog.EventError
	)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(events) == auditlog.MaxBatchEvents {
			return nil, nil, errTooManyEvents
		}
		i := len(events)
		var in ingestEvent
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		err := dec.Decode(&in)
		if err == nil && dec.More() {
			err = errors.New("unexpected data after the event on its line")
		}
		e, convErr := in.event()
		events = append(events, e)
		if err == nil {
			err = convErr
		}
		if err != nil {
			bad = append(bad, auditlog.EventError{Index: i, Reason: decodeReason(err)})
		}
	}
	if err := sc.Err(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, jsonError(err)
		}
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, auditlog.Errorf(auditlog.ETOOLARGE, "line %d is longer than 1 MiB", len(events)+1)
		}
		return nil, nil, auditlog.Errorf(auditlog.EINVALID, "reading the request body: %v", err)
	}
	if len(events) == 0 {
		return nil, nil, auditlog.Errorf(auditlog.EINVALID, "the batch holds no events")
	}
	return events, bad, nil
}

// decodeReason is the per-event reason of a decoding error.
func decodeReason(err error) string {
	var typ *json.UnmarshalTypeError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		return typeErrorReason(typ)
	case errors.As(err, &syntax):
		return "malformed JSON: " + syntax.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of line"
	}
	return trimJSONPrefix(err.Error())
}
