package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/auditlog/auditlog"
)

// handleCodacyAudit is Codacy's listAuditLogsForOrganization: a bare JSON
// array of AuditLog objects, newest first, streamed as it is read.
func (s *Server) handleCodacyAudit(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "remoteOrganizationName")
	if _, err := s.requireReader(r, ref); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	f, err := codacyRange(r, s.Now())
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	st := newJSONStream(w, r, s.Logger, "[", ",", "]")
	defer func() { s.metrics.readEvents.WithLabelValues(r.Pattern).Add(float64(st.n)) }()
	for e, err := range s.Events.FindEvents(r.Context(), ref, f) {
		if err != nil {
			st.fail(err)
			return
		}
		st.item(e.AppendCodacyJSON(st.buf()))
	}
	st.end()
}

// codacyRange reads from and to: inclusive Unix epoch milliseconds; from
// defaults to the earliest event and to to now.
func codacyRange(r *http.Request, now time.Time) (auditlog.EventFilter, error) {
	var f auditlog.EventFilter
	q := r.URL.Query()
	parse := func(name string) (time.Time, bool, error) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, false, nil
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 || ms > 253402300799999 {
			return time.Time{}, false, auditlog.Errorf(auditlog.EINVALID, "%s must be a Unix epoch time in milliseconds, got %q", name, truncate(v, 40))
		}
		return time.UnixMilli(ms).UTC(), true, nil
	}
	from, _, err := parse("from")
	if err != nil {
		return f, err
	}
	to, ok, err := parse("to")
	if err != nil {
		return f, err
	}
	if !ok {
		to = now.UTC().Truncate(time.Millisecond)
	}
	if !from.IsZero() && from.After(to) {
		return f, auditlog.Errorf(auditlog.EINVALID, "from (%d) is after to (%d)", from.UnixMilli(), to.UnixMilli())
	}
	f.From, f.To = from, to
	if from.IsZero() {
		f.From = time.UnixMilli(0).UTC()
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
