package enginebench

// action is a catalog entry as the benchmark needs it. The list mirrors the
// service's catalog (section 5 of the spec) but is copied here so that the
// benchmark does not depend on the domain package while it changes.
type action struct {
	name        string
	repository  bool // a repository-level action: the event names a repository
	description string
}

var actions = []action{
	{"user.login", false, "User logged in to Codacy"},
	{"user.tokens.create", false, "New account API token created"},
	{"user.tokens.read", false, "List of account API tokens retrieved"},
	{"user.tokens.delete", false, "Account API token deleted"},
	{"organizations.create", false, "Organization added to Codacy"},
	{"organizations.people.create", false, "New people added to the organization"},
	{"organizations.join", false, "User joined the organization"},
	{"organizations.analysisconfigurationminimumpermission.update", false, "Repository management permissions updated"},
	{"organizations.security.managers.create", false, "Organization manager role assigned to a team member"},
	{"organizations.security.managers.delete", false, "Organization manager role revoked from a team member"},
	{"organizations.integrations.providersettings.update", false, "Default Git provider configuration for the organization updated"},
	{"organizations.integrations.providersettings.apply", false, "Default Git provider configuration applied to all repositories of the organization"},
	{"organizations.settings.hooks.create", false, "New organization webhook created"},
	{"organizations.gatepolicies.create", false, "New gate policy created"},
	{"organizations.gatepolicies.update", false, "Quality gate definition updated"},
	{"organizations.gatepolicies.repositories.apply", false, "Gate policy applied to a list of repositories"},
	{"organizations.gatepolicies.setdefault", false, "Gate policy was made the default for the organization"},
	{"organizations.gatepolicies.setcodacydefault", false, "Built-in Codacy gate policy was made the default for the organization"},
	{"organizations.gatepolicies.delete", false, "Gate policy deleted"},
	{"organizations.presetsstandards.create", false, "New coding standard created"},
	{"organizations.codingstandards.create", false, "New coding standard draft created"},
	{"organizations.codingstandards.promote", false, "New coding standard created or coding standard updated from draft"},
	{"organizations.codingstandards.repositories.apply", false, "Coding standard applied to a list of repositories"},
	{"organizations.codingstandards.setdefault", false, "Coding standard was made the default"},
	{"organizations.codingstandards.delete", false, "Coding standard deleted"},
	{"organizations.security.items.export", false, "Export security items"},
	{"repositories.integrations.postcommithook", true, "New repository hook created"},
	{"repositories.tokens.create", true, "New repository API token created"},
	{"repositories.tokens.read", true, "List of repository API tokens retrieved"},
	{"repositories.tokens.delete", true, "Repository API token deleted"},
	{"repositories.integrations.providersettings.update", true, "Git provider integration settings for the repository updated"},
	{"repositories.integrations.refreshprovider", true, "Git provider integration for the repository refreshed"},
	{"repositories.issues.update", true, "For example ignore issue"},
	{"repositories.tools.update", true, "Can be change parameters or disable/enable tool"},
	{"repositories.pullrequests.bypass", true, "Bypass pull request by authorized person"},
	{"repositories.settings.language.update", true, "Change languages analyzed in repository"},
	{"repositories.branches.update", true, "Enable or Disable branch for analyse"},
	{"repositories.settings.analysis.update", true, "Update analysis settings"},
	{"repositories.reanalyzecommit", true, "Reanalyze commit or pull request"},
	{"repositories.settings.provider.sync", true, "Synchronize repository with provider"},
	{"repositories.settings.quality.repository.update", true, "Update quality settings for repository"},
	{"repositories.settings.quality.pullrequests.update", true, "Update quality settings for pull requests"},
	{"repositories.file.update", true, "Ignore or Unignore file"},
	{"organizations.security.items.ignore", false, "Security item ignored"},
	{"organizations.security.items.unignore", false, "Security item unignored"},
	{"organizations.dast.target.create", false, "New DAST target created"},
	{"organizations.dast.target.delete", false, "DAST target deleted"},
	{"organizations.dast.target.analyze", false, "DAST analysis of a target requested"},
	{"organizations.security.sla.configuration.update", false, "Security SLA configuration updated"},
}
