package http

import (
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/query"
)

// List limits of GET .../events.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// handleListEvents is GET /api/v1/organizations/{provider}/{name}/events:
// a page of v1 events, newest first, filtered by q, with a keyset cursor.
func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	if _, err := s.requireReader(r, ref); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	params := r.URL.Query()
	limit := defaultListLimit
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			Error(w, r, s.Logger, auditlog.Errorf(auditlog.EINVALID, "limit must be an integer from 1 to %d, got %q", maxListLimit, truncate(v, 20)))
			return
		}
		limit = n
	}
	f, err := s.eventFilter(r, ref)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	if c := params.Get("cursor"); c != "" {
		if f.After, err = s.decodeCursor(ref, c); err != nil {
			Error(w, r, s.Logger, err)
			return
		}
	}
	f.Limit = limit + 1 // one more tells whether another page follows
	b := append(make([]byte, 0, 64<<10), `{"data":[`...)
	n, more := 0, false
	var last *auditlog.Event
	for e, err := range s.Events.FindEvents(r.Context(), ref, f) {
		if err != nil {
			Error(w, r, s.Logger, err)
			return
		}
		if n == limit {
			more = true
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = e.AppendJSON(b)
		last = e
		n++
	}
	b = append(b, `],"pagination":{`...)
	if more {
		b = append(b, `"cursor":`...)
		b = auditlog.AppendJSONString(b, s.encodeCursor(ref, auditlog.Position{Timestamp: last.Timestamp, Sequence: last.Sequence}))
		b = append(b, ',')
	}
	b = append(b, `"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, "}}\n"...)
	s.metrics.readEvents.WithLabelValues(r.Pattern).Add(float64(n))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// eventFilter reads the q parameter shared by the list, exports and streams.
func (s *Server) eventFilter(r *http.Request, ref auditlog.OrgRef) (auditlog.EventFilter, error) {
	var f auditlog.EventFilter
	if q := r.URL.Query().Get("q"); q != "" {
		parsed, err := query.Parse(q, s.Now())
		if err != nil {
			return f, err
		}
		f.Query = parsed
	}
	return f, nil
}
