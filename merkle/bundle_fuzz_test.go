package merkle_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
	"golang.org/x/mod/sumdb/tlog"
)

// fuzzKey signs the bundles of the fuzz corpus; it protects nothing.
const fuzzKey = "PRIVATE+KEY+fuzz+522b66b4+AfhhKgOlB/VrcSTm37iKrwJNsH5fXjxkSLjAh18TXSHm"

// fuzzBundle returns a small valid bundle signed by fuzzKey: n events, the
// second of them purged (when n > 2), the third erased (when n > 3).
func fuzzBundle(tb testing.TB, n int, complete bool) []byte {
	tb.Helper()
	k, err := merkle.ParseKey(fuzzKey)
	if err != nil {
		tb.Fatal(err)
	}
	ref := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := make([]auditlog.Event, n)
	leaves := make([][32]byte, n)
	var hashes memHashes
	for i := range events {
		e := &events[i]
		*e = auditlog.Event{Organization: ref, Sequence: int64(i), ID: fmt.Sprintf("evt-%d", i), Action: "repositories.tools.update",
			Actor: auditlog.Actor{Email: fmt.Sprintf("user%d@acme.example", i), Role: "repositoryAdmin"}, Result: "succeed", Source: "UI",
			Timestamp: t0.Add(time.Duration(i) * time.Second), ReceivedAt: t0.Add(time.Duration(i)*time.Second + time.Millisecond),
			RepositoryName: "api-gateway", EntityID: "tool-7", Description: "tool eslint disabled",
			Details: json.RawMessage(`{"tool":"eslint","enabled":false}`), IPAddress: "10.1.2.3", UserAgent: "Mozilla/5.0",
			Salt: bytes.Repeat([]byte{byte(i + 1)}, auditlog.SaltSize)}
		if i%2 == 1 { // escaped: read by the general path; the others by the fast one
			e.Description = "tool \"eslint\" disabled"
		}
		leaf, err := e.LeafHash()
		if err != nil {
			tb.Fatal(err)
		}
		leaves[i] = leaf
		if i == 3 { // erased: its personal fields' hash stands in for the salt
			personal, _ := e.Personal()
			e.PersonalHash, e.Salt = personal[:], nil
			e.Actor.Email, e.IPAddress, e.UserAgent = auditlog.Redacted, auditlog.Redacted, auditlog.Redacted
		}
		hs, err := tlog.StoredHashesForRecordHash(int64(i), leaf, hashes)
		if err != nil {
			tb.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	root, err := tlog.TreeHash(int64(n), hashes)
	if err != nil {
		tb.Fatal(err)
	}
	cp, err := merkle.Sign(k, merkle.Origin("auditlog", ref), int64(n), root)
	if err != nil {
		tb.Fatal(err)
	}
	buf := merkle.AppendBundleHeader(nil, cp.Note, complete)
	for i := range events {
		p, err := tlog.ProveRecord(int64(n), int64(i), hashes)
		if err != nil {
			tb.Fatal(err)
		}
		proof := make([][32]byte, len(p))
		for j := range p {
			proof[j] = p[j]
		}
		if i == 1 && n > 2 {
			buf = merkle.AppendPurgedLine(buf, int64(i), leaves[i], proof)
			continue
		}
		buf = merkle.AppendBundleLine(buf, &events[i], proof)
	}
	return buf
}

func TestFuzzBundleVerifies(t *testing.T) {
	k, _ := merkle.ParseKey(fuzzKey)
	for _, n := range []int{1, 2, 5} {
		b := fuzzBundle(t, n, true)
		rep, err := merkle.VerifyBundle(bytes.NewReader(b), k.Verifier, nil)
		if err != nil {
			t.Fatalf("%d events: %v\n%s", n, err, b)
		}
		if got := rep.Events + rep.Purged; got != int64(n) {
			t.Fatalf("%d events: verified %d", n, got)
		}
	}
}

// FuzzVerifyBundle feeds arbitrary bytes to VerifyBundle: it must never
// panic, and whatever it accepts must be within its checkpoint. In memory,
// on read-only bytes against an inaccessible page (as a mapped file is), it
// must neither write to them nor read past them, and it must say the same.
func FuzzVerifyBundle(f *testing.F) {
	k, err := merkle.ParseKey(fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fuzzBundle(f, 5, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := merkle.VerifyBundle(bytes.NewReader(b), k.Verifier, nil)
		mrep, merr := merkle.VerifyBundleBytes(merkle.Guarded(t, b), k.Verifier, nil)
		if fmt.Sprint(err) != fmt.Sprint(merr) || err == nil && *rep != *mrep {
			t.Fatalf("in memory: %+v, %v; through a reader: %+v, %v", mrep, merr, rep, err)
		}
		if err != nil {
			return
		}
		if rep.Events < 0 || rep.Purged < 0 || rep.Events+rep.Purged > rep.TreeSize {
			t.Fatalf("accepted a bundle of %d events and %d purged in a tree of %d", rep.Events, rep.Purged, rep.TreeSize)
		}
		if rep.Complete && rep.TreeSize > 0 && rep.Events+rep.Purged != rep.TreeSize {
			t.Fatalf("accepted a complete bundle of %d events and %d purged in a tree of %d", rep.Events, rep.Purged, rep.TreeSize)
		}
	})
}

// TestWriteBundleFuzzCorpus rewrites the checked-in seed corpus of
// FuzzVerifyBundle when AUDITLOG_WRITE_FUZZ_CORPUS is set.
func TestWriteBundleFuzzCorpus(t *testing.T) {
	if os.Getenv("AUDITLOG_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set AUDITLOG_WRITE_FUZZ_CORPUS to rewrite testdata/fuzz/FuzzVerifyBundle")
	}
	valid := fuzzBundle(t, 5, true)
	hdrEnd := bytes.IndexByte(valid, '\n') + 1
	seeds := map[string][]byte{
		"valid-complete":   valid,
		"valid-partial":    fuzzBundle(t, 4, false),
		"valid-one":        fuzzBundle(t, 1, true),
		"header-only":      valid[:hdrEnd],
		"truncated":        valid[:len(valid)-40],
		"altered-event":    bytes.Replace(valid, []byte("api-gateway"), []byte("api-gatewaz"), 1),
		"swapped-lines":    swapLines(valid, 1, 2),
		"no-newline":       bytes.TrimRight(valid, "\n"),
		"empty":            nil,
		"not-json":         []byte("hello\n"),
		"noncanonical":     append(valid[:hdrEnd:hdrEnd], []byte(`{"proof":[],"event":{"sequence":0}}`+"\n")...),
		"both-kinds":       append(valid[:hdrEnd:hdrEnd], []byte(`{"event":{},"purged":{"sequence":0,"leafHash":""},"proof":[]}`+"\n")...),
		"huge-sequence":    bytes.Replace(valid, []byte(`"sequence":4`), []byte(`"sequence":9223372036854775807`), 1),
		"negative-purged":  bytes.Replace(valid, []byte(`"sequence":1`), []byte(`"sequence":-1`), 1),
		"bad-checkpoint":   bytes.Replace(valid, []byte("auditlog/gh/acme"), []byte("auditlog/gh/acmf"), 1),
		"salt-unpadded":    regexp.MustCompile(`("salt":"[^"]{22})==`).ReplaceAll(valid, []byte("${1}AA")),
		"proof-unpadded":   bytes.Replace(valid, []byte(`=","`), []byte(`A","`), 1),
		"long-proof-array": append(valid[:hdrEnd:hdrEnd], []byte(`{"purged":{"sequence":0,"leafHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"proof":[`+"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","+"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]}\n")...),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerifyBundle")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// swapLines swaps lines i and j (0-based) of b.
func swapLines(b []byte, i, j int) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines[i], lines[j] = lines[j], lines[i]
	return bytes.Join(lines, nil)
}
