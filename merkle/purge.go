package merkle

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// A purge note is the server's signed statement that retention removed the
// content of some events of a log (their leaves stay in the tree). An audit
// accepts an event without content only if a purge note covers it, so that
// deleting an event by hand cannot pass for retention. Its text:
//
//	auditlog purge v1
//	<origin>
//	<first>-<last>[,<first>-<last>...]   (sequence ranges, inclusive)

const purgeHeader = "auditlog purge v1"

// SeqRange is an inclusive range of sequences.
type SeqRange struct{ First, Last int64 }

// SignPurge signs a purge note for ranges of the log origin.
func SignPurge(k *Key, origin string, ranges []SeqRange) ([]byte, error) {
	if len(ranges) == 0 {
		return nil, errors.New("a purge note needs at least one range")
	}
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		parts[i] = strconv.FormatInt(r.First, 10) + "-" + strconv.FormatInt(r.Last, 10)
	}
	text := purgeHeader + "\n" + origin + "\n" + strings.Join(parts, ",") + "\n"
	return note.Sign(&note.Note{Text: text}, k.Signer)
}

// OpenPurge verifies a purge note with v and returns its ranges; the note must be of origin.
func OpenPurge(msg []byte, v note.Verifier, origin string) ([]SeqRange, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("purge note does not verify: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) != 3 || lines[0] != purgeHeader || lines[1] != origin {
		return nil, fmt.Errorf("purge note is not of %s", origin)
	}
	var out []SeqRange
	for _, p := range strings.Split(lines[2], ",") {
		a, b, ok := strings.Cut(p, "-")
		first, err1 := strconv.ParseInt(a, 10, 64)
		last, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || first < 0 || last < first {
			return nil, fmt.Errorf("purge note has a bad range %q", p)
		}
		out = append(out, SeqRange{first, last})
	}
	return out, nil
}

// Ranges turns ascending sequences into ranges.
func Ranges(seqs []int64) []SeqRange {
	var out []SeqRange
	for _, s := range seqs {
		if n := len(out); n > 0 && out[n-1].Last+1 == s {
			out[n-1].Last = s
			continue
		}
		out = append(out, SeqRange{s, s})
	}
	return out
}
