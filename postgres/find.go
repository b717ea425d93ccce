package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/jackc/pgx/v5"
)

// findChunk is how many events FindEvents reads per query.
const findChunk = 1000

// FindEvents yields an organization's events matching f, newest first (by
// timestamp, then sequence). The time bounds (From, To, created: terms, the
// After position) and every term but bare words become SQL conditions; the
// query is then checked again on each event (Query.Match), which bare words
// need. Events are read in chunks, each a keyset query after the last event
// of the one before: no connection is held while the caller iterates, and
// memory stays constant however many events there are.
func (db *DB) FindEvents(ctx context.Context, ref auditlog.OrgRef, f auditlog.EventFilter) iter.Seq2[*auditlog.Event, error] {
	return func(yield func(*auditlog.Event, error) bool) {
		org, err := db.orgID(ctx, ref)
		if err != nil {
			yield(nil, err)
			return
		}
		q, ok := findQuery(org, f)
		if !ok {
			return
		}
		after := f.After
		n := 0
		for {
			chunk := findChunk
			if f.Limit > 0 && (q.exact || q.prefiltered) {
				// What SQL selects mostly matches: read about what is still wanted.
				chunk = min(chunk, f.Limit-n)
			}
			events, err := db.findChunk(ctx, ref, q, after, chunk)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range events {
				if !f.Query.Match(e) {
					continue
				}
				if !yield(e, nil) {
					return
				}
				if n++; f.Limit > 0 && n >= f.Limit {
					return
				}
			}
			if len(events) < chunk {
				return
			}
			last := events[len(events)-1]
			after = &auditlog.Position{Timestamp: last.Timestamp, Sequence: last.Sequence}
		}
	}
}

// eventQuery is the SQL of a filter: conditions on events and their arguments.
type eventQuery struct {
	where []string
	args  []any
	hi    time.Time // exclusive upper bound on ts; zero if none
	exact bool      // SQL selects exactly what Match accepts: LIMIT may be applied in SQL
	// prefiltered: SQL selects a superset that is mostly what Match accepts
	// (a bare word's prefilter), so a small LIMIT is still worth applying.
	prefiltered bool
}

func (q *eventQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// ceilMs rounds t up to a whole millisecond: stored timestamps are whole
// milliseconds, so ts >= t exactly when ts >= ceilMs(t).
func ceilMs(t time.Time) time.Time {
	if c := t.Truncate(time.Millisecond); !c.Equal(t) {
		return c.Add(time.Millisecond)
	}
	return t
}

// findQuery turns a filter into SQL conditions; ok is false if it selects nothing.
func findQuery(org int32, f auditlog.EventFilter) (*eventQuery, bool) {
	q := &eventQuery{exact: true}
	q.where = append(q.where, "org_id = "+q.arg(org))
	var lo, hi time.Time // ts >= lo, ts < hi
	if !f.From.IsZero() {
		lo = ceilMs(f.From)
	}
	if !f.To.IsZero() {
		hi = f.To.Truncate(time.Millisecond).Add(time.Millisecond)
	}
	if f.Query != nil {
		for i := range f.Query.Terms {
			t := &f.Query.Terms[i]
			if t.Field == auditlog.FieldCreated && !t.Negate {
				if !t.From.IsZero() && (lo.IsZero() || t.From.After(lo)) {
					lo = ceilMs(t.From)
				}
				if !t.To.IsZero() && (hi.IsZero() || t.To.Before(hi)) {
					hi = ceilMs(t.To)
				}
				continue
			}
			if t.Field == auditlog.FieldWord {
				// Only a prefilter (it keeps every event that has the word, and
				// some that do not): Match decides.
				q.exact = false
				if cond, ok := wordPrefilter(q, t); ok {
					q.where = append(q.where, cond)
					q.prefiltered = true
				}
				continue
			}
			cond, ok := termSQL(q, t)
			if !ok {
				q.exact = false
				continue
			}
			if t.Negate {
				cond = "NOT (" + cond + ")"
			}
			q.where = append(q.where, cond)
		}
	}
	if !lo.IsZero() && !hi.IsZero() && !lo.Before(hi) {
		return nil, false
	}
	if !hi.IsZero() && hi.Year() < 1970 {
		return nil, false
	}
	if !lo.IsZero() {
		q.where = append(q.where, "ts >= "+q.arg(lo))
	}
	if !hi.IsZero() {
		q.where = append(q.where, "ts < "+q.arg(hi))
		q.hi = hi
	}
	return q, true
}

// termSQL is the SQL condition of a term, if it has one.
func termSQL(q *eventQuery, t *auditlog.Term) (string, bool) {
	switch t.Field {
	case auditlog.FieldAction:
		if t.Prefix {
			return "starts_with(action, " + q.arg(t.Value) + ")", true
		}
		return "action = " + q.arg(t.Value), true
	case auditlog.FieldActor:
		return "actor_email = " + q.arg(t.Value), true
	case auditlog.FieldRepo:
		return "repository = " + q.arg(bytesOf(t.Value)), true
	case auditlog.FieldResult:
		return "result = " + q.arg(t.Value), true
	case auditlog.FieldSource:
		return "source = " + q.arg(t.Value), true
	case auditlog.FieldRole:
		return "actor_role = " + q.arg(t.Value), true
	case auditlog.FieldEntity:
		return "entity = " + q.arg(bytesOf(t.Value)), true
	case auditlog.FieldLevel:
		names := []string{}
		for _, a := range auditlog.Actions() {
			if string(a.Level) == t.Value {
				names = append(names, a.Name)
			}
		}
		return "action = ANY(" + q.arg(names) + ")", true
	case auditlog.FieldCreated: // negated: the positive ones bound the range
		var conds []string
		if !t.From.IsZero() {
			conds = append(conds, "ts >= "+q.arg(ceilMs(t.From)))
		}
		if !t.To.IsZero() {
			conds = append(conds, "ts < "+q.arg(ceilMs(t.To)))
		}
		if len(conds) == 0 {
			return "true", true
		}
		return strings.Join(conds, " AND "), true
	}
	return "", false
}

// wordPrefilter is an SQL condition that every event with the bare word
// holds, so that the database skips most of those without it instead of
// sending them to Match. It is made only for a word (or prefix) of ASCII
// letters and digits, not negated: then an event whose description and
// details are ASCII, without JSON escapes, has the word only if one of them
// contains it, in any ASCII case. Events with anything else (a non-ASCII byte
// shows as a backslash escape in encode(..., 'escape'); a JSON escape is a
// backslash too; a multibyte character makes octet_length exceed char_length)
// always pass to Match.
func wordPrefilter(q *eventQuery, t *auditlog.Term) (string, bool) {
	if t.Negate || t.Value == "" {
		return "", false
	}
	for _, c := range []byte(t.Value) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return "", false
		}
	}
	like := q.arg("%" + t.Value + "%")
	return `(encode(description, 'escape') ILIKE ` + like + ` OR strpos(encode(description, 'escape'), '\') > 0
		OR details ILIKE ` + like + ` OR strpos(details, '\') > 0 OR octet_length(details) <> char_length(details))`, true
}

const eventSelect = `SELECT ts, seq, id, action, actor_email, actor_role, result, source, received_at,
	repository, entity, description, details, ip, user_agent, salt, personal_hash FROM events`

// findChunk reads up to limit events of q older, in list order, than after.
func (db *DB) findChunk(ctx context.Context, ref auditlog.OrgRef, q *eventQuery, after *auditlog.Position, limit int) ([]*auditlog.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sql, args := q.chunkSQL(after, limit)
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("find events of %s: %w", ref, err)
	}
	defer rows.Close()
	out := make([]*auditlog.Event, 0, min(limit, 128))
	for rows.Next() {
		e := &auditlog.Event{Organization: ref}
		if err := scanEvent(rows, e); err != nil {
			return nil, fmt.Errorf("find events of %s: %w", ref, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find events of %s: %w", ref, err)
	}
	return out, nil
}

// chunkSQL is the query of up to limit events of q older, in list order, than after.
func (q *eventQuery) chunkSQL(after *auditlog.Position, limit int) (string, []any) {
	qq := &eventQuery{args: append([]any(nil), q.args...)}
	where := append([]string(nil), q.where...)
	if after != nil {
		ts := after.Timestamp.UTC()
		where = append(where, "(ts, seq) < ("+qq.arg(ts)+"::timestamptz, "+qq.arg(after.Sequence)+"::bigint)")
		// The row comparison alone does not prune partitions; this does.
		where = append(where, "ts <= "+qq.arg(ts))
	}
	return eventSelect + " WHERE " + strings.Join(where, " AND ") + " ORDER BY ts DESC, seq DESC LIMIT " + strconv.Itoa(limit), qq.args
}

// scanEvent reads the columns of eventSelect into e.
func scanEvent(row pgx.Row, e *auditlog.Event) error {
	c := eventScanTargets(e)
	if err := row.Scan(c.targets...); err != nil {
		return err
	}
	c.finish()
	return nil
}

// eventCols are scan targets for the columns of eventSelect, which may all
// be NULL (an outer join without its event); finish sets the event.
type eventCols struct {
	e                                          *auditlog.Event
	ts, received                               *time.Time
	seq                                        *int64
	action, email, role, result, source, ip    *string
	details                                    *string
	id, repo, entity, desc, ua, salt, personal []byte
	targets                                    []any
}

func eventScanTargets(e *auditlog.Event) *eventCols {
	c := &eventCols{e: e}
	c.targets = []any{&c.ts, &c.seq, &c.id, &c.action, &c.email, &c.role, &c.result, &c.source, &c.received,
		&c.repo, &c.entity, &c.desc, &c.details, &c.ip, &c.ua, &c.salt, &c.personal}
	return c
}

func (c *eventCols) finish() {
	e := c.e
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if c.ts != nil {
		e.Timestamp = c.ts.UTC()
	}
	if c.received != nil {
		e.ReceivedAt = c.received.UTC()
	}
	if c.seq != nil {
		e.Sequence = *c.seq
	}
	e.ID, e.Action, e.Result, e.Source = string(c.id), str(c.action), str(c.result), str(c.source)
	e.Actor = auditlog.Actor{Email: str(c.email), Role: str(c.role)}
	e.RepositoryName, e.EntityID, e.Description, e.UserAgent = string(c.repo), string(c.entity), string(c.desc), string(c.ua)
	e.IPAddress = str(c.ip)
	if c.details != nil {
		e.Details = json.RawMessage(*c.details)
	}
	e.Salt, e.PersonalHash = c.salt, c.personal
}
