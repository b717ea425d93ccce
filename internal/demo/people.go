package demo

import (
	"slices"

	"github.com/auditlog/auditlog"
)

// person is a member of the demo organization and the actor of some of its events.
type person struct {
	email    string
	userID   int // the host's id of the user: the entityId of events about them
	role     string
	manager  bool
	bot      bool     // a CI machine user: acts only through the API, at any hour, on botActions
	activity float64  // how often this person acts, relative to the others
	repos    []string // the repositories this person works on; nil means all of them
	browser  string   // user agent in the UI
	script   string   // user agent of the person's API calls
	homeIP   string   // address outside office hours (the CI runner's, for the bot)
}

const (
	chromeMac  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	chromeLin  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36"
	firefoxWin = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"
	safariMac  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	edgeWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)

var people = []person{
	{email: AdminEmail, userID: 1001, role: auditlog.RoleOrganizationAdmin, activity: 1.0,
		browser: chromeMac, script: "curl/8.7.1", homeIP: "198.51.100.23"},
	{email: "maria.garcia@demo.example", userID: 1002, role: auditlog.RoleOrganizationMember, manager: true, activity: 0.9,
		browser: firefoxWin, script: "python-requests/2.32.3", homeIP: "2001:db8:7c2:1::5"},
	{email: "li.wei@demo.example", userID: 1003, role: auditlog.RoleRepositoryAdmin, activity: 1.4,
		repos:   []string{"api-gateway", "auth-service", "billing-service", "infra-terraform"},
		browser: chromeLin, script: "codacy-cli/1.8.2", homeIP: "198.51.100.147"},
	{email: "james.okafor@demo.example", userID: 1004, role: auditlog.RoleRepositoryAdmin, activity: 1.1,
		repos:   []string{"data-pipeline", "infra-terraform", "docs-site", "api-gateway"},
		browser: safariMac, script: "curl/8.4.0", homeIP: "192.0.2.88"},
	{email: "priya.natarajan@demo.example", userID: 1005, role: auditlog.RoleRepositoryWrite, activity: 1.5,
		repos:   []string{"web-frontend", "mobile-app", "docs-site"},
		browser: chromeMac, script: "node-fetch/3.3.2", homeIP: "2001:db8:51:9a::12"},
	{email: "tom.becker@demo.example", userID: 1006, role: auditlog.RoleRepositoryWrite, activity: 1.2,
		repos:   []string{"billing-service", "api-gateway", "auth-service"},
		browser: edgeWin, script: "python-requests/2.31.0", homeIP: "198.51.100.61"},
	{email: "sofia.rossi@demo.example", userID: 1007, role: auditlog.RoleRepositoryRead, activity: 0.6,
		repos:   []string{"web-frontend", "docs-site"},
		browser: safariMac, script: "curl/8.7.1", homeIP: "192.0.2.201"},
	{email: "kenji.tanaka@demo.example", userID: 1008, role: auditlog.RoleOrganizationMember, activity: 0.8,
		browser: chromeLin, script: "Go-http-client/2.0", homeIP: "2001:db8:e4::3f"},
	{email: "ci-bot@demo.example", userID: 1009, role: auditlog.RoleRepositoryAdmin, bot: true, activity: 4,
		script: "demo-ci/2.3 (GitHub Actions runner)", homeIP: "10.20.3.14"},
}

var repos = []string{
	"api-gateway", "web-frontend", "billing-service", "auth-service",
	"mobile-app", "data-pipeline", "infra-terraform", "docs-site",
}

// officeIPs are the office's egress addresses; the VPN hands out 10.8.0.0/24.
var officeIPs = []string{"203.0.113.24", "203.0.113.25", "2001:db8:4a1:10::24"}

// who is the least privileged kind of member allowed to perform an action.
type who int

const (
	anyone     who = iota
	writers        // repositoryWrite and above
	repoAdmins     // repositoryAdmin and above
	managers       // organization admins and organization managers
	admins         // organization admins
)

// botActions are the only actions the CI machine user performs.
var botActions = []string{
	"repositories.reanalyzecommit", "repositories.tokens.read",
	"repositories.settings.provider.sync", "repositories.integrations.refreshprovider",
}

// can reports whether p may perform an action that needs w.
func (p person) can(action string, w who) bool {
	if p.bot {
		return slices.Contains(botActions, action)
	}
	rank := slices.Index(auditlog.MemberRoles, p.role)
	switch w {
	case writers:
		return rank >= slices.Index(auditlog.MemberRoles, auditlog.RoleRepositoryWrite)
	case repoAdmins:
		return rank >= slices.Index(auditlog.MemberRoles, auditlog.RoleRepositoryAdmin)
	case managers:
		return p.role == auditlog.RoleOrganizationAdmin || p.manager
	case admins:
		return p.role == auditlog.RoleOrganizationAdmin
	}
	return true
}

// actorRole is the role p acts with on an action that needs w: a manager
// acting as one acts as organizationManager.
func (p person) actorRole(w who) string {
	if p.manager && w == managers && p.role != auditlog.RoleOrganizationAdmin {
		return auditlog.RoleOrganizationManager
	}
	return p.role
}

func (p person) worksOn() []string {
	if p.repos == nil {
		return repos
	}
	return p.repos
}
