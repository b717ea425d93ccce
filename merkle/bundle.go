package merkle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/mapfile"
	"github.com/auditlog/auditlog/internal/sha256mb"
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
	Event        *auditlog.Event `json:"event,omitempty"`
	Purged       *PurgedEvent    `json:"purged,omitempty"`
	Proof        [][]byte        `json:"proof"`
	Salt         []byte          `json:"salt,omitempty"`
	PersonalHash []byte          `json:"personalHash,omitempty"`
}

// PurgedEvent stands in a bundle for an event that retention purged: its
// content is gone, its leaf hash is still proven in the tree.
type PurgedEvent struct {
	Sequence int64  `json:"sequence"`
	LeafHash []byte `json:"leafHash"`
}

// AppendPurgedLine appends the line (with its newline) of a purged event to b.
func AppendPurgedLine(b []byte, seq int64, leaf [32]byte, p [][32]byte) []byte {
	b = append(b, `{"purged":{"sequence":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"leafHash":`...)
	b = appendBase64(b, leaf[:])
	b = append(b, `},"proof":[`...)
	b = appendProofText(b, p)
	return append(b, "]}\n"...)
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
	b = appendProofText(b, p)
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
	Events   int64 // events verified with their content
	Purged   int64 // events purged by retention, whose leaves were verified
	Complete bool
}

// VerifyBundle checks a bundle offline: the checkpoint's signature by the
// verifier key, and for every event, in ascending order, that its leaf,
// recomputed from the line's content, is in the checkpoint's tree by its
// inclusion proof. In a complete bundle the events must also run without a
// gap to the checkpoint's size. The error names the first line that fails.
// progress, if not nil, is called now and then with the events verified.
func VerifyBundle(r io.Reader, v note.Verifier, progress func(int64)) (*BundleReport, error) {
	return verifyLines(newLineReader(r, lineBuffer), v, progress)
}

// VerifyBundleBytes is VerifyBundle of a bundle in memory, read where it is.
func VerifyBundleBytes(data []byte, v note.Verifier, progress func(int64)) (*BundleReport, error) {
	return verifyLines(newBytesLineReader(data), v, progress)
}

// VerifyBundleFile is VerifyBundle of the bundle in f. A regular file is
// mapped into memory (mapfile) and verified where the page cache holds it,
// which spares copying its bytes, and released behind the verifier, so that
// its resident memory does not grow with the file; any other file (a pipe)
// is read as a stream.
func VerifyBundleFile(f *os.File, v note.Verifier, progress func(int64)) (*BundleReport, error) {
	m, err := mapfile.Map(f)
	if err != nil {
		return VerifyBundle(f, v, progress) // Map has read nothing
	}
	defer m.Close()
	lr := newBytesLineReader(m.Data)
	lr.release = func(n int) { _ = m.Release(n) } // advice: its failure changes nothing
	var rep *BundleReport
	err = m.Guard(func() (err error) {
		rep, err = verifyLines(lr, v, progress)
		return err
	})
	if err != nil && !errors.Is(err, mapfile.ErrFault) && m.Shrunk(f) {
		// It failed on the zeros that stand past the new end in its last page.
		err = fmt.Errorf("%w (%v)", mapfile.ErrFault, err)
	}
	return rep, err
}

func verifyLines(lr *lineReader, v note.Verifier, progress func(int64)) (*BundleReport, error) {
	line, err := lr.line()
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
	bv := &bundleVerifier{rep: rep, paths: newInclusionPaths(cp.Size, cp.Root), progress: progress}
	lr.moving = bv.paths.detach
	var l bundleLine
	var org auditlog.OrgRef // the organization of the lines so far, checked against the origin
	orgChecked := false
	prev := int64(-1)
	for n := 2; ; n++ {
		// The lines of a batch share the read buffer: they are verified
		// before it moves.
		if lr.willMove() && len(bv.pending) > 0 {
			if err := bv.flush(); err != nil {
				return rep, err
			}
		}
		data := lr.next()
		lr.prefetch()
		atEOF := lr.eof
		if len(data) == 0 && atEOF {
			break
		}
		if m := fastBundleLine(data, atEOF, cp.Size, &l); m > 0 {
			lr.advance(m)
		} else if err := bv.flush(); err != nil {
			return rep, err
		} else if line, err := lr.line(); err != nil {
			return rep, fmt.Errorf("line %d: %w", n, err)
		} else if err := parseBundleLine(line, &l); err != nil {
			return rep, fmt.Errorf("line %d: not an event line: %v", n, err)
		}
		if l.purged {
			if err := inOrder(l.sequence, prev, cp.Size, hdr.Complete); err != nil {
				return rep, bv.fail(fmt.Errorf("line %d (purged event %d): %w", n, l.sequence, err))
			}
			if err := bv.addPurged(n, &l); err != nil {
				return rep, err
			}
			prev = l.sequence
			continue
		}
		e := &l.event
		at := func(format string, args ...any) error {
			return bv.fail(fmt.Errorf("line %d (event %d): %s", n, e.Sequence, fmt.Sprintf(format, args...)))
		}
		if !orgChecked || e.Organization != org {
			if !originNames(cp.Origin, e.Organization) {
				return rep, at("organization %s is not the checkpoint's log %q", e.Organization, cp.Origin)
			}
			// e's strings share the line's memory; org outlives it.
			org = auditlog.OrgRef{Provider: strings.Clone(e.Organization.Provider), Name: strings.Clone(e.Organization.Name)}
			orgChecked = true
		}
		if err := inOrder(e.Sequence, prev, cp.Size, hdr.Complete); err != nil {
			return rep, at("%v", err)
		}
		if err := checkPersonal(e); err != nil {
			return rep, at("%v", err)
		}
		if err := bv.addEvent(n, &l); err != nil {
			return rep, err
		}
		prev = e.Sequence
	}
	if err := bv.flush(); err != nil {
		return rep, err
	}
	switch {
	case !hdr.Complete || prev == cp.Size-1:
	case prev < 0:
		return rep, fmt.Errorf("incomplete: the bundle holds no events but the checkpoint has %d", cp.Size)
	default:
		return rep, fmt.Errorf("incomplete: the bundle ends at event %d but the checkpoint has %d events", prev, cp.Size)
	}
	return rep, nil
}

// bundleVerifier verifies a bundle's lines in batches: it hashes the
// personal values of a batch's events together, then their leaves, then
// their proofs' nodes, level by level (sha256mb), and checks each line in
// order. A line's error comes after every earlier line's.
type bundleVerifier struct {
	rep      *BundleReport
	paths    *inclusionPaths
	progress func(int64)
	pending  []pendingLine
	personal sha256mb.Batch // the personal values of the events with a salt
	leaves   sha256mb.Batch // 0x00 and the leaf of each event
}

// pendingLine is a line waiting in a batch.
type pendingLine struct {
	line     int
	seq      int64
	purged   bool
	c        *chain
	leaf     int // its message in leaves; or, purged, -1 and c.nodes[0] is set
	personal int // its message in personal, or -1
}

// batchLines is how many lines a batch holds: where sha256mb hashes
// messages together, 256, enough for the upper levels' nodes to fill
// sixteen lanes (with two, 256 lines were verified 1.06 times as fast as
// 32: BenchmarkVerifyBundleBatch); where it hashes one at a time, a line, as a batch would only move
// the lines out of the processor's cache before they are checked.
var batchLines = func() int {
	if sha256mb.Lanes() > 1 {
		return 256
	}
	return 1
}()

// addEvent queues an event's line, which has passed every check but those
// that need its hashes.
func (bv *bundleVerifier) addEvent(n int, l *bundleLine) error {
	e := &l.event
	c, err := bv.paths.add(uint64(e.Sequence), l.proof)
	if err != nil {
		return bv.fail(notInLog(n, e.Sequence, false))
	}
	p := pendingLine{line: n, seq: e.Sequence, c: c, personal: -1}
	var personal [32]byte
	if len(e.Salt) > 0 {
		bv.personal.Buf = auditlog.AppendPersonal(bv.personal.Buf, e.Salt, e.Actor.Email, e.IPAddress, e.UserAgent)
		p.personal = bv.personal.End()
	} else {
		personal = [32]byte(e.PersonalHash) // checkPersonal has checked its length
	}
	bv.leaves.Buf = e.AppendLeaf(append(bv.leaves.Buf, 0), personal) // 0x00, the RFC 6962 leaf prefix
	p.leaf = bv.leaves.End()
	return bv.queue(p)
}

// addPurged queues a purged event's line.
func (bv *bundleVerifier) addPurged(n int, l *bundleLine) error {
	c, err := bv.paths.add(uint64(l.sequence), l.proof)
	if err != nil {
		return bv.fail(notInLog(n, l.sequence, true))
	}
	c.nodes = append(c.nodes[:0], l.leafHash)
	return bv.queue(pendingLine{line: n, seq: l.sequence, purged: true, c: c, leaf: -1, personal: -1})
}

// queue adds a line to the batch, and verifies the batch once it is full.
func (bv *bundleVerifier) queue(p pendingLine) error {
	bv.pending = append(bv.pending, p)
	if len(bv.pending) == batchLines {
		return bv.flush()
	}
	return nil
}

// notInLog is the error of line n, of the event of sequence seq, when its
// leaf or proof does not lead to the signed root.
func notInLog(n int, seq int64, purged bool) error {
	if purged {
		return fmt.Errorf("line %d (purged event %d): its leaf is not in the signed log", n, seq)
	}
	return fmt.Errorf("line %d (event %d): does not match the signed log: its content or its proof was altered", n, seq)
}

// fail returns the error of a line that failed before it was queued, unless
// a line queued before it fails: that one's error comes first.
func (bv *bundleVerifier) fail(err error) error {
	if ferr := bv.flush(); ferr != nil {
		return ferr
	}
	return err
}

// flush hashes and checks the queued lines, in order.
func (bv *bundleVerifier) flush() error {
	if len(bv.pending) == 0 {
		return nil
	}
	bv.personal.Sum()
	for _, p := range bv.pending {
		if p.personal >= 0 {
			m := bv.leaves.Message(p.leaf)
			h := bv.personal.Hash(p.personal)
			copy(m[len(m)-len(h):], h[:])
		}
	}
	bv.leaves.Sum()
	for _, p := range bv.pending {
		if p.leaf >= 0 {
			p.c.nodes = append(p.c.nodes[:0], bv.leaves.Hash(p.leaf))
		}
	}
	bv.paths.hash()
	pending := bv.pending
	bv.pending = bv.pending[:0]
	bv.personal.Reset()
	bv.leaves.Reset()
	for _, p := range pending {
		if err := bv.paths.check(); err != nil {
			return notInLog(p.line, p.seq, p.purged)
		}
		if p.purged {
			bv.rep.Purged++
			continue
		}
		bv.rep.Events++
		if bv.progress != nil && bv.rep.Events%100_000 == 0 {
			bv.progress(bv.rep.Events)
		}
	}
	return nil
}

// inOrder checks that sequence seq may follow prev in a bundle of a
// checkpoint of size events: ascending, and in a complete bundle without a gap.
func inOrder(seq, prev, size int64, complete bool) error {
	switch {
	case seq <= prev:
		return fmt.Errorf("out of order: sequence %d after %d", seq, prev)
	case complete && seq != prev+1: // the first is event 0
		return fmt.Errorf("gap: events %d to %d are missing from a complete bundle", prev+1, seq-1)
	case seq >= size:
		return fmt.Errorf("sequence %d is beyond the checkpoint's %d events", seq, size)
	}
	return nil
}

// originNames reports whether a checkpoint's origin names the organization's log.
func originNames(origin string, ref auditlog.OrgRef) bool {
	return strings.HasSuffix(origin, "/"+ref.Provider+"/"+ref.Name)
}

// checkPersonal holds a line to one of its two forms: a salt that commits
// to the personal values shown, or, for an erased event, their hash and
// nothing but "redacted" (or empty) values, since nothing commits to them.
func checkPersonal(e *auditlog.Event) error {
	switch {
	case len(e.Salt) > 0 && len(e.PersonalHash) > 0:
		return errors.New("the line has both a salt and a personal hash")
	case len(e.Salt) > 0:
		if len(e.Salt) != auditlog.SaltSize {
			return fmt.Errorf("the salt is not %d bytes", auditlog.SaltSize)
		}
		return nil
	case len(e.PersonalHash) != 32:
		return errors.New("the line has neither a salt nor a 32-byte personal hash")
	}
	redacted := func(v string) bool { return v == auditlog.Redacted || v == "" }
	if e.Actor.Email != auditlog.Redacted || !redacted(e.IPAddress) || !redacted(e.UserAgent) {
		return errors.New(`an erased event (personal hash, no salt) must show "redacted" for its actor email, IP address and user agent`)
	}
	return nil
}

// strictUnmarshal reads the one JSON value of b into v: no field v lacks,
// and nothing after the value but white space.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}
