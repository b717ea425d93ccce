// Package baseline holds the plain stores that auditlog's figures are
// compared with: a SQLite table and a PostgreSQL table of events, written
// durably and with nothing of the service's integrity (no validation, no
// ids, no salts, no Merkle tree). auditlog bench runs them beside the real
// server; internal/enginebench runs its SQLite layouts through the same code.
package baseline

import (
	"crypto/rand"
	"database/sql"
	"slices"
	"time"

	"github.com/auditlog/auditlog"
)

// Row is an event as the baselines store it: numbers for the organization,
// sequence, times (Unix ms) and the catalog's enumerations, the 16 bytes of
// the id, and text for the rest. A NULL description is the catalog's.
type Row struct {
	Org         uint32
	Seq         uint64
	TS          int64 // Unix ms, when it happened
	Received    int64 // Unix ms, when the store received it
	ID          [16]byte
	Action      uint8 // index in the catalog
	Role        uint8
	Result      uint8
	Source      uint8
	Actor       string
	Repo        string
	Entity      string
	Description sql.NullString
	Details     string // a JSON object
	IP          string
	UserAgent   string
}

// Rows turns events into rows: org numbers each event's organization (the
// caller's numbering), next holds each organization's next sequence number,
// and every row is received at now. Events are taken as given: nothing is
// validated.
type Rows struct {
	org     func(auditlog.OrgRef) uint32
	next    map[uint32]uint64
	actions map[string]int
	descs   []string
}

// NewRows returns a converter with org as its organization numbering.
func NewRows(org func(auditlog.OrgRef) uint32) *Rows {
	r := &Rows{org: org, next: map[uint32]uint64{}, actions: map[string]int{}}
	for i, a := range auditlog.Actions() {
		r.actions[a.Name] = i
		r.descs = append(r.descs, a.Description)
	}
	return r
}

var (
	roles   = append([]string{""}, append(slices.Clone(auditlog.MemberRoles), auditlog.RoleOrganizationManager)...)
	results = []string{auditlog.ResultSucceed, auditlog.ResultFailed, auditlog.ResultRejected}
	sources = []string{auditlog.SourceUI, auditlog.SourceAPI}
)

// uuid7 fills u with a UUID version 7 of t, as the server gives events.
func uuid7(u *[16]byte, t time.Time) {
	_, _ = rand.Read(u[6:])
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		u[i], ms = byte(ms), ms>>8
	}
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
}

func code(values []string, v string) uint8 { return uint8(max(slices.Index(values, v), 0)) }

// Append appends the rows of events to dst.
func (r *Rows) Append(dst []Row, events []auditlog.Event, now time.Time) []Row {
	for i := range events {
		e := &events[i]
		org := r.org(e.Organization)
		a := r.actions[e.Action]
		row := Row{
			Org: org, Seq: r.next[org], TS: e.Timestamp.UnixMilli(), Received: now.UnixMilli(),
			Action: uint8(a), Role: code(roles, e.Actor.Role), Result: code(results, e.Result), Source: code(sources, e.Source),
			Actor: e.Actor.Email, Repo: e.RepositoryName, Entity: e.EntityID,
			Details: string(e.Details), IP: e.IPAddress, UserAgent: e.UserAgent,
		}
		r.next[org]++
		uuid7(&row.ID, now)
		if e.Description != "" && e.Description != r.descs[a] {
			row.Description = sql.NullString{String: e.Description, Valid: true}
		}
		dst = append(dst, row)
	}
	return dst
}
