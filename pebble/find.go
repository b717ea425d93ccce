package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"

	"github.com/auditlog/auditlog"
	"github.com/cockroachdb/pebble/v2"
)

// FindEvents yields an organization's events matching f, newest first (by
// timestamp, then sequence). The time bounds (From, To, created: terms and
// the After position) narrow the key range; an action: or actor: term reads
// its index instead of every event; else, for a page (a Limit), bare words
// read only the blocks whose word filter may hold them (words.go); the
// remaining terms are checked on each event read.
func (db *DB) FindEvents(ctx context.Context, ref auditlog.OrgRef, f auditlog.EventFilter) iter.Seq2[*auditlog.Event, error] {
	return func(yield func(*auditlog.Event, error) bool) {
		org, err := db.orgID(ref)
		if err != nil {
			yield(nil, err)
			return
		}
		r, ok := listRange(f)
		if !ok {
			return
		}
		n := 0
		emit := func(e *auditlog.Event) bool {
			if !f.Query.Match(e) {
				return true
			}
			if !yield(e, nil) {
				return false
			}
			n++
			return f.Limit <= 0 || n < f.Limit
		}
		var prefixes [][]byte
		if t := indexTerm(f.Query); t != nil {
			prefixes = indexPrefixes(org, t)
		}
		words := wordTerms(f.Query)
		switch {
		case prefixes != nil:
			err = db.scanIndex(ctx, org, ref, prefixes, r, emit)
		case len(words) > 0 && f.Limit > 0:
			err = db.findByWords(ctx, org, ref, r, f.Query, words, f.Limit, emit)
		default:
			err = db.scanEvents(ctx, org, ref, r, emit)
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

// keyRange is a range of list positions: timestamps from..to (inclusive,
// Unix ms) and, if before is set, only positions before (beforeTS, beforeSeq).
type keyRange struct {
	from, to            int64
	before              bool
	beforeTS, beforeSeq int64
}

// has reports whether the event at (ts, seq) is in the range.
func (r keyRange) has(ts, seq int64) bool {
	return ts >= r.from && ts <= r.to && !(r.before && (ts > r.beforeTS || ts == r.beforeTS && seq >= r.beforeSeq))
}

func listRange(f auditlog.EventFilter) (keyRange, bool) {
	r := keyRange{from: 0, to: math.MaxInt64 - 1}
	if !f.From.IsZero() {
		from := f.From.UnixMilli()
		if f.From.Nanosecond()%1e6 != 0 { // stored timestamps are whole milliseconds: round From up
			from++
		}
		r.from = max(from, 0)
	}
	if !f.To.IsZero() {
		r.to = min(r.to, f.To.UnixMilli())
	}
	if f.Query != nil {
		for _, t := range f.Query.Terms {
			if t.Field != auditlog.FieldCreated || t.Negate {
				continue
			}
			if !t.From.IsZero() {
				r.from = max(r.from, t.From.UnixMilli())
			}
			if !t.To.IsZero() {
				r.to = min(r.to, t.To.UnixMilli()-1) // To is exclusive
			}
		}
	}
	if f.After != nil {
		r.before, r.beforeTS, r.beforeSeq = true, f.After.Timestamp.UnixMilli(), f.After.Sequence
	}
	return r, r.from <= r.to
}

// bounds returns the key range [lower, upper) of the positions of r under prefix p
// (a key prefix followed by ts(8) seq(8)).
func (r keyRange) bounds(p []byte) (lower, upper []byte) {
	lower = appendU64(appendU64(bytes.Clone(p), uint64(r.from)), 0)
	upper = appendU64(appendU64(bytes.Clone(p), uint64(r.to+1)), 0)
	if r.before {
		if b := appendU64(appendU64(bytes.Clone(p), uint64(r.beforeTS)), uint64(r.beforeSeq)); bytes.Compare(b, upper) < 0 {
			upper = b
		}
	}
	return lower, upper
}

// scanEvents reads the events of r newest first.
func (db *DB) scanEvents(ctx context.Context, org uint32, ref auditlog.OrgRef, r keyRange, emit func(*auditlog.Event) bool) error {
	lower, upper := r.bounds(appendU32([]byte{prefixEvent}, org))
	it, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.Last(); valid; valid = it.Prev() {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &auditlog.Event{Organization: ref}
		ts, seq := parseEventKey(it.Key())
		if err := decodeEvent(e, ts, seq, it.Value()); err != nil {
			return fmt.Errorf("event %s/%d: %w", ref, seq, err)
		}
		if !emit(e) {
			return nil
		}
	}
	return it.Error()
}

// indexTerm picks the term whose index narrows the read most: an actor, or
// an action (exact before prefix). Negated terms are not indexed.
func indexTerm(q *auditlog.Query) *auditlog.Term {
	if q == nil {
		return nil
	}
	var best *auditlog.Term
	rank := func(t *auditlog.Term) int {
		switch {
		case t.Negate:
			return 0
		case t.Field == auditlog.FieldActor:
			return 3
		case t.Field == auditlog.FieldAction && !t.Prefix:
			return 2
		case t.Field == auditlog.FieldAction:
			return 1
		}
		return 0
	}
	for i := range q.Terms {
		if r := rank(&q.Terms[i]); r > 0 && (best == nil || r > rank(best)) {
			best = &q.Terms[i]
		}
	}
	return best
}

// indexPrefixes returns the index key prefixes (each followed by ts, seq)
// that hold the events t selects.
func indexPrefixes(org uint32, t *auditlog.Term) [][]byte {
	if t.Field == auditlog.FieldActor {
		return [][]byte{actorPrefix(org, t.Value)}
	}
	var out [][]byte
	for _, a := range auditlog.Actions() {
		if a.Name == t.Value || t.Prefix && len(a.Name) >= len(t.Value) && a.Name[:len(t.Value)] == t.Value {
			code, _ := auditlog.ActionCode(a.Name)
			out = append(out, actionPrefix(org, code))
		}
	}
	if out == nil {
		out = [][]byte{} // no action matches: an empty read, not a full scan
	}
	return out
}

// scanIndex reads the events listed under index prefixes (postings.go),
// newest first, merging the prefixes' (ts, seq) orders.
func (db *DB) scanIndex(ctx context.Context, org uint32, ref auditlog.OrgRef, prefixes [][]byte, r keyRange, emit func(*auditlog.Event) bool) (err error) {
	heads := make([]*postingReader, 0, len(prefixes))
	defer func() {
		for _, h := range heads {
			err = errors.Join(err, h.close())
		}
	}()
	newIter := func(o *pebble.IterOptions) (*pebble.Iterator, error) { return db.db.NewIterWithContext(ctx, o) }
	for _, p := range prefixes {
		h, err := newPostingReader(newIter, p, r)
		if err != nil {
			return err
		}
		heads = append(heads, h)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var (
			top  *postingReader
			next posting
		)
		for _, h := range heads {
			if e, ok := h.peek(); ok && (top == nil || newer(e, next) < 0) {
				top, next = h, e
			}
		}
		if top == nil {
			return nil
		}
		top.pop()
		v, err := db.get(eventKey(org, next.ts, next.seq))
		switch {
		case errors.Is(err, pebble.ErrNotFound):
			// purged by retention; its posting goes with a later purge
		case err != nil:
			return err
		default:
			e := &auditlog.Event{Organization: ref}
			if err := decodeEvent(e, next.ts, next.seq, v); err != nil {
				return fmt.Errorf("event %s/%d: %w", ref, next.seq, err)
			}
			if !emit(e) {
				return nil
			}
		}
	}
}
