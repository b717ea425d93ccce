package enginebench

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
)

// event is one audit event as the benchmark stores it. Org, Seq and the
// millisecond timestamps are numbers; the id is a UUID (version 7) in its 16
// raw bytes; the action is its catalog index.
type event struct {
	org         uint32
	seq         uint64
	ts          int64 // Unix ms, when it happened
	received    int64 // Unix ms, when the store received it
	action      uint8
	role        uint8
	result      uint8
	source      uint8
	id          [16]byte
	actor       string
	repo        string
	entity      string
	description string
	details     string // a JSON object
	ip          string
	userAgent   string
}

var (
	firstNames = []string{"alice", "bruno", "carla", "diego", "emma", "filipa", "goncalo", "hannah", "ines", "jorge",
		"karen", "luis", "marta", "nuno", "olivia", "pedro", "quentin", "rita", "sofia", "tiago", "ursula", "vasco",
		"wendy", "xavier", "yara", "zoe"}
	lastNames = []string{"silva", "santos", "ferreira", "pereira", "oliveira", "costa", "rodrigues", "martins",
		"jesus", "sousa", "fernandes", "goncalves", "gomes", "lopes", "marques", "alves", "almeida", "ribeiro",
		"pinto", "carvalho", "teixeira", "moreira", "smith", "johnson", "williams", "brown", "garcia", "miller"}
	orgWords = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell",
		"cyberdyne", "soylent", "vandelay", "pied", "aperture", "massive", "oscorp", "nakatomi", "gringotts"}
	orgSuffixes = []string{"labs", "systems", "io", "cloud", "software", "tech", "dev", "hq", "digital", "group"}
	repoWords   = []string{"api", "web", "payments", "billing", "auth", "gateway", "frontend", "backend", "mobile",
		"infra", "terraform", "docs", "search", "ingest", "worker", "scheduler", "notifications", "reports",
		"analytics", "admin", "portal", "sdk", "cli", "core", "platform", "data", "ml", "etl"}
	repoSuffixes = []string{"service", "app", "lib", "server", "client", "pipeline", "ui", "tools", "config", "utils"}
	policyNames  = []string{"Strict", "Default", "Backend services", "Frontend", "Legacy code", "Security first",
		"Relaxed", "Critical only", "Team A", "Release branches"}
	languages  = []string{"Go", "Java", "Kotlin", "Python", "TypeScript", "JavaScript", "Scala", "Ruby", "C#", "PHP"}
	tools      = []string{"ESLint", "PMD", "Semgrep", "Trivy", "Pylint", "gosec", "Checkstyle", "Bandit", "Prospector", "Lizard"}
	branches   = []string{"main", "master", "develop", "release/2.4", "release/3.0", "staging", "hotfix/login"}
	userAgents = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
	}
	apiAgents = []string{"codacy-cli/1.4.2", "curl/8.5.0", "python-requests/2.32.3", "Go-http-client/2.0",
		"codacy-api-typescript/7.3.1", "okhttp/4.12.0"}
)

// Result and source codes.
const (
	resultSucceed = iota
	resultFailed
	resultRejected
)

const (
	sourceUI = iota
	sourceAPI
)

type member struct {
	email string
	role  uint8
	ip    string
}

type orgProfile struct {
	members []member
	repos   []string
}

// generator produces a deterministic stream of realistic audit events over a
// fixed set of organizations.
type generator struct {
	rnd   *rand.Rand
	orgs  []orgProfile
	clock int64 // Unix ms
}

func newGenerator(seed int64, orgs int) *generator {
	rnd := rand.New(rand.NewSource(seed))
	g := &generator{rnd: rnd, clock: 1735689600000} // 2025-01-01T00:00:00Z
	for i := 0; i < orgs; i++ {
		domain := fmt.Sprintf("%s-%s.com", pick(rnd, orgWords), pick(rnd, orgSuffixes))
		if rnd.Intn(3) == 0 {
			domain = "gmail.com"
		}
		p := orgProfile{}
		for j, n := 0, 5+rnd.Intn(40); j < n; j++ {
			p.members = append(p.members, member{
				email: fmt.Sprintf("%s.%s@%s", pick(rnd, firstNames), pick(rnd, lastNames), domain),
				role:  uint8(rnd.Intn(7)),
				ip:    randomIP(rnd),
			})
		}
		for j, n := 0, 3+rnd.Intn(60); j < n; j++ {
			p.repos = append(p.repos, fmt.Sprintf("%s-%s", pick(rnd, repoWords), pick(rnd, repoSuffixes)))
		}
		g.orgs = append(g.orgs, p)
	}
	return g
}

func pick(rnd *rand.Rand, s []string) string { return s[rnd.Intn(len(s))] }

func randomIP(rnd *rand.Rand) string {
	if rnd.Intn(10) == 0 {
		return fmt.Sprintf("2001:db8:%x:%x::%x", rnd.Intn(0xffff), rnd.Intn(0xffff), rnd.Intn(0xffff))
	}
	return fmt.Sprintf("%d.%d.%d.%d", 1+rnd.Intn(223), rnd.Intn(256), rnd.Intn(256), 1+rnd.Intn(254))
}

// next returns n events, spread uniformly over the organizations, with
// timestamps advancing by about 2.5 s an event (a million events span about a
// month) and a few seconds of jitter, so that they are only roughly in order.
func (g *generator) next(n int) []event {
	evs := make([]event, n)
	for i := range evs {
		g.clock += g.rnd.Int63n(5000)
		e := &evs[i]
		e.org = uint32(g.rnd.Intn(len(g.orgs)))
		p := &g.orgs[e.org]
		m := p.members[g.rnd.Intn(len(p.members))]
		e.ts = g.clock - g.rnd.Int63n(3000)
		e.received = g.clock + g.rnd.Int63n(50)
		e.action = uint8(g.rnd.Intn(len(actions)))
		e.role = m.role
		e.actor = m.email
		e.ip = m.ip
		switch r := g.rnd.Intn(100); {
		case r < 93:
			e.result = resultSucceed
		case r < 98:
			e.result = resultFailed
		default:
			e.result = resultRejected
		}
		if g.rnd.Intn(4) == 0 {
			e.source = sourceAPI
			e.userAgent = pick(g.rnd, apiAgents)
		} else {
			e.source = sourceUI
			e.userAgent = pick(g.rnd, userAgents)
		}
		g.uuid7(&e.id, e.received)
		a := actions[e.action]
		if a.repository {
			e.repo = p.repos[g.rnd.Intn(len(p.repos))]
		}
		e.entity, e.description, e.details = g.content(a, e.repo)
		// Hosts tag events with their request id: 16 random hex digits.
		e.details = `{"requestId":"` + g.hex(16) + `",` + e.details[1:]
	}
	return evs
}

func (g *generator) uuid7(u *[16]byte, ms int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	copy(u[0:6], b[2:8])
	binary.BigEndian.PutUint64(u[6:14], g.rnd.Uint64())
	binary.BigEndian.PutUint16(u[14:16], uint16(g.rnd.Uint32()))
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
}

func (g *generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rnd.Intn(16)]
	}
	return string(b)
}

// content returns an entity id, a description and a details object fitting
// the action: about a third of events keep the catalog's description.
func (g *generator) content(a action, repo string) (entity, description, details string) {
	r := g.rnd
	description = a.description
	custom := r.Intn(3) != 0
	id := strconv.Itoa(1000 + r.Intn(900000))
	switch {
	case strings.Contains(a.name, "gatepolicies"):
		name := pick(r, policyNames)
		entity = id
		details = fmt.Sprintf(`{"gatePolicyId":%s,"name":%q,"changes":{"issueThreshold":%d,"securityIssueThreshold":%d,"coverageVariation":%d}}`,
			id, name, r.Intn(50), r.Intn(5), -r.Intn(5))
		if custom {
			description = fmt.Sprintf("%s: gate policy %q (id %s)", a.description, name, id)
		}
	case strings.Contains(a.name, "codingstandards") || strings.Contains(a.name, "presetsstandards"):
		entity = id
		details = fmt.Sprintf(`{"codingStandardId":%s,"languages":[%q,%q],"toolsEnabled":%d,"patternsEnabled":%d}`,
			id, pick(r, languages), pick(r, languages), 1+r.Intn(20), 50+r.Intn(2000))
		if custom {
			description = fmt.Sprintf("%s for %s and %s", a.description, pick(r, languages), pick(r, languages))
		}
	case strings.Contains(a.name, "tokens"):
		entity = "tok_" + g.hex(12)
		details = fmt.Sprintf(`{"tokenId":%q,"tokenName":"%s-%d"}`, entity, pick(r, repoWords), r.Intn(100))
	case strings.Contains(a.name, "tools"):
		tool := pick(r, tools)
		entity = tool
		details = fmt.Sprintf(`{"tool":%q,"enabled":%t,"patternsChanged":%d}`, tool, r.Intn(2) == 0, r.Intn(30))
		if custom {
			description = fmt.Sprintf("Tool %s configuration changed in %s", tool, repo)
		}
	case strings.Contains(a.name, "branches") || strings.Contains(a.name, "reanalyzecommit") || strings.Contains(a.name, "pullrequests"):
		commit := g.hex(40)
		entity = commit[:12]
		details = fmt.Sprintf(`{"branch":%q,"commit":%q,"pullRequest":%d}`, pick(r, branches), commit, 1+r.Intn(5000))
		if custom {
			description = fmt.Sprintf("%s on branch %s of %s", a.description, pick(r, branches), repo)
		}
	case strings.Contains(a.name, "security") || strings.Contains(a.name, "dast"):
		entity = id
		details = fmt.Sprintf(`{"itemId":%s,"severity":%q,"cve":"CVE-20%d-%d","reason":%q}`,
			id, []string{"Critical", "High", "Medium", "Low"}[r.Intn(4)], 18+r.Intn(8), 1000+r.Intn(50000),
			[]string{"accepted risk", "false positive", "not applicable", "fixed upstream"}[r.Intn(4)])
		if custom {
			description = fmt.Sprintf("%s (item %s)", a.description, id)
		}
	case strings.Contains(a.name, "people") || strings.Contains(a.name, "managers") || a.name == "organizations.join":
		other := fmt.Sprintf("%s.%s@example.org", pick(r, firstNames), pick(r, lastNames))
		entity = other
		details = fmt.Sprintf(`{"member":%q,"role":%q}`, other, []string{"organizationMember", "organizationAdmin", "repositoryWrite"}[r.Intn(3)])
		if custom {
			description = fmt.Sprintf("%s: %s", a.description, other)
		}
	case a.repository:
		entity = id
		details = fmt.Sprintf(`{"repository":%q,"setting":%q,"from":%q,"to":%q}`,
			repo, []string{"language", "analysis", "quality", "file", "provider"}[r.Intn(5)], pick(r, languages), pick(r, languages))
		if custom {
			description = fmt.Sprintf("%s: %s settings updated", a.description, repo)
		}
	default:
		details = fmt.Sprintf(`{"method":%q,"mfa":%t,"sessionId":%q}`,
			[]string{"github", "gitlab", "bitbucket", "sso"}[r.Intn(4)], r.Intn(2) == 0, g.hex(16))
	}
	return entity, description, details
}
