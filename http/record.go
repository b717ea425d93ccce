package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog"
)

// The server records what users do through its own API (SPEC §5): token
// changes and reads, manager grants, exports. It appends those events
// through the same EventService as ingested ones, so they are in the
// organization's tamper-evident log like any other.

// selfEvent returns an event the server records about a request: source API,
// the client's IP address and user agent, and the request's event id, the same
// in every organization and every retry, so that a retried append stores nothing twice.
func (s *Server) selfEvent(r *http.Request, id string, ref auditlog.OrgRef, action string, actor auditlog.Actor, entityID string, details map[string]any) auditlog.Event {
	e := auditlog.Event{
		Organization: ref,
		ID:           id,
		Action:       action,
		Actor:        actor,
		Result:       auditlog.ResultSucceed,
		Source:       auditlog.SourceAPI,
		Timestamp:    s.Now(),
		EntityID:     entityID,
		UserAgent:    clip(r.UserAgent(), auditlog.MaxFieldLength),
	}
	if ip := s.clientIP(r); ip.IsValid() {
		e.IPAddress = ip.String()
	}
	if len(details) > 0 {
		e.Details, _ = json.Marshal(details)
	}
	return e
}

// newSelfEventID is the client id of the events of one request.
func (s *Server) newSelfEventID() string {
	return "auditlog-" + auditlog.NewEventID(s.Now())
}

// record durably appends the server's own events. It goes on when the client
// has gone away (the operation it records is done), and retries a failed
// append twice: the events' ids make a retry store nothing twice.
func (s *Server) record(r *http.Request, events []auditlog.Event) error {
	if len(events) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		batch := append([]auditlog.Event(nil), events...) // AppendEvents normalizes in place
		if _, err = s.Events.AppendEvents(ctx, batch); err == nil {
			return nil
		}
		if c := auditlog.ErrorCode(err); c != auditlog.EINTERNAL && c != auditlog.EUNAVAILABLE {
			break
		}
	}
	s.Logger.Error("recording the server's own events failed", "method", r.Method, "route", r.Pattern, "action", events[0].Action, "err", err)
	if c := auditlog.ErrorCode(err); c == auditlog.EUNPROCESSABLE || c == auditlog.EINVALID {
		// The client sent no event: an invalid one of the server's is its own bug.
		return fmt.Errorf("record %s: %v", events[0].Action, auditlog.ErrorMessage(err))
	}
	return err
}

// clip makes s valid UTF-8 of at most n bytes, cut at a character boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// recordAuditorEvent records what an organization admin or manager did with
// the organization's audit log (an export, a stream created or deleted), in
// that organization, with the role they did it with.
func (s *Server) recordAuditorEvent(r *http.Request, ref auditlog.OrgRef, email, action, entityID string, details map[string]any) error {
	m, err := s.Directory.FindMember(r.Context(), ref, email)
	if err != nil {
		return err
	}
	role := auditlog.RoleOrganizationManager
	if m.Role == auditlog.RoleOrganizationAdmin {
		role = auditlog.RoleOrganizationAdmin
	}
	e := s.selfEvent(r, s.newSelfEventID(), ref, action, auditlog.Actor{Email: email, Role: role}, entityID, details)
	return s.record(r, []auditlog.Event{e})
}

// recordExport records organizations.auditlogs.export before an export
// starts: no export leaves the server unrecorded. An unknown format is a 400.
func (s *Server) recordExport(r *http.Request, ref auditlog.OrgRef, email, format string) error {
	switch format {
	case "csv", "ndjson", "bundle":
	default:
		return auditlog.Errorf(auditlog.EINVALID, "format must be csv, ndjson or bundle, got %q", truncate(format, 20))
	}
	details := map[string]any{"format": format}
	if q := r.URL.Query().Get("q"); q != "" {
		details["q"] = clip(q, auditlog.MaxFieldLength)
	}
	return s.recordAuditorEvent(r, ref, email, "organizations.auditlogs.export", "", details)
}
