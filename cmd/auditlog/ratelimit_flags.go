package main

import (
	"net/netip"
	"strings"

	ahttp "github.com/auditlog/auditlog/http"
)

// rateFlag is a flag.Value of a rate limit: "2500/5m" or "off".
type rateFlag ahttp.Rate

func (f *rateFlag) String() string { return ahttp.Rate(*f).String() }

func (f *rateFlag) Set(s string) error {
	r, err := ahttp.ParseRate(s)
	if err != nil {
		return err
	}
	*f = rateFlag(r)
	return nil
}

// prefixesFlag is a flag.Value of a comma-separated list of CIDR prefixes.
type prefixesFlag []netip.Prefix

func (f *prefixesFlag) String() string {
	var s []string
	for _, p := range *f {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (f *prefixesFlag) Set(s string) error {
	p, err := ahttp.ParseTrustedProxies(s)
	if err != nil {
		return err
	}
	*f = p
	return nil
}
