package client

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/url"
	"slices"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/query"
)

// AppendEvents implements auditlog.EventService: it posts one batch at
// once, outside the Emit queue, and returns where each event was stored, in
// input order. Events without an id are given a client id first (the
// caller's slice is not changed), so that the retries of the request store
// nothing twice. The batch is checked before it is sent: an invalid event is
// an EUNPROCESSABLE error listing each bad event, and nothing is sent. It
// needs the admin token.
func (c *Client) AppendEvents(ctx context.Context, events []auditlog.Event) (*auditlog.AppendResult, error) {
	now := c.now()
	batch := slices.Clone(events)
	for i := range batch {
		e := &batch[i]
		e.Sequence, e.ReceivedAt, e.Salt, e.PersonalHash = 0, time.Time{}, nil, nil
		if e.ID == "" {
			e.ID = auditlog.NewEventID(now)
		}
	}
	if err := auditlog.PrepareBatch(batch, now); err != nil {
		return nil, err
	}
	qs := make([]queued, len(batch))
	for i := range batch {
		qs[i] = queued{event: batch[i], data: batch[i].AppendJSON(nil)}
	}
	return c.postEvents(ctx, encodeBatch(qs))
}

// postEvents posts an encoded batch, retrying it as it is: the same ids.
func (c *Client) postEvents(ctx context.Context, body []byte) (*auditlog.AppendResult, error) {
	var res auditlog.AppendResult
	if _, err := c.doJSON(ctx, &request{method: "POST", path: []string{"api", "v1", "events"}, body: body, retry: true}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ListOptions selects a page of GET .../events.
type ListOptions struct {
	Query  string // the search language (SPEC §9); "" selects every event
	Limit  int    // events per page, 1 to MaxPageSize; 0 is the client's page size
	Cursor string // the previous page's Cursor; "" starts with the newest event
}

// EventPage is one page of an organization's events, newest first.
type EventPage struct {
	Events []*auditlog.Event
	Cursor string // continues the listing; "" on the last page
	Limit  int
}

// ListEvents reads one page of an organization's events, newest first. It
// needs an account API token of an organization admin or manager.
func (c *Client) ListEvents(ctx context.Context, ref auditlog.OrgRef, opts ListOptions) (*EventPage, error) {
	path, err := orgPath(ref, "events")
	if err != nil {
		return nil, err
	}
	params := url.Values{}
	if opts.Query != "" {
		params.Set("q", opts.Query)
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = c.pageSize
	}
	params.Set("limit", fmt.Sprint(limit))
	if opts.Cursor != "" {
		params.Set("cursor", opts.Cursor)
	}
	var body struct {
		Data       []*auditlog.Event `json:"data"`
		Pagination struct {
			Cursor string `json:"cursor"`
			Limit  int    `json:"limit"`
		} `json:"pagination"`
	}
	if _, err := c.doJSON(ctx, &request{method: "GET", path: path, query: params, retry: true}, &body); err != nil {
		return nil, err
	}
	return &EventPage{Events: body.Data, Cursor: body.Pagination.Cursor, Limit: body.Pagination.Limit}, nil
}

// Events yields the organization's events that match q (the search
// language; "" matches all), newest first, reading a page at a time with
// the list's cursor as the caller iterates. Paging neither repeats nor
// skips an event that existed when it began, while new ones arrive. An
// error ends the sequence. It needs an account API token of an
// organization admin or manager.
func (c *Client) Events(ctx context.Context, ref auditlog.OrgRef, q string) iter.Seq2[*auditlog.Event, error] {
	return c.pages(ctx, ref, q, 0)
}

// FindEvents implements auditlog.EventService over the list: the filter's
// query and From/To bounds are sent as q, and Limit ends the sequence.
// After, a store's position, cannot be sent: continue with ListEvents cursors.
func (c *Client) FindEvents(ctx context.Context, ref auditlog.OrgRef, f auditlog.EventFilter) iter.Seq2[*auditlog.Event, error] {
	q, err := filterQuery(f)
	if err != nil {
		return func(yield func(*auditlog.Event, error) bool) { yield(nil, err) }
	}
	return c.pages(ctx, ref, q, f.Limit)
}

// pages yields up to limit (0: all) events of the listing of q.
func (c *Client) pages(ctx context.Context, ref auditlog.OrgRef, q string, limit int) iter.Seq2[*auditlog.Event, error] {
	return func(yield func(*auditlog.Event, error) bool) {
		size := c.pageSize
		if limit > 0 {
			size = min(size, limit)
		}
		n, cursor := 0, ""
		for {
			page, err := c.ListEvents(ctx, ref, ListOptions{Query: q, Limit: size, Cursor: cursor})
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range page.Events {
				if !yield(e, nil) {
					return
				}
				if n++; limit > 0 && n >= limit {
					return
				}
			}
			if page.Cursor == "" || len(page.Events) == 0 {
				return
			}
			cursor = page.Cursor
		}
	}
}

// filterQuery writes an EventFilter as the search language.
func filterQuery(f auditlog.EventFilter) (string, error) {
	if f.After != nil {
		return "", auditlog.Errorf(auditlog.EINVALID, "EventFilter.After cannot be sent to a server: continue a listing with ListEvents and its cursor")
	}
	q := &auditlog.Query{}
	if f.Query != nil {
		q.Terms = slices.Clone(f.Query.Terms)
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		// Timestamps have millisecond precision: From is inclusive, To is
		// inclusive here and exclusive in a term.
		t := auditlog.Term{Field: auditlog.FieldCreated}
		if !f.From.IsZero() {
			t.From = f.From.UTC()
			if tr := t.From.Truncate(time.Millisecond); !tr.Equal(t.From) {
				t.From = tr.Add(time.Millisecond)
			}
		}
		if !f.To.IsZero() {
			t.To = f.To.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
		}
		q.Terms = append(q.Terms, t)
	}
	return query.Format(q), nil
}

// Export downloads an organization's events in a format, csv, ndjson or
// bundle (the evidence bundle, see auditlog verify), filtered by q, and
// writes them to w as they arrive, in constant memory. It returns how many
// bytes it wrote. A download cut short, by the network or by a server
// error after it began, is an error: never take w's content for complete
// then. It needs an account API token of an organization admin or manager.
func (c *Client) Export(ctx context.Context, ref auditlog.OrgRef, format, q string, w io.Writer) (int64, error) {
	path, err := orgPath(ref, "events", "export")
	if err != nil {
		return 0, err
	}
	params := url.Values{"format": {format}}
	if q != "" {
		params.Set("q", q)
	}
	resp, err := c.do(ctx, &request{method: "GET", path: path, query: params, retry: true, stream: true})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("export of %s cut short after %d bytes: %w", ref, n, err)
	}
	return n, nil
}

// orgPath is the path of an organization's resource.
func orgPath(ref auditlog.OrgRef, rest ...string) ([]string, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	return append([]string{"api", "v1", "organizations", ref.Provider, ref.Name}, rest...), nil
}
