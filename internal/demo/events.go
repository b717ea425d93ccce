package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/auditlog/auditlog"
)

// span is how far back the demo events go.
const span = 365 * 24 * time.Hour

// actionSpec says how often an action happens, relative to the others, and who may perform it.
type actionSpec struct {
	weight float64
	who    who
}

// specs has an entry for every catalog action. organizations.create has weight
// 0: it happens once, when the organization is onboarded.
var specs = map[string]actionSpec{
	"user.login":         {300, anyone},
	"user.tokens.create": {4, anyone},
	"user.tokens.read":   {18, anyone},
	"user.tokens.delete": {3, anyone},

	"organizations.create":        {0, admins},
	"organizations.people.create": {1, admins},
	"organizations.join":          {1, anyone},
	"organizations.analysisconfigurationminimumpermission.update": {0.4, admins},
	"organizations.security.managers.create":                      {0.4, admins},
	"organizations.security.managers.delete":                      {0.3, admins},
	"organizations.integrations.providersettings.update":          {1, admins},
	"organizations.integrations.providersettings.apply":           {0.8, admins},
	"organizations.settings.hooks.create":                         {0.5, admins},
	"organizations.gatepolicies.create":                           {1.5, managers},
	"organizations.gatepolicies.update":                           {4, managers},
	"organizations.gatepolicies.repositories.apply":               {3, managers},
	"organizations.gatepolicies.setdefault":                       {0.8, managers},
	"organizations.gatepolicies.setcodacydefault":                 {0.3, managers},
	"organizations.gatepolicies.delete":                           {0.5, managers},
	"organizations.presetsstandards.create":                       {1, managers},
	"organizations.codingstandards.create":                        {2, managers},
	"organizations.codingstandards.promote":                       {2, managers},
	"organizations.codingstandards.repositories.apply":            {3, managers},
	"organizations.codingstandards.setdefault":                    {0.8, managers},
	"organizations.codingstandards.delete":                        {0.5, managers},
	"organizations.security.items.export":                         {6, managers},
	"organizations.security.items.ignore":                         {14, managers},
	"organizations.security.items.unignore":                       {4, managers},
	"organizations.dast.target.create":                            {1.5, managers},
	"organizations.dast.target.delete":                            {0.6, managers},
	"organizations.dast.target.analyze":                           {10, managers},
	"organizations.security.sla.configuration.update":             {0.6, managers},
	"organizations.auditlogs.export":                              {2, managers},
	"organizations.auditlogs.streams.create":                      {0.2, managers},
	"organizations.auditlogs.streams.delete":                      {0.1, managers},

	"repositories.integrations.postcommithook":          {1.5, repoAdmins},
	"repositories.tokens.create":                        {4, repoAdmins},
	"repositories.tokens.read":                          {25, repoAdmins},
	"repositories.tokens.delete":                        {3, repoAdmins},
	"repositories.integrations.providersettings.update": {4, repoAdmins},
	"repositories.integrations.refreshprovider":         {6, repoAdmins},
	"repositories.issues.update":                        {110, writers},
	"repositories.tools.update":                         {22, repoAdmins},
	"repositories.pullrequests.bypass":                  {12, repoAdmins},
	"repositories.settings.language.update":             {5, repoAdmins},
	"repositories.branches.update":                      {20, repoAdmins},
	"repositories.settings.analysis.update":             {9, repoAdmins},
	"repositories.reanalyzecommit":                      {85, writers},
	"repositories.settings.provider.sync":               {10, repoAdmins},
	"repositories.settings.quality.repository.update":   {6, repoAdmins},
	"repositories.settings.quality.pullrequests.update": {6, repoAdmins},
	"repositories.file.update":                          {35, writers},
}

// Events returns a year (ending at now) of the demo organization's events,
// oldest first, with ids "demo-000000", "demo-000001", ...: the organization's
// onboarding, then day-to-day activity, busier on weekdays and in working hours
// (UTC), covering every catalog action. The same rng state gives the same events.
func Events(now time.Time, rng *rand.Rand) []auditlog.Event {
	now = now.UTC()
	g := newGenerator(rng)
	start := now.Add(-span)
	within := func(t time.Time) bool { return t.After(start) && !t.After(now) }

	onboarded := start.Truncate(24 * time.Hour).Add(24*time.Hour + 9*time.Hour) // 09:00 UTC on the first full day
	events := g.onboarding(onboarded)
	daily := onboarded.Add(24 * time.Hour) // day-to-day activity starts once everyone has joined
	for day := start.Truncate(24 * time.Hour); !day.After(now); day = day.Add(24 * time.Hour) {
		n := g.eventsOn(day, float64(day.Sub(start))/float64(span))
		for range n {
			if ev := g.random(day); ev.Timestamp.After(daily) && within(ev.Timestamp) {
				events = append(events, ev)
			}
		}
	}

	// Rare actions may not have come up: give each missing one a day mid-year.
	seen := make(map[string]bool)
	for _, ev := range events {
		seen[ev.Action] = true
	}
	for _, a := range auditlog.Actions() {
		if !seen[a.Name] {
			day := start.Truncate(24 * time.Hour).Add(time.Duration(30+g.r.IntN(300)) * 24 * time.Hour)
			events = append(events, g.draw(a.Name, day))
		}
	}

	slices.SortStableFunc(events, func(a, b auditlog.Event) int { return a.Timestamp.Compare(b.Timestamp) })
	for i := range events {
		events[i].ID = fmt.Sprintf("demo-%06d", i)
	}
	return events
}

type generator struct {
	r       *rand.Rand
	actions []string  // the catalog's actions
	cum     []float64 // their cumulative weights
}

func newGenerator(r *rand.Rand) *generator {
	g := &generator{r: r}
	total := 0.0
	for _, a := range auditlog.Actions() {
		total += specs[a.Name].weight
		g.actions = append(g.actions, a.Name)
		g.cum = append(g.cum, total)
	}
	return g
}

// onboarding is the organization's first day: the admin adds it and invites
// everyone, who join over the next hours, and grants the manager role.
func (g *generator) onboarding(t time.Time) []auditlog.Event {
	admin := people[0]
	jitter := func(t time.Time) time.Time { return t.Add(time.Duration(g.r.Int64N(60_000)) * time.Millisecond) }
	events := []auditlog.Event{g.build("organizations.create", admin, admin, auditlog.ResultSucceed, jitter(t))}
	for i, p := range people[1:] {
		if p.bot {
			continue
		}
		invited := jitter(t.Add(time.Duration(5+i) * time.Minute))
		events = append(events, g.build("organizations.people.create", admin, p, auditlog.ResultSucceed, invited))
		at := invited.Add(time.Duration(1+3*i)*time.Hour + time.Duration(g.r.IntN(3600))*time.Second)
		events = append(events, g.build("organizations.join", p, p, auditlog.ResultSucceed, at))
		if p.manager {
			events = append(events, g.build("organizations.security.managers.create", admin, p, auditlog.ResultSucceed, at.Add(40*time.Minute)))
		}
	}
	return events
}

// eventsOn returns how many events to draw for a day; progress (0 to 1) is how
// far into the year it is: the organization gets busier as it grows.
func (g *generator) eventsOn(day time.Time, progress float64) int {
	base := 72.0
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		base = 10
	}
	return int(base * (0.8 + 0.4*progress) * (0.75 + 0.5*g.r.Float64()))
}

// random draws one day-to-day event of day.
func (g *generator) random(day time.Time) auditlog.Event {
	x := g.r.Float64() * g.cum[len(g.cum)-1]
	i, _ := slices.BinarySearch(g.cum, x)
	return g.draw(g.actions[min(i, len(g.actions)-1)], day)
}

// draw makes an event of action on day: who, when, to whom, with what result.
func (g *generator) draw(action string, day time.Time) auditlog.Event {
	p, result := g.actor(action)
	target := g.someone()
	if action == "organizations.join" {
		target = p
	}
	return g.build(action, p, target, result, g.at(day, p))
}

// actor picks who performs action, weighted by activity, and the result: now
// and then someone without the permission tries and is rejected.
func (g *generator) actor(action string) (person, string) {
	w := specs[action].who
	rejected := w != anyone && g.r.Float64() < 0.02
	var candidates []person
	for _, p := range people {
		if p.can(action, w) != rejected && !(rejected && p.bot) {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 { // nobody lacks the permission
		return g.actor(action)
	}
	total := 0.0
	for _, p := range candidates {
		total += p.activity
	}
	x := g.r.Float64() * total
	p := candidates[len(candidates)-1]
	for _, c := range candidates {
		if x -= c.activity; x < 0 {
			p = c
			break
		}
	}
	failRate := 0.008
	if action == "user.login" {
		failRate = 0.04
	}
	switch {
	case rejected:
		return p, auditlog.ResultRejected
	case g.r.Float64() < failRate:
		return p, auditlog.ResultFailed
	}
	return p, auditlog.ResultSucceed
}

// someone picks a human member other than the admin: whom a people, join or manager event is about.
func (g *generator) someone() person {
	for {
		if p := people[1+g.r.IntN(len(people)-1)]; !p.bot {
			return p
		}
	}
}

// at picks when on day p acts: people mostly in working hours, the bot at any hour.
func (g *generator) at(day time.Time, p person) time.Time {
	var from, hours int
	weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
	switch {
	case p.bot, g.r.Float64() < 0.12:
		from, hours = 0, 24
	case weekend:
		from, hours = 10, 10
	default:
		from, hours = 8, 10
	}
	offset := time.Duration(from)*time.Hour + time.Duration(g.r.Int64N(int64(hours)*3_600_000))*time.Millisecond
	return day.Add(offset)
}

// build makes one event of p performing action, about target when the action is about a person.
func (g *generator) build(action string, p, target person, result string, t time.Time) auditlog.Event {
	a, _ := auditlog.LookupAction(action)
	w := specs[action].who
	ev := auditlog.Event{
		Organization: Org,
		Action:       action,
		Actor:        auditlog.Actor{Email: p.email, Role: p.actorRole(w)},
		Result:       result,
		Source:       auditlog.SourceUI,
		Timestamp:    t.UTC().Truncate(time.Millisecond),
		UserAgent:    p.browser,
		IPAddress:    g.ip(p, t),
	}
	if a.Level == auditlog.LevelRepository {
		ev.RepositoryName = pick(g.r, p.worksOn())
	}
	if p.bot || (action != "user.login" && a.Level != auditlog.LevelOrganization && g.r.Float64() < 0.1) {
		ev.Source, ev.UserAgent = auditlog.SourceAPI, p.script
	}
	details := g.details(&ev, target)
	switch result {
	case auditlog.ResultRejected:
		details["reason"] = "insufficient permissions: requires " + requirement[w]
	case auditlog.ResultFailed:
		if action == "user.login" {
			details["reason"] = pick(g.r, []string{"OAuth authorization denied", "session expired during sign-in", "SSO assertion rejected"})
		} else {
			details["error"] = pick(g.r, []string{"Git provider API timeout", "Git provider rate limit exceeded", "conflicting concurrent update"})
		}
	}
	if len(details) > 0 {
		ev.Details, _ = json.Marshal(details) // maps of strings, numbers, bools and slices always encode
	}
	return ev
}

var requirement = map[who]string{
	writers:    auditlog.RoleRepositoryWrite,
	repoAdmins: auditlog.RoleRepositoryAdmin,
	managers:   "organizationAdmin or organization manager",
	admins:     auditlog.RoleOrganizationAdmin,
}

// ip is where p acts from at t: the office on weekdays' working hours, else
// home, and sometimes the VPN.
func (g *generator) ip(p person, t time.Time) string {
	if p.bot {
		return p.homeIP
	}
	if g.r.Float64() < 0.15 {
		return "10.8.0." + strconv.Itoa(p.userID-990)
	}
	office := t.Hour() >= 8 && t.Hour() < 18 && t.Weekday() != time.Saturday && t.Weekday() != time.Sunday
	if office {
		return pick(g.r, officeIPs)
	}
	return p.homeIP
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// some returns n distinct elements of xs, in xs's order.
func some[T any](r *rand.Rand, xs []T, n int) []T {
	idx := r.Perm(len(xs))[:min(n, len(xs))]
	slices.Sort(idx)
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}
