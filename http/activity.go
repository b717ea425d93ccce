package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/auditlog/auditlog"
)

// Bounds of GET .../events/activity: the range is whole UTC days.
const (
	defaultActivityDays = 90
	maxActivityDays     = 366
	oneDay              = 24 * time.Hour
)

// handleActivity is GET /api/v1/organizations/{provider}/{name}/events/activity:
// how many events (matching q) fall on each UTC day of a bounded range, the
// web viewer's activity chart. Every day of the range is listed, zeros included.
func (s *Server) handleActivity(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	if _, err := s.requireReader(r, ref); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	from, to, err := activityRange(r, s.Now())
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	f, err := s.eventFilter(r, ref)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	// Both bounds are inclusive; timestamps are whole milliseconds.
	f.From, f.To = from, to.Add(oneDay-time.Millisecond)
	counts := make([]int64, int(to.Sub(from)/oneDay)+1)
	var total int64
	for e, err := range s.Events.FindEvents(r.Context(), ref, f) {
		if err != nil {
			Error(w, r, s.Logger, err)
			return
		}
		if i := int(e.Timestamp.Sub(from) / oneDay); i >= 0 && i < len(counts) {
			counts[i]++
			total++
		}
	}
	s.metrics.readEvents.WithLabelValues(r.Pattern).Add(float64(total))

	b := make([]byte, 0, 64+len(counts)*32)
	b = append(b, `{"from":"`...)
	b = from.AppendFormat(b, time.DateOnly)
	b = append(b, `","to":"`...)
	b = to.AppendFormat(b, time.DateOnly)
	b = append(b, `","total":`...)
	b = strconv.AppendInt(b, total, 10)
	b = append(b, `,"days":[`...)
	for i, n := range counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"day":"`...)
		b = from.Add(time.Duration(i)*oneDay).AppendFormat(b, time.DateOnly)
		b = append(b, `","count":`...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// activityRange reads from and to, UTC dates (YYYY-MM-DD), both inclusive.
// to defaults to today and from to the 90 days that end on to; the range
// holds at most 366 days.
func activityRange(r *http.Request, now time.Time) (from, to time.Time, err error) {
	q := r.URL.Query()
	to = now.UTC().Truncate(oneDay)
	if v := q.Get("to"); v != "" {
		if to, err = parseDay("to", v); err != nil {
			return from, to, err
		}
	}
	from = to.Add(-(defaultActivityDays - 1) * oneDay)
	if v := q.Get("from"); v != "" {
		if from, err = parseDay("from", v); err != nil {
			return from, to, err
		}
	}
	if from.After(to) {
		return from, to, auditlog.Errorf(auditlog.EINVALID, "from (%s) is after to (%s)", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if n := int(to.Sub(from)/oneDay) + 1; n > maxActivityDays {
		return from, to, auditlog.Errorf(auditlog.EINVALID, "the range from %s to %s is %d days, more than %d", from.Format(time.DateOnly), to.Format(time.DateOnly), n, maxActivityDays)
	}
	return from, to, nil
}

func parseDay(name, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return t, auditlog.Errorf(auditlog.EINVALID, "%s must be a date YYYY-MM-DD between 1970 and 9999, got %q", name, truncate(v, 20))
	}
	return t, nil
}
