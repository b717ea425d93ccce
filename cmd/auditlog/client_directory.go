package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/auditlog/auditlog"
)

const orgUsage = `Usage:
  auditlog org get PROVIDER/NAME
  auditlog org put PROVIDER/NAME [--plan free|pro|business] [--retention-days N] [--legal-hold=true|false]

Shows, creates or updates an organization, printed as JSON. put changes only
the flags given; a new organization takes the defaults for the others (plan
free, 365 days, no legal hold). Only Business organizations can read their
audit log. Needs the admin token. The organization may also be --org.
`

const memberUsage = `Usage:
  auditlog member get PROVIDER/NAME EMAIL
  auditlog member put PROVIDER/NAME EMAIL [--role ROLE] [--manager=true|false]
  auditlog member delete PROVIDER/NAME EMAIL

Shows, adds, changes or removes a member of an organization, printed as
JSON. ROLE is repositoryRead, repositoryWrite, repositoryAdmin,
organizationMember or organizationAdmin (a new member needs one); the
manager flag is the organization manager role. organizationAdmins and
managers of a Business organization read its audit log. Needs the admin
token. The organization may also be --org.
`

func runOrg(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand("org", orgUsage, args, stdout, stderr, map[string]func([]string) error{
		"get": func(args []string) error { return runOrgPut(ctx, args, stdout, stderr, false) },
		"put": func(args []string) error { return runOrgPut(ctx, args, stdout, stderr, true) },
	})
}

func runOrgPut(ctx context.Context, args []string, stdout, stderr io.Writer, put bool) error {
	name := "org get"
	if put {
		name = "org put"
	}
	fs, e, cf := newClientFlagSet(name, orgUsage, stderr, true)
	var upd auditlog.OrganizationUpdate
	if put {
		fs.Func("plan", "free, pro or business", func(s string) error { upd.Plan = &s; return nil })
		fs.Func("retention-days", "keep events this many days, 1 to 3650", func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("not a number of days: %q", s)
			}
			upd.RetentionDays = &n
			return nil
		})
		fs.BoolFunc("legal-hold", "keep every event past its retention (true or false)", func(s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("not true or false: %q", s)
			}
			upd.LegalHold = &b
			return nil
		})
	}
	pos, err := parseArgs(fs, e, args)
	if err != nil {
		return err
	}
	ref, pos, err := cf.orgRef(pos)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%s takes the organization only, got %q too", name, pos)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if !put {
		org, err := c.FindOrganization(ctx, ref)
		if err != nil {
			return err
		}
		return writeJSONIndent(stdout, org)
	}
	org, created, err := c.PutOrganization(ctx, ref, upd)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s organization %s\n", createdWord(created), ref)
	return writeJSONIndent(stdout, org)
}

func runMember(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand("member", memberUsage, args, stdout, stderr, map[string]func([]string) error{
		"get":    func(args []string) error { return runMemberCmd(ctx, "get", args, stdout, stderr) },
		"put":    func(args []string) error { return runMemberCmd(ctx, "put", args, stdout, stderr) },
		"delete": func(args []string) error { return runMemberCmd(ctx, "delete", args, stdout, stderr) },
	})
}

func runMemberCmd(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	fs, e, cf := newClientFlagSet("member "+sub, memberUsage, stderr, true)
	var upd auditlog.MemberUpdate
	if sub == "put" {
		fs.Func("role", "the member's role", func(s string) error { upd.Role = &s; return nil })
		fs.BoolFunc("manager", "the organization manager role (true or false)", func(s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("not true or false: %q", s)
			}
			upd.Manager = &b
			return nil
		})
	}
	pos, err := parseArgs(fs, e, args)
	if err != nil {
		return err
	}
	ref, pos, err := cf.orgRef(pos)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("member %s takes the organization and one email", sub)
	}
	email := pos[0]
	c, err := cf.client()
	if err != nil {
		return err
	}
	switch sub {
	case "get":
		m, err := c.FindMember(ctx, ref, email)
		if err != nil {
			return err
		}
		return writeJSONIndent(stdout, m)
	case "put":
		m, created, err := c.PutMember(ctx, ref, email, upd)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s member %s of %s\n", createdWord(created), m.Email, ref)
		return writeJSONIndent(stdout, m)
	}
	if err := c.DeleteMember(ctx, ref, email); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "removed %s from %s\n", email, ref)
	return nil
}

func createdWord(created bool) string {
	if created {
		return "created"
	}
	return "updated"
}

func writeJSONIndent(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
