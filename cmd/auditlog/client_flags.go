package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
)

// The client commands (events, export, token, org, member, import) talk to
// a running server through the client package, the Go SDK.

const clientFlagsHelp = `
Every client command takes --server (AUDITLOG_SERVER, default
http://127.0.0.1:8080) and the token: --token (AUDITLOG_TOKEN) or
--token-file (AUDITLOG_TOKEN_FILE). Prefer the environment or a file to
--token, which other users of the machine can see in the process list.
`

// clientFlags are the flags every client command shares.
type clientFlags struct {
	server    string
	token     string
	tokenFile string
	org       string
}

// newClientFlagSet returns a command's flag set with the shared flags; with
// org it has --org too.
func newClientFlagSet(name, usage string, stderr io.Writer, org bool) (*flag.FlagSet, *envFlags, *clientFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprint(stderr, clientFlagsHelp)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	cf := &clientFlags{server: "http://127.0.0.1:8080"}
	e := &envFlags{fs: fs}
	e.String(&cf.server, "server", "AUDITLOG_SERVER", "base URL of the auditlog server")
	e.String(&cf.token, "token", "AUDITLOG_TOKEN", "account API token, or the admin token for admin commands")
	e.String(&cf.tokenFile, "token-file", "AUDITLOG_TOKEN_FILE", "read the token from this file (such as <data>/admin-token)")
	if org {
		e.String(&cf.org, "org", "AUDITLOG_ORG", "the organization, as provider/name: gh/acme")
	}
	return fs, e, cf
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, which it returns.
func parseArgs(fs *flag.FlagSet, e *envFlags, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, errors.Join(e.errs...)
}

// client returns the SDK client the flags describe.
func (cf *clientFlags) client(opts ...client.Option) (*client.Client, error) {
	tok := cf.token
	if tok == "" && cf.tokenFile != "" {
		b, err := os.ReadFile(cf.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read the token: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return nil, errors.New("no token: set AUDITLOG_TOKEN, --token-file or --token")
	}
	if cf.server == "" {
		return nil, errors.New("no server: set AUDITLOG_SERVER or --server")
	}
	// A person waits at the terminal: a few quick retries, not the SDK's half minute.
	retry := client.Retry{MaxAttempts: 3, MinBackoff: 250 * time.Millisecond, MaxBackoff: 2 * time.Second, MaxRetryAfter: 10 * time.Second}
	base := []client.Option{client.WithToken(tok), client.WithUserAgent("auditlog-cli"), client.WithRetry(retry)}
	return client.New(cf.server, append(base, opts...)...), nil
}

// orgRef reads the organization from --org or the first positional argument.
func (cf *clientFlags) orgRef(pos []string) (auditlog.OrgRef, []string, error) {
	s := cf.org
	if s == "" {
		if len(pos) == 0 {
			return auditlog.OrgRef{}, nil, errors.New("which organization? Give --org provider/name, such as --org gh/acme")
		}
		s, pos = pos[0], pos[1:]
	}
	ref, err := parseOrg(s)
	return ref, pos, err
}

func parseOrg(s string) (auditlog.OrgRef, error) {
	p, n, ok := strings.Cut(s, "/")
	if !ok {
		return auditlog.OrgRef{}, fmt.Errorf("organization %q: want provider/name, such as gh/acme", s)
	}
	ref := auditlog.OrgRef{Provider: p, Name: n}
	if err := ref.Validate(); err != nil {
		return ref, fmt.Errorf("organization %q: %s", s, auditlog.ErrorMessage(err))
	}
	return ref, nil
}

// apiError is an error of the server or the SDK as the command line shows
// it: the API's message, each invalid event on its own line, and a hint
// for a credential the server refused.
type apiError struct{ err error }

func (e apiError) Error() string {
	var ae *auditlog.Error
	if !errors.As(e.err, &ae) {
		return e.err.Error()
	}
	var b strings.Builder
	b.WriteString(ae.Message)
	if ae.Code == auditlog.EUNAUTHORIZED {
		b.WriteString(" (check AUDITLOG_TOKEN, --token-file or --token)")
	}
	if bad, ok := ae.Details.([]auditlog.EventError); ok {
		for i, d := range bad {
			if i == 20 {
				fmt.Fprintf(&b, "\n  ... and %d more", len(bad)-i)
				break
			}
			fmt.Fprintf(&b, "\n  event %d: %s", d.Index, d.Reason)
		}
	}
	return b.String()
}

func (e apiError) Unwrap() error { return e.err }

// describe wraps a command's error for the command line.
func describe(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	var ae apiError
	if errors.As(err, &ae) {
		return err
	}
	return apiError{err}
}

// isTerminal reports whether w is a terminal, where progress lines go.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// cell makes a value safe and short for a table: control and bidirectional
// formatting characters (which could rewrite the terminal) become '?', and
// long values are cut.
func cell(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '?'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

// subcommand dispatches "auditlog NAME SUB ...".
func subcommand(name, usage string, args []string, stdout, stderr io.Writer, subs map[string]func([]string) error) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return fmt.Errorf("%s needs a subcommand", name)
		}
		return flag.ErrHelp
	}
	run, ok := subs[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown subcommand %q of %s", args[0], name)
	}
	return describe(run(args[1:]))
}
