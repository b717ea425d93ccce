package demo

import (
	"strconv"

	"github.com/auditlog/auditlog"
)

type named struct{ id, name string }

var (
	gatePolicies = []named{{"gp-101", "Strict"}, {"gp-102", "Balanced"}, {"gp-103", "Legacy services"}, {"gp-104", "Frontend"}}
	standards    = []named{{"cs-201", "Demo baseline"}, {"cs-202", "Security first"}, {"cs-203", "Frontend TypeScript"}}
	dastTargets  = []named{{"dast-1", "https://staging.demo.example"}, {"dast-2", "https://api.staging.demo.example"}, {"dast-3", "https://admin.staging.demo.example"}}

	tools     = []string{"ESLint", "Semgrep", "Trivy", "PMD", "Pylint", "Checkov", "Hadolint", "Bandit", "ShellCheck", "Revive"}
	languages = []string{"Go", "TypeScript", "JavaScript", "Python", "Kotlin", "Swift", "Terraform", "Markdown", "Shell"}
	branches  = []string{"main", "main", "main", "develop", "staging", "release/2.x"}
	patterns  = []string{"ESLint_no-unused-vars", "Semgrep_go.lang.security.audit.sqli", "Bandit_B105", "Revive_exported",
		"Checkov_CKV_AWS_20", "PMD_AvoidDuplicateLiterals", "Pylint_W0612", "Trivy_CVE-2024-24786"}
	paths = []string{"internal/session/store.go", "src/components/Checkout.tsx", "scripts/migrate.py",
		"modules/vpc/main.tf", "vendor/github.com/lib/pq/conn.go", "docs/getting-started.md", "app/src/main/Payment.kt"}
	severities = []string{"Critical", "High", "High", "Medium", "Medium", "Medium", "Low"}
)

// details fills ev's entityId (and now and then a more specific description
// than the catalog's) and returns its details: what the action was done to.
// target is the person a people, join or manager-role event is about.
func (g *generator) details(ev *auditlog.Event, target person) map[string]any {
	r := g.r
	coin := func() bool { return r.IntN(2) == 0 }
	id := func(prefix string, n int) string { return prefix + strconv.Itoa(n+r.IntN(9*n)) }
	entity := func(n named) named { ev.EntityID = n.id; return n }
	d := map[string]any{}
	switch ev.Action {
	case "user.login":
		d["method"] = "github-oauth"
		d["mfa"] = r.Float64() < 0.8
	case "user.tokens.create", "user.tokens.delete":
		ev.EntityID = id("tok_", 10000)
		d["name"] = pick(r, []string{"laptop", "scripts", "grafana-export", "release-automation"})
	case "user.tokens.read":
		d["count"] = 1 + r.IntN(4)

	case "organizations.create":
		ev.EntityID = Org.String()
		d["provider"], d["name"], d["plan"] = Org.Provider, Org.Name, auditlog.PlanBusiness
	case "organizations.people.create", "organizations.join":
		ev.EntityID = strconv.Itoa(target.userID)
		d["userId"], d["role"] = target.userID, target.role
	case "organizations.analysisconfigurationminimumpermission.update":
		d["from"], d["to"] = auditlog.RoleRepositoryAdmin, auditlog.RoleRepositoryWrite
		if coin() {
			d["from"], d["to"] = d["to"], d["from"]
		}
	case "organizations.security.managers.create", "organizations.security.managers.delete":
		ev.EntityID = strconv.Itoa(target.userID)
		d["userId"] = target.userID
	case "organizations.integrations.providersettings.update", "repositories.integrations.providersettings.update":
		d["commitStatus"], d["pullRequestComment"], d["pullRequestSummary"], d["suggestions"] = coin(), coin(), coin(), coin()
	case "organizations.integrations.providersettings.apply":
		d["repositories"] = len(repos)
	case "organizations.settings.hooks.create":
		ev.EntityID = id("hook-", 100)
		d["url"], d["events"] = "https://hooks.demo.example/codacy", []string{"analysis.finished", "pullrequest.status"}

	case "organizations.gatepolicies.create", "organizations.gatepolicies.setdefault", "organizations.gatepolicies.delete":
		d["policy"] = entity(pick(r, gatePolicies)).name
	case "organizations.gatepolicies.update":
		d["policy"] = entity(pick(r, gatePolicies)).name
		d["maxNewIssues"], d["minimumSeverity"], d["maxCoverageDrop"] = r.IntN(5), pick(r, []string{"Error", "Warning"}), 0.5*float64(r.IntN(5))
	case "organizations.gatepolicies.repositories.apply":
		d["policy"], d["repositories"] = entity(pick(r, gatePolicies)).name, some(r, repos, 1+r.IntN(3))
	case "organizations.gatepolicies.setcodacydefault":
		ev.EntityID = "codacy-default"
		d["policy"] = "Codacy gate policy"

	case "organizations.presetsstandards.create":
		d["standard"], d["sensitivity"] = entity(pick(r, standards)).name, pick(r, []string{"Essential", "Recommended", "Strict"})
		d["languages"] = some(r, languages, 2+r.IntN(3))
	case "organizations.codingstandards.create":
		d["standard"], d["draft"] = entity(pick(r, standards)).name, true
		d["languages"] = some(r, languages, 1+r.IntN(3))
	case "organizations.codingstandards.promote":
		d["standard"] = entity(pick(r, standards)).name
		if coin() {
			ev.Description = "Coding standard updated from draft"
		}
	case "organizations.codingstandards.repositories.apply":
		d["standard"], d["repositories"] = entity(pick(r, standards)).name, some(r, repos, 1+r.IntN(4))
	case "organizations.codingstandards.setdefault", "organizations.codingstandards.delete":
		d["standard"] = entity(pick(r, standards)).name

	case "organizations.security.items.export":
		d["format"], d["items"] = pick(r, []string{"csv", "csv", "json"}), 20+r.IntN(400)
		d["filters"] = map[string]any{"status": pick(r, []string{"Overdue", "DueSoon", "OnTrack"}), "severities": some(r, severities[:4], 2)}
	case "organizations.security.items.ignore", "organizations.security.items.unignore":
		ev.EntityID = id("SRM-", 1000)
		d["severity"], d["repository"] = pick(r, severities), pick(r, repos)
		if ev.Action == "organizations.security.items.ignore" {
			d["reason"] = pick(r, []string{"False positive", "Accepted risk", "Not exploitable in our deployment"})
		}
	case "organizations.dast.target.create", "organizations.dast.target.delete":
		d["url"] = entity(pick(r, dastTargets)).name
	case "organizations.dast.target.analyze":
		d["url"], d["scanType"] = entity(pick(r, dastTargets)).name, pick(r, []string{"baseline", "full", "api"})
	case "organizations.security.sla.configuration.update":
		d["slaDays"] = map[string]int{"Critical": 7 * (1 + r.IntN(2)), "High": 30, "Medium": 90, "Low": 180}
	case "organizations.auditlogs.export":
		d["format"] = pick(r, []string{"csv", "csv", "ndjson", "bundle"})
		if coin() {
			d["q"] = pick(r, []string{"action:organizations.gatepolicies.*", "result:rejected", "level:organization created:>=2025-01-01", "source:API"})
		}
	case "organizations.auditlogs.streams.create", "organizations.auditlogs.streams.delete":
		ev.EntityID = id("stream-", 10)
		d["type"], d["url"] = "webhook", "https://siem.demo.example/ingest/auditlog"

	case "repositories.integrations.postcommithook":
		ev.EntityID = id("hook-", 100)
		d["url"] = "https://ci.demo.example/hooks/codacy/" + ev.RepositoryName
	case "repositories.tokens.create", "repositories.tokens.delete":
		ev.EntityID = id("rtok_", 10000)
		d["name"] = pick(r, []string{"coverage-upload", "ci-analysis", "local-cli"})
	case "repositories.tokens.read":
		d["count"] = 1 + r.IntN(3)
	case "repositories.integrations.refreshprovider", "repositories.settings.provider.sync":
		d["provider"], d["defaultBranch"] = "GitHub", "main"
	case "repositories.issues.update":
		ev.EntityID = id("", 100000)
		d["pattern"], d["file"] = pick(r, patterns), pick(r, paths)
		ignored := r.Float64() < 0.85
		d["ignored"] = ignored
		if ignored {
			d["reason"] = pick(r, []string{"False positive", "Not a problem", "Accepted use"})
		} else if coin() {
			ev.Description = "Issue unignored"
		}
	case "repositories.tools.update":
		d["tool"], d["enabled"] = pick(r, tools), r.Float64() < 0.7
		if coin() {
			d["configurationFile"] = coin()
		}
	case "repositories.pullrequests.bypass":
		pr := 1 + r.IntN(900)
		ev.EntityID = strconv.Itoa(pr)
		d["pullRequest"], d["reason"] = pr, pick(r, []string{"hotfix", "release blocker", "false positive in gate"})
	case "repositories.settings.language.update":
		d["language"], d["enabled"] = pick(r, languages), coin()
	case "repositories.branches.update":
		d["branch"], d["enabled"] = pick(r, branches), r.Float64() < 0.75
	case "repositories.settings.analysis.update":
		d["ignoredPaths"] = some(r, []string{"vendor/**", "node_modules/**", "**/*_test.go", "docs/**", "generated/**"}, 1+r.IntN(2))
	case "repositories.reanalyzecommit":
		sha := make([]byte, 40)
		for i := range sha {
			sha[i] = "0123456789abcdef"[r.IntN(16)]
		}
		ev.EntityID = string(sha)
		d["commit"], d["branch"] = ev.EntityID, pick(r, branches)
	case "repositories.settings.quality.repository.update":
		d["maxIssuePercentage"], d["minCoverage"] = 5+r.IntN(20), 50+5*r.IntN(8)
	case "repositories.settings.quality.pullrequests.update":
		d["maxNewIssues"], d["maxCoverageDrop"] = r.IntN(3), 0.5*float64(r.IntN(4))
	case "repositories.file.update":
		ignored := r.Float64() < 0.8
		d["path"], d["ignored"] = pick(r, paths), ignored
		if !ignored {
			ev.Description = "File included in analysis again"
		}
	}
	return d
}
