package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/auditlog/auditlog"
)

const tokenUsage = `Usage:
  auditlog token create [--expires DURATION] [--json]   a new token of your own
  auditlog token create --email EMAIL [--expires DURATION] [--json]
                                                        a user's first token (admin token)
  auditlog token list [--json]                          your tokens, without their secrets
  auditlog token delete ID                              delete one of your tokens

Account API tokens act with their user's roles in every organization the
user is a member of. create prints the new token's secret on standard
output, the only time it is shown: TOKEN=$(auditlog token create).
The server records each create, list and delete in the user's organizations.
Run "auditlog token create --help" for the flags.
`

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand("token", tokenUsage, args, stdout, stderr, map[string]func([]string) error{
		"create": func(args []string) error { return runTokenCreate(ctx, args, stdout, stderr) },
		"list":   func(args []string) error { return runTokenList(ctx, args, stdout, stderr) },
		"delete": func(args []string) error { return runTokenDelete(ctx, args, stdout, stderr) },
	})
}

func runTokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, e, cf := newClientFlagSet("token create", tokenUsage, stderr, false)
	email := fs.String("email", "", "create the first token of this user, with the admin token")
	expires := fs.Duration("expires", 0, "the token expires after this long, such as 720h; 0 never")
	asJSON := fs.Bool("json", false, "print the token as JSON: id, email, token, createdAt, expiresAt")
	pos, err := parseArgs(fs, e, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("token create takes no arguments, got %q (a user is --email EMAIL)", pos)
	}
	if *expires < 0 {
		return fmt.Errorf("--expires must be positive, got %v", *expires)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var at *time.Time
	if *expires > 0 {
		t := time.Now().Add(*expires).UTC().Truncate(time.Millisecond)
		at = &t
	}
	var tok *auditlog.Token
	if *email != "" {
		tok, err = c.CreateUserToken(ctx, *email, at)
	} else {
		tok, err = c.CreateOwnToken(ctx, at)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLine(stdout, tok)
	}
	fmt.Fprintln(stdout, tok.Secret)
	note := fmt.Sprintf("created token %s of %s", tok.ID, tok.Email)
	if tok.ExpiresAt != nil {
		note += ", expiring " + auditlog.FormatTime(*tok.ExpiresAt)
	}
	fmt.Fprintln(stderr, note+"; its secret is shown only this once")
	return nil
}

func runTokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, e, cf := newClientFlagSet("token list", tokenUsage, stderr, false)
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parseArgs(fs, e, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("token list takes no arguments, got %q", pos)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	tokens, err := c.OwnTokens(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if tokens == nil {
			tokens = []auditlog.Token{}
		}
		return writeJSONLine(stdout, tokens)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tCREATED\tEXPIRES")
	for _, t := range tokens {
		exp := "never"
		if t.ExpiresAt != nil {
			exp = auditlog.FormatTime(*t.ExpiresAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cell(t.ID, 64), cell(t.Email, 64), auditlog.FormatTime(t.CreatedAt), exp)
	}
	return tw.Flush()
}

func runTokenDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, e, cf := newClientFlagSet("token delete", tokenUsage, stderr, false)
	pos, err := parseArgs(fs, e, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("token delete takes one token id (see auditlog token list), got %d arguments", len(pos))
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := c.DeleteOwnToken(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "deleted token %s\n", pos[0])
	return nil
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
