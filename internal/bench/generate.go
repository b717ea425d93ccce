package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog"
)

// Generator makes realistic events (about 330 bytes of JSON each) of a set
// of organizations: the first, the big one, gets a share of them, the
// others the rest evenly. The same seed gives the same events, so that the
// baselines can take the ones the server took.
type Generator struct {
	rng      *rand.Rand
	orgs     []auditlog.OrgRef
	bigShare float64
	actions  []auditlog.Action
	emails   []string
	repos    []string
	ips      []string
	entities []string
	details  []byte
}

// WordRare is in the details of one event in a thousand: the search scenario looks for it.
const WordRare = "zebra"

var (
	actorRoles = []string{auditlog.RoleRepositoryWrite, auditlog.RoleRepositoryAdmin, auditlog.RoleOrganizationMember, auditlog.RoleOrganizationAdmin}
	userAgents = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"codacy-cli/1.4.2",
		"python-requests/2.32.3",
	}
)

// NewGenerator returns a generator of events of orgs; orgs[0] gets
// bigShare (0 to 1) of them.
func NewGenerator(seed uint64, orgs []auditlog.OrgRef, bigShare float64) *Generator {
	g := &Generator{rng: rand.New(rand.NewPCG(seed, 0x6a75)), orgs: orgs, bigShare: bigShare, actions: auditlog.Actions()}
	for i := range 500 {
		g.emails = append(g.emails, fmt.Sprintf("user%03d@customer.example", i))
	}
	for i := range 40 {
		g.repos = append(g.repos, fmt.Sprintf("service-%02d", i))
	}
	for range 4096 {
		g.ips = append(g.ips, fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(256), g.rng.IntN(256), g.rng.IntN(256)))
	}
	for range 8192 {
		g.entities = append(g.entities, "ent-"+strconv.Itoa(g.rng.IntN(1_000_000)))
	}
	return g
}

// Event returns the next event, which happened within the second before now.
func (g *Generator) Event(now time.Time) auditlog.Event {
	r := g.rng
	org := g.orgs[0]
	if len(g.orgs) > 1 && r.Float64() >= g.bigShare {
		org = g.orgs[1+r.IntN(len(g.orgs)-1)]
	}
	a := g.actions[r.IntN(len(g.actions))]
	e := auditlog.Event{
		Organization: org,
		Action:       a.Name,
		Actor:        auditlog.Actor{Email: g.emails[r.IntN(len(g.emails))], Role: actorRoles[r.IntN(len(actorRoles))]},
		Result:       auditlog.ResultSucceed,
		Source:       auditlog.SourceUI,
		Timestamp:    now.Add(-time.Duration(r.IntN(1000)) * time.Millisecond).Truncate(time.Millisecond),
		EntityID:     g.entities[r.IntN(len(g.entities))],
		IPAddress:    g.ips[r.IntN(len(g.ips))],
		UserAgent:    userAgents[r.IntN(len(userAgents))],
	}
	if a.Level == auditlog.LevelRepository {
		e.RepositoryName = g.repos[r.IntN(len(g.repos))]
	}
	if r.IntN(20) == 0 {
		e.Result = auditlog.ResultFailed
	}
	if r.IntN(4) == 0 {
		e.Source = auditlog.SourceAPI
	}
	d := g.details[:0]
	if r.IntN(1000) == 0 {
		d = append(d, `{"note":"`+WordRare+` crossing","count":`...)
	} else {
		d = append(d, `{"branch":"main","enabled":`...)
		d = strconv.AppendBool(d, r.IntN(2) == 0)
		d = append(d, `,"count":`...)
	}
	d = strconv.AppendInt(d, int64(r.IntN(1000)), 10)
	d = append(d, '}')
	g.details = d
	e.Details = json.RawMessage(string(d))
	return e
}

// AppendBatch appends a JSON array of n events made at now, as a host
// sends a batch.
func (g *Generator) AppendBatch(b []byte, now time.Time, n int) []byte {
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		e := g.Event(now)
		b = AppendJSON(b, &e)
	}
	return append(b, ']')
}

// AppendJSON appends e as a host sends it (SPEC §4), the same as
// json.Marshal of the ingest fields, without reflection: the load generator
// must leave the cores to the server.
func AppendJSON(b []byte, e *auditlog.Event) []byte {
	b = append(b, `{"organization":{"provider":`...)
	b = appendString(b, e.Organization.Provider)
	b = append(b, `,"name":`...)
	b = appendString(b, e.Organization.Name)
	b = append(b, `},`...)
	if e.ID != "" {
		b = append(b, `"id":`...)
		b = appendString(b, e.ID)
		b = append(b, ',')
	}
	b = append(b, `"action":`...)
	b = appendString(b, e.Action)
	b = append(b, `,"actor":{"email":`...)
	b = appendString(b, e.Actor.Email)
	if e.Actor.Role != "" {
		b = append(b, `,"role":`...)
		b = appendString(b, e.Actor.Role)
	}
	b = append(b, `},"result":`...)
	b = appendString(b, e.Result)
	b = append(b, `,"source":`...)
	b = appendString(b, e.Source)
	b = append(b, `,"timestamp":"`...)
	b = appendTime(b, e.Timestamp.UTC())
	b = append(b, '"')
	for _, f := range [...]struct{ name, value string }{
		{"repositoryName", e.RepositoryName}, {"entityId", e.EntityID}, {"description", e.Description},
		{"ipAddress", e.IPAddress}, {"userAgent", e.UserAgent},
	} {
		if f.value != "" {
			b = append(b, `,"`...)
			b = append(b, f.name...)
			b = append(b, `":`...)
			b = appendString(b, f.value)
		}
	}
	if len(e.Details) > 0 {
		b = append(b, `,"details":`...)
		b = append(b, e.Details...)
	}
	return append(b, '}')
}

// appendTime appends t as time.Time.AppendFormat with
// "2006-01-02T15:04:05.000Z" does, faster.
func appendTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	digits := func(b []byte, v, n int) []byte {
		for i := n - 1; i >= 0; i-- {
			b = append(b, 0)
		}
		for i := len(b) - 1; i >= len(b)-n; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
		return b
	}
	b = digits(b, year, 4)
	b = append(b, '-')
	b = digits(b, int(month), 2)
	b = append(b, '-')
	b = digits(b, day, 2)
	b = append(b, 'T')
	b = digits(b, hour, 2)
	b = append(b, ':')
	b = digits(b, minute, 2)
	b = append(b, ':')
	b = digits(b, sec, 2)
	b = append(b, '.')
	b = digits(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(b, '"')
}
