package query

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog"
)

const datetimeLayout = "2006-01-02T15:04:05.999Z07:00"

// Format writes q as canonical text: one space between terms, values in
// their canonical case, quoted only when they must be, each word of a split
// term on its own, and created bounds as dates where they fall on UTC day
// boundaries, datetimes (UTC, to the millisecond) elsewhere. Parse reads it
// back into an equal query (Pos aside).
func Format(q *auditlog.Query) string {
	if q == nil {
		return ""
	}
	var b strings.Builder
	for i := range q.Terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		formatTerm(&b, &q.Terms[i])
	}
	return b.String()
}

func formatTerm(b *strings.Builder, t *auditlog.Term) {
	if t.Negate {
		b.WriteByte('-')
	}
	if t.Field != auditlog.FieldWord {
		b.WriteString(t.Field)
		b.WriteByte(':')
	}
	switch {
	case t.Field == auditlog.FieldCreated:
		b.WriteString(formatCreated(t.From, t.To))
	case t.Prefix && (t.Field == auditlog.FieldAction || t.Field == auditlog.FieldWord):
		writeValue(b, t.Value)
		b.WriteByte('*')
	default:
		writeValue(b, t.Value)
	}
}

// writeValue writes v, quoted if it is empty or holds a space, a quote, or a
// '*' that would end it (making it a prefix).
func writeValue(b *strings.Builder, v string) {
	needs := v == "" || strings.HasSuffix(v, "*") || strings.IndexFunc(v, func(r rune) bool { return r == '"' || isSpace(r) }) >= 0
	if !needs {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteString(v[i : i+n])
		i += n
	}
	b.WriteByte('"')
}

// formatCreated writes the bounds [from, to) in the fewest characters Parse
// reads back to the same bounds.
func formatCreated(from, to time.Time) string {
	from, to = from.UTC(), to.UTC()
	switch {
	case from.IsZero() && to.IsZero():
		return ">=" + formatPoint(minTime) // every event, as an event's timestamp is never before 1970
	case to.IsZero():
		if !from.Before(maxTime) { // the day after 9999-12-31 has no date
			return ">" + formatEnd(from)
		}
		return ">=" + formatPoint(from)
	case from.IsZero():
		if to.Before(maxTime) {
			return "<" + formatPoint(to)
		}
		return "<=" + formatEnd(to)
	case isMidnight(from) && to.Equal(from.AddDate(0, 0, 1)):
		return formatPoint(from)
	case to.Equal(from.Add(time.Millisecond)):
		return from.Format(datetimeLayout)
	}
	return formatPoint(from) + ".." + formatEnd(to)
}

// formatPoint writes the date or datetime whose start is t.
func formatPoint(t time.Time) string {
	if isMidnight(t) {
		return t.Format(dateLayout)
	}
	return t.Format(datetimeLayout)
}

// formatEnd writes the date or datetime whose end is t.
func formatEnd(t time.Time) string {
	if isMidnight(t) {
		return t.AddDate(0, 0, -1).Format(dateLayout)
	}
	return t.Add(-time.Millisecond).Format(datetimeLayout)
}

func isMidnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}
