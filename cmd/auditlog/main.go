// Command auditlog is the tamper-evident audit log service and its tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `auditlog: a tamper-evident audit log service for multi-tenant SaaS platforms.

Usage:
  auditlog <command> [flags]

Commands:
  serve     run the HTTP service (embedded storage in ./auditlog-data by default)
  verify    check an evidence bundle offline, or audit a whole store
  keygen    write a new checkpoint signing key
  help      show this help, or a command's: auditlog help serve

Client commands, which talk to a running server (AUDITLOG_SERVER, AUDITLOG_TOKEN):
  events    list an organization's events (table or JSON), with a search query
  export    download an organization's events: csv, ndjson or evidence bundle
  token     create, list or delete account API tokens
  org       show, create or update an organization (admin token)
  member    show, add, change or remove a member (admin token)
  import    import an organization's history from Codacy (admin token)

  bench     load a real server (started, or --url) and measure it, with baselines

Run "auditlog <command> --help" for a command's flags. Every flag can also be
set by the AUDITLOG_* environment variable named in its help.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "auditlog:", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

// Run runs the command named by args[0].
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "verify":
		return runVerify(ctx, rest, stdout, stderr)
	case "keygen":
		return runKeygen(ctx, rest, stdout, stderr)
	case "events":
		return describe(runEvents(ctx, rest, stdout, stderr))
	case "export":
		return describe(runExport(ctx, rest, stdout, stderr))
	case "token":
		return runToken(ctx, rest, stdout, stderr)
	case "org":
		return runOrg(ctx, rest, stdout, stderr)
	case "member":
		return runMember(ctx, rest, stdout, stderr)
	case "import":
		return describe(runImport(ctx, rest, stdout, stderr))
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return Run(ctx, []string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
