package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/auditlog/auditlog/merkle"
)

const keygenUsage = `Usage: auditlog keygen -o FILE [--name NAME]

Writes a new Ed25519 checkpoint signing key to FILE (mode 0600; an existing
file is never overwritten) and prints its verifier key, which is what
"auditlog verify --key" and GET /api/v1/log-key use. Give the file to
"auditlog serve --signing-key FILE"; replicas sharing a database share it.

Flags:
`

func runKeygen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, keygenUsage)
		fs.PrintDefaults()
	}
	out := fs.String("o", "", "file to write the signing key to (required)")
	name := fs.String("name", merkle.DefaultKeyName, "key name, shown in checkpoint signatures")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("keygen needs -o FILE and no arguments")
	}
	k, err := merkle.WriteNewKey(*out, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, k.VKey)
	return nil
}
