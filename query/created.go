package query

import (
	"fmt"
	"strings"
	"time"

	"github.com/auditlog/auditlog"
)

// Bounds of the points a created term may name, like those of event timestamps.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // exclusive
)

const dateLayout = "2006-01-02"

// point is a date or an instant: the span [start, end).
type point struct {
	start, end time.Time
	date       bool
}

func parseCreated(t *auditlog.Term, value string, _ bool, now time.Time) string {
	if a, b, ok := strings.Cut(value, ".."); ok {
		if a == "" || b == "" {
			return fmt.Sprintf("the range %q needs both ends: A..B", truncate(value, 64))
		}
		if strings.ContainsAny(a[:1], "<>=") {
			return fmt.Sprintf("the range %q takes no operator: it is A..B", truncate(value, 64))
		}
		pa, err := parsePoint(a, now)
		if err != "" {
			return err
		}
		pb, err := parsePoint(b, now)
		if err != "" {
			return err
		}
		if !pa.start.Before(pb.end) {
			return fmt.Sprintf("the range %q is empty: it starts after it ends", truncate(value, 64))
		}
		t.From, t.To = pa.start, pb.end
		return ""
	}
	op := ""
	for _, o := range []string{">=", "<=", ">", "<", "="} {
		if strings.HasPrefix(value, o) {
			op, value = o, value[len(o):]
			break
		}
	}
	if value == "" {
		return fmt.Sprintf("%q needs a date or datetime after it", op)
	}
	p, err := parsePoint(value, now)
	if err != "" {
		return err
	}
	switch op {
	case "", "=":
		t.From, t.To = p.start, p.end
	case ">":
		t.From = p.end
	case ">=":
		t.From = p.start
	case "<":
		t.To = p.start
	case "<=":
		t.To = p.end
	}
	return ""
}

// parsePoint parses a date YYYY-MM-DD, today, yesterday or an RFC 3339 datetime.
func parsePoint(s string, now time.Time) (point, string) {
	var p point
	switch {
	case strings.EqualFold(s, "today"), strings.EqualFold(s, "yesterday"):
		y, m, d := now.UTC().Date()
		p.start, p.date = time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
		if strings.EqualFold(s, "yesterday") {
			p.start = p.start.AddDate(0, 0, -1)
		}
	case len(s) == len(dateLayout):
		d, err := time.Parse(dateLayout, s)
		if err != nil {
			return p, fmt.Sprintf("invalid date %q: write a date as YYYY-MM-DD", truncate(s, 64))
		}
		p.start, p.date = d, true
	default:
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return p, fmt.Sprintf("invalid date or datetime %q: write YYYY-MM-DD or RFC 3339, like 2026-01-05T14:30:00Z", truncate(s, 64))
		}
		p.start = tm.UTC().Truncate(time.Millisecond)
	}
	if p.start.Before(minTime) || !p.start.Before(maxTime) {
		return p, fmt.Sprintf("%q is not between 1970 and 9999", truncate(s, 64))
	}
	if p.date {
		p.end = p.start.AddDate(0, 0, 1)
	} else {
		p.end = p.start.Add(time.Millisecond)
	}
	return p, ""
}
