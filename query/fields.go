package query

import (
	"fmt"
	"strings"
	"time"

	"github.com/auditlog/auditlog"
)

// fieldParser validates a field's non-empty value into t. star reports an
// unquoted trailing '*'. It returns the reason the value is invalid, or "".
type fieldParser func(t *auditlog.Term, value string, star bool, now time.Time) string

var fields = map[string]fieldParser{
	auditlog.FieldAction:  parseAction,
	auditlog.FieldActor:   parseActor,
	auditlog.FieldRepo:    parseVerbatim,
	auditlog.FieldResult:  oneOf(auditlog.ResultSucceed, auditlog.ResultFailed, auditlog.ResultRejected),
	auditlog.FieldSource:  oneOf(auditlog.SourceUI, auditlog.SourceAPI),
	auditlog.FieldRole:    oneOf(append(auditlog.MemberRoles[:len(auditlog.MemberRoles):len(auditlog.MemberRoles)], auditlog.RoleOrganizationManager)...),
	auditlog.FieldEntity:  parseVerbatim,
	auditlog.FieldLevel:   oneOf(string(auditlog.LevelUser), string(auditlog.LevelOrganization), string(auditlog.LevelRepository)),
	auditlog.FieldCreated: parseCreated,
}

const fieldNames = "action, actor, repo, result, source, role, entity, level and created"

func parseAction(t *auditlog.Term, value string, star bool, _ time.Time) string {
	value = strings.ToLower(value)
	if star {
		prefix := value[:len(value)-1]
		if prefix == "" {
			return "an action prefix needs at least one character before the '*'"
		}
		for _, a := range auditlog.Actions() {
			if strings.HasPrefix(a.Name, prefix) {
				t.Value, t.Prefix = prefix, true
				return ""
			}
		}
		return fmt.Sprintf("no action starts with %q: see GET /api/v1/actions", truncate(prefix, 64))
	}
	if _, ok := auditlog.LookupAction(value); !ok {
		return fmt.Sprintf("unknown action %q: see GET /api/v1/actions, or end a prefix with '*'", truncate(value, 64))
	}
	t.Value = value
	return ""
}

func parseActor(t *auditlog.Term, value string, _ bool, _ time.Time) string {
	email, err := auditlog.NormalizeEmail(value)
	if err != nil {
		return "actor: " + auditlog.ErrorMessage(err)
	}
	t.Value = email
	return ""
}

// parseVerbatim keeps the value as written: repository names and entity ids
// are compared exactly.
func parseVerbatim(t *auditlog.Term, value string, _ bool, _ time.Time) string {
	t.Value = value
	return ""
}

// oneOf accepts, case-insensitively, one of the values, and keeps it in its canonical case.
func oneOf(values ...string) fieldParser {
	list := strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
	return func(t *auditlog.Term, value string, _ bool, _ time.Time) string {
		for _, v := range values {
			if strings.EqualFold(value, v) {
				t.Value = v
				return ""
			}
		}
		return fmt.Sprintf("invalid %s %q: must be %s", t.Field, truncate(value, 64), list)
	}
}
