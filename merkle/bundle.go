package merkle

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/auditlog/auditlog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// The evidence bundle is NDJSON. Its first line is a BundleHeader; each
// further line is a BundleLine, in ascending sequence order.

// BundleHeader is the first line of a bundle.
type BundleHeader struct {
	Checkpoint string `json:"checkpoint"` // the signed note
	// Complete is true when the bundle holds every retained event up to the
	// checkpoint's size (no filter was applied).
	Complete bool `json:"complete"`
}

// BundleLine is one event of a bundle with what proves it: the inclusion
// proof against the header's checkpoint, and what the leaf needs beyond the
// event's JSON: the salt of its personal fields, or, for an erased event,
// their hash.
type BundleLine struct {
	Event        *auditlog.Event `json:"event"`
	Proof        [][]byte        `json:"proof"`
	Salt         []byte          `json:"salt,omitempty"`
	PersonalHash []byte          `json:"personalHash,omitempty"`
}

// AppendBundleHeader appends the header line (with its newline) to b.
func AppendBundleHeader(b []byte, checkpoint []byte, complete bool) []byte {
	b = append(b, `{"checkpoint":`...)
	b = auditlog.AppendJSONString(b, string(checkpoint))
	if complete {
		b = append(b, `,"complete":true}`...)
	} else {
		b = append(b, `,"complete":false}`...)
	}
	return append(b, '\n')
}

// AppendBundleLine appends an event's line (with its newline) to b.
func AppendBundleLine(b []byte, e *auditlog.Event, p [][32]byte) []byte {
	b = append(b, `{"event":`...)
	b = e.AppendJSON(b)
	b = append(b, `,"proof":[`...)
	for i, h := range p {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendBase64(b, h[:])
	}
	b = append(b, ']')
	if e.Erased() {
		b = append(b, `,"personalHash":`...)
		b = appendBase64(b, e.PersonalHash)
	} else {
		b = append(b, `,"salt":`...)
		b = appendBase64(b, e.Salt)
	}
	return append(b, "}\n"...)
}

func appendBase64(b, data []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}

// BundleReport is what a verified bundle held.
type BundleReport struct {
	Origin   string
	TreeSize int64
	Events   int64
	Complete bool
}

// VerifyBundle checks a bundle offline: the checkpoint's signature by the
// verifier key, and for every event, in ascending order, that its leaf,
// recomputed from the line's content, is included in the checkpoint's tree.
// In a complete bundle the events must also run without a gap to the
// checkpoint's size. progress, if not nil, is called now and then with the
// number of events verified.
func VerifyBundle(r io.Reader, v note.Verifier, progress func(int64)) (*BundleReport, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	line, err := readLine(br)
	if err != nil {
		return nil, fmt.Errorf("bundle header: %w", err)
	}
	var hdr BundleHeader
	if err := strictUnmarshal(line, &hdr); err != nil || hdr.Checkpoint == "" {
		return nil, fmt.Errorf("bundle header: not a bundle header line: %v", err)
	}
	cp, err := OpenCheckpoint([]byte(hdr.Checkpoint), v, "")
	if err != nil {
		return nil, fmt.Errorf("bundle header: %w", err)
	}
	rep := &BundleReport{Origin: cp.Origin, TreeSize: cp.Size, Complete: hdr.Complete}
	hasher := rfc6962.DefaultHasher
	prev := int64(-1)
	for n := 2; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return rep, fmt.Errorf("line %d: %w", n, err)
		}
		var l BundleLine
		if err := strictUnmarshal(line, &l); err != nil || l.Event == nil {
			return rep, fmt.Errorf("line %d: not an event line: %v", n, err)
		}
		e := l.Event
		e.Salt, e.PersonalHash = l.Salt, l.PersonalHash
		at := fmt.Sprintf("line %d (event %d)", n, e.Sequence)
		if !strings.HasSuffix(cp.Origin, "/"+e.Organization.Provider+"/"+e.Organization.Name) {
			return rep, fmt.Errorf("%s: organization %s is not the checkpoint's log %q", at, e.Organization, cp.Origin)
		}
		if e.Sequence <= prev {
			return rep, fmt.Errorf("%s: out of order: sequence %d after %d", at, e.Sequence, prev)
		}
		if hdr.Complete && prev >= 0 && e.Sequence != prev+1 {
			return rep, fmt.Errorf("%s: gap: events %d to %d are missing from a complete bundle", at, prev+1, e.Sequence-1)
		}
		if e.Sequence >= cp.Size {
			return rep, fmt.Errorf("%s: sequence %d is beyond the checkpoint's %d events", at, e.Sequence, cp.Size)
		}
		leaf, err := e.LeafHash()
		if err != nil {
			return rep, fmt.Errorf("%s: %w", at, err)
		}
		if err := proof.VerifyInclusion(hasher, uint64(e.Sequence), uint64(cp.Size), leaf[:], l.Proof, cp.Root[:]); err != nil {
			return rep, fmt.Errorf("%s: the event does not match the signed log: its content or proof was altered (%v)", at, err)
		}
		prev = e.Sequence
		rep.Events++
		if progress != nil && rep.Events%100_000 == 0 {
			progress(rep.Events)
		}
	}
	if hdr.Complete && rep.Events > 0 && prev != cp.Size-1 {
		return rep, fmt.Errorf("incomplete: the bundle ends at event %d but the checkpoint has %d events", prev, cp.Size)
	}
	if hdr.Complete && rep.Events == 0 && cp.Size > 0 {
		return rep, fmt.Errorf("incomplete: the bundle holds no events but the checkpoint has %d", cp.Size)
	}
	return rep, nil
}

func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadBytes('\n')
	if len(line) == 0 && err != nil {
		return nil, err
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return line, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
