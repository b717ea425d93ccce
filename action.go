package auditlog

// Level says what an action is about: a user, an organization or a repository.
type Level string

const (
	LevelUser         Level = "user"
	LevelOrganization Level = "organization"
	LevelRepository   Level = "repository"
)

// Action is one entry of the action catalog.
type Action struct {
	Name        string `json:"action"`
	Level       Level  `json:"level"`
	Event       string `json:"event"`
	Description string `json:"description"`
}

// Catalog lists every action the service accepts, in a fixed order: the 43 of
// Codacy's "Audit logs for organizations" page, then those Codacy added since,
// then the service's own (the audit of the auditors). The order is part of
// the storage format (an action is stored as its index into this list):
// entries are only ever appended, never reordered or removed.
var catalog = []Action{
	// User.
	{"user.login", LevelUser, "Log in", "User logged in to Codacy"},
	{"user.tokens.create", LevelUser, "Create account API token", "New account API token created"},
	{"user.tokens.read", LevelUser, "Read account API token", "List of account API tokens retrieved"},
	{"user.tokens.delete", LevelUser, "Delete account API token", "Account API token deleted"},

	// Organization.
	{"organizations.create", LevelOrganization, "Add organization", "Organization added to Codacy"},
	{"organizations.people.create", LevelOrganization, "Add people to organization", "New people added to the organization"},
	{"organizations.join", LevelOrganization, "Join organization", "User joined the organization"},
	{"organizations.analysisconfigurationminimumpermission.update", LevelOrganization, "Update repository management permissions", "Repository management permissions updated"},
	{"organizations.security.managers.create", LevelOrganization, "Assign organization manager role", "Organization manager role assigned to a team member"},
	{"organizations.security.managers.delete", LevelOrganization, "Revoke organization manager role", "Organization manager role revoked from a team member"},
	{"organizations.integrations.providersettings.update", LevelOrganization, "Update default Git provider configuration", "Default Git provider configuration for the organization updated"},
	{"organizations.integrations.providersettings.apply", LevelOrganization, "Apply default Git provider configuration to all repositories", "Default Git provider configuration applied to all repositories of the organization"},
	{"organizations.settings.hooks.create", LevelOrganization, "Create new organization hook", "New organization webhook created"},
	{"organizations.gatepolicies.create", LevelOrganization, "Create new gate policy", "New gate policy created"},
	{"organizations.gatepolicies.update", LevelOrganization, "Update gate policy", "Quality gate definition updated"},
	{"organizations.gatepolicies.repositories.apply", LevelOrganization, "Apply gate policy to repositories", "Gate policy applied to a list of repositories"},
	{"organizations.gatepolicies.setdefault", LevelOrganization, "Make gate policy default", "Gate policy was made the default for the organization"},
	{"organizations.gatepolicies.setcodacydefault", LevelOrganization, "Make Codacy gate policy default", "Built-in Codacy gate policy was made the default for the organization"},
	{"organizations.gatepolicies.delete", LevelOrganization, "Delete gate policy", "Gate policy deleted"},
	{"organizations.presetsstandards.create", LevelOrganization, "Create new coding standard using preset sensitivity levels", "New coding standard created"},
	{"organizations.codingstandards.create", LevelOrganization, "Create new coding standard draft", "New coding standard draft created"},
	{"organizations.codingstandards.promote", LevelOrganization, "Create or update coding standard from draft", "New coding standard created or coding standard updated from draft"},
	{"organizations.codingstandards.repositories.apply", LevelOrganization, "Apply coding standard to repositories", "Coding standard applied to a list of repositories"},
	{"organizations.codingstandards.setdefault", LevelOrganization, "Make coding standard default", "Coding standard was made the default"},
	{"organizations.codingstandards.delete", LevelOrganization, "Delete coding standard", "Coding standard deleted"},
	{"organizations.security.items.export", LevelOrganization, "Export security items", "Export security items"},

	// Repository.
	{"repositories.integrations.postcommithook", LevelRepository, "Create new post-commit hook", "New repository hook created"},
	{"repositories.tokens.create", LevelRepository, "Create repository API token", "New repository API token created"},
	{"repositories.tokens.read", LevelRepository, "Read repository API token", "List of repository API tokens retrieved"},
	{"repositories.tokens.delete", LevelRepository, "Delete repository API token", "Repository API token deleted"},
	{"repositories.integrations.providersettings.update", LevelRepository, "Update Git provider integration settings", "Git provider integration settings for the repository updated"},
	{"repositories.integrations.refreshprovider", LevelRepository, "Refresh Git provider integration", "Git provider integration for the repository refreshed"},
	{"repositories.issues.update", LevelRepository, "Update issue", "For example ignore issue"},
	{"repositories.tools.update", LevelRepository, "Update tool", "Can be change parameters or disable/enable tool"},
	{"repositories.pullrequests.bypass", LevelRepository, "Bypass pull request", "Bypass pull request by authorized person"},
	{"repositories.settings.language.update", LevelRepository, "Update repository language", "Change languages analyzed in repository"},
	{"repositories.branches.update", LevelRepository, "Update branch", "Enable or Disable branch for analyse"},
	{"repositories.settings.analysis.update", LevelRepository, "Update analysis settings", "Update analysis settings"},
	{"repositories.reanalyzecommit", LevelRepository, "Reanalyze commit", "Reanalyze commit or pull request"},
	{"repositories.settings.provider.sync", LevelRepository, "Synchronize repository with provider", "Synchronize repository with provider"},
	{"repositories.settings.quality.repository.update", LevelRepository, "Update quality settings for repository", "Update quality settings for repository"},
	{"repositories.settings.quality.pullrequests.update", LevelRepository, "Update quality settings for pull requests", "Update quality settings for pull requests"},
	{"repositories.file.update", LevelRepository, "Update file state", "Ignore or Unignore file"},

	// Added by Codacy after the seed page.
	{"organizations.security.items.ignore", LevelOrganization, "Ignore security item", "Security item ignored"},
	{"organizations.security.items.unignore", LevelOrganization, "Unignore security item", "Security item unignored"},
	{"organizations.dast.target.create", LevelOrganization, "Create DAST target", "New DAST target created"},
	{"organizations.dast.target.delete", LevelOrganization, "Delete DAST target", "DAST target deleted"},
	{"organizations.dast.target.analyze", LevelOrganization, "Analyze DAST target", "DAST analysis of a target requested"},
	{"organizations.security.sla.configuration.update", LevelOrganization, "Update security SLA configuration", "Security SLA configuration updated"},

	// Beyond Codacy's catalog: the audit of the auditors, recorded by the service itself.
	{"organizations.auditlogs.export", LevelOrganization, "Export audit log", "Audit log of the organization exported"},
	{"organizations.auditlogs.streams.create", LevelOrganization, "Create audit log stream", "New audit log stream created"},
	{"organizations.auditlogs.streams.delete", LevelOrganization, "Delete audit log stream", "Audit log stream deleted"},
}

var catalogIndex = func() map[string]int {
	m := make(map[string]int, len(catalog))
	for i, a := range catalog {
		m[a.Name] = i
	}
	return m
}()

// Actions returns a copy of the catalog in its fixed order.
func Actions() []Action {
	return append([]Action(nil), catalog...)
}

// LookupAction returns the catalog entry of name.
func LookupAction(name string) (Action, bool) {
	i, ok := catalogIndex[name]
	if !ok {
		return Action{}, false
	}
	return catalog[i], true
}

// ActionCode returns the stable storage code of an action name.
func ActionCode(name string) (int, bool) {
	i, ok := catalogIndex[name]
	return i, ok
}

// ActionByCode returns the action whose storage code is code.
func ActionByCode(code int) (Action, bool) {
	if code < 0 || code >= len(catalog) {
		return Action{}, false
	}
	return catalog[code], true
}
