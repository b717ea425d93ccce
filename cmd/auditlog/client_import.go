package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog"
)

const importUsage = `Usage: auditlog import --codacy FILE --org PROVIDER/NAME [--batch N] [--dry-run]

Imports an organization's history from Codacy. FILE is a response body of
Codacy's listAuditLogsForOrganization
(GET /api/v3/organizations/{provider}/{remoteOrganizationName}/audit): a JSON
array of AuditLog objects (actor, action, result, timestamp, source,
repositoryName, description, details, entityId).

The file is read twice, as a stream, so that its size does not matter
(the import keeps about 32 bytes an entry in memory).
First every entry is checked: if any is invalid (an unknown action, no
timestamp, a field that AuditLog does not have, ...), each is reported with
its 0-based index and nothing is sent. Then the events are sent, oldest
first, in batches. Each event's id is derived from its content: "codacy-"
and 32 hex digits of the SHA-256 of the event in Codacy's shape (as the
service stores it), with a count to tell identical entries apart. So
importing a file again, or files that overlap, stores nothing twice, and an
import that stopped can simply be run again. Needs the admin token.
`

// maxImportErrors is how many invalid entries an import reports one by one.
const maxImportErrors = 20

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, e, cf := newClientFlagSet("import", importUsage, stderr, true)
	file := fs.String("codacy", "", "the Codacy response body (a JSON array of AuditLog) to import")
	batch := fs.Int("batch", 1000, "events per request, 1 to 10000")
	dryRun := fs.Bool("dry-run", false, "check the file only; send nothing")
	pos, err := parseArgs(fs, e, args)
	if err != nil {
		return err
	}
	ref, pos, err := cf.orgRef(pos)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *file == "" {
		fs.Usage()
		return errors.New("import needs --codacy FILE and --org, and no arguments")
	}
	if *batch < 1 || *batch > auditlog.MaxBatchEvents {
		return fmt.Errorf("--batch must be from 1 to %d, got %d", auditlog.MaxBatchEvents, *batch)
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()

	im := &codacyImport{ref: ref, batch: *batch, now: time.Now()}
	if *dryRun {
		entries, err := im.check(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s entries, all valid; nothing was sent (--dry-run)\n", *file, formatCount(int64(len(entries))))
		return nil
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if _, err := c.FindOrganization(ctx, ref); auditlog.ErrorCode(err) == auditlog.ENOTFOUND {
		return fmt.Errorf("organization %s does not exist: create it first with auditlog org put %s", ref, ref)
	} else if err != nil {
		return describe(err)
	}
	entries, err := im.check(f)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintf(stdout, "%s holds no entries: nothing to import\n", *file)
		return nil
	}
	if isTerminal(stderr) {
		im.progress = func(done, total int) {
			fmt.Fprintf(stderr, "\rimporting: %s of %s events\033[K", formatCount(int64(done)), formatCount(int64(total)))
			if done == total {
				fmt.Fprint(stderr, "\r\033[K")
			}
		}
	}
	res, err := im.send(ctx, f, entries, c)
	if err != nil {
		if res.accepted+res.duplicates > 0 {
			err = fmt.Errorf("%w\n%s events were imported before it stopped; run the import again to go on (nothing is stored twice)",
				err, formatCount(int64(res.accepted+res.duplicates)))
		}
		return err
	}
	fmt.Fprintf(stdout, "imported %s events into %s: %s new, %s already there\n",
		formatCount(int64(len(entries))), ref, formatCount(int64(res.accepted)), formatCount(int64(res.duplicates)))
	return nil
}

// codacyImport imports a Codacy response body into an organization.
type codacyImport struct {
	ref      auditlog.OrgRef
	batch    int
	now      time.Time
	progress func(done, total int) // optional
}

// codacyEntry is Codacy's AuditLog, exactly its fields.
type codacyEntry struct {
	Actor struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	} `json:"actor"`
	Action         string          `json:"action"`
	Result         string          `json:"result"`
	Timestamp      *string         `json:"timestamp"`
	Source         string          `json:"source"`
	RepositoryName string          `json:"repositoryName"`
	Description    string          `json:"description"`
	Details        json.RawMessage `json:"details"`
	EntityID       string          `json:"entityId"`
}

// entryPos is where a valid entry is in the file, and when it happened.
type entryPos struct {
	index      int   // 0-based, in the file's array
	start, end int64 // byte range, with the separator before it
	ms         int64 // timestamp, Unix milliseconds
}

// check reads the whole file as a stream and returns where its entries
// are, or an error that lists the invalid ones.
func (im *codacyImport) check(r io.Reader) ([]entryPos, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
		return nil, errors.New("not a JSON array: Codacy's listAuditLogsForOrganization answers a JSON array of AuditLog objects")
	}
	var (
		entries []entryPos
		bad     []string
		nbad    int
	)
	start := dec.InputOffset()
	for i := 0; dec.More(); i++ {
		var en codacyEntry
		err := dec.Decode(&en)
		end := dec.InputOffset()
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("entry %d: malformed JSON near byte %d: %v", i, end, err)
		}
		var e auditlog.Event
		if err == nil {
			e, err = im.event(&en)
		}
		if err != nil {
			if nbad++; len(bad) < maxImportErrors {
				bad = append(bad, fmt.Sprintf("entry %d: %s", i, entryReason(err)))
			}
		} else {
			entries = append(entries, entryPos{index: i, start: start, end: end, ms: e.Timestamp.UnixMilli()})
		}
		start = end
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("malformed JSON after entry %d: %v", len(entries)+nbad-1, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed JSON: data after the array")
	}
	if nbad > 0 {
		more := ""
		if nbad > len(bad) {
			more = fmt.Sprintf("\n  ... and %d more", nbad-len(bad))
		}
		return nil, fmt.Errorf("%d of %d entries are invalid; nothing was imported:\n  %s%s",
			nbad, nbad+len(entries), strings.Join(bad, "\n  "), more)
	}
	return entries, nil
}

// event turns an entry into the event the service will store (normalized,
// valid), without its id.
func (im *codacyImport) event(en *codacyEntry) (auditlog.Event, error) {
	if en.Timestamp == nil || *en.Timestamp == "" {
		return auditlog.Event{}, errors.New("timestamp is required")
	}
	t, err := time.Parse(time.RFC3339Nano, *en.Timestamp)
	if err != nil {
		return auditlog.Event{}, fmt.Errorf("timestamp %q is not an RFC 3339 date-time", *en.Timestamp)
	}
	e := auditlog.Event{
		Organization: im.ref, Action: en.Action, Actor: auditlog.Actor{Email: en.Actor.Email, Role: en.Actor.Role},
		Result: en.Result, Source: en.Source, Timestamp: t, RepositoryName: en.RepositoryName,
		Description: en.Description, Details: en.Details, EntityID: en.EntityID,
	}
	if string(e.Details) == "null" {
		e.Details = nil
	}
	e.Normalize(im.now)
	if err := e.Validate(im.now); err != nil {
		return e, err
	}
	return e, nil
}

// entryReason is an invalid entry's reason, without Go's words for JSON errors.
func entryReason(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := typ.Field
		if field == "" {
			field = "the entry"
		}
		return fmt.Sprintf("%s must be %s, not a JSON %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	var ae *auditlog.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(kind string) string {
	switch kind {
	case "string", "ptr":
		return "a string"
	case "struct", "map":
		return "an object"
	}
	return kind
}

// codacyID is an event's client id: derived from the event in Codacy's
// shape, as stored, and from n, how many identical events came before it.
func codacyID(e *auditlog.Event, n int) string {
	b := e.AppendCodacyJSON(make([]byte, 0, 512))
	if n > 0 {
		b = append(b, '#')
		b = strconv.AppendInt(b, int64(n+1), 10)
	}
	sum := sha256.Sum256(b)
	return "codacy-" + hex.EncodeToString(sum[:16])
}

type importResult struct{ accepted, duplicates int }

// send reads the entries again, oldest first (ties in reverse file order,
// Codacy's being newest first), and appends them in batches.
func (im *codacyImport) send(ctx context.Context, f io.ReaderAt, entries []entryPos, svc auditlog.EventService) (importResult, error) {
	var res importResult
	order := slices.Clone(entries)
	slices.SortStableFunc(order, func(a, b entryPos) int {
		return cmp.Or(cmp.Compare(a.ms, b.ms), cmp.Compare(b.index, a.index))
	})
	var (
		batch   []auditlog.Event
		indexes []int
		seen    = map[string]int{} // identical events of the current millisecond
		lastMS  = int64(-1 << 62)
		buf     []byte
		done    int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		r, err := svc.AppendEvents(ctx, batch)
		if err != nil {
			return importError(err, indexes)
		}
		res.accepted += r.Accepted
		res.duplicates += r.Duplicates
		done += len(batch)
		if im.progress != nil {
			im.progress(done, len(entries))
		}
		batch, indexes = make([]auditlog.Event, 0, im.batch), indexes[:0]
		return nil
	}
	for _, p := range order {
		buf = slices.Grow(buf[:0], int(p.end-p.start))[:p.end-p.start]
		if n, err := f.ReadAt(buf, p.start); err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
			return res, fmt.Errorf("entry %d: read: %w", p.index, err)
		}
		var en codacyEntry
		dec := json.NewDecoder(bytes.NewReader(bytes.TrimLeft(buf, " \t\r\n,")))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&en); err != nil {
			return res, fmt.Errorf("entry %d: the file changed since it was checked: %v", p.index, err)
		}
		e, err := im.event(&en)
		if err != nil {
			return res, fmt.Errorf("entry %d: the file changed since it was checked: %s", p.index, entryReason(err))
		}
		if p.ms != lastMS {
			clear(seen)
			lastMS = p.ms
		}
		key := codacyID(&e, 0)
		e.ID = codacyID(&e, seen[key])
		seen[key]++
		batch = append(batch, e)
		indexes = append(indexes, p.index)
		if len(batch) == im.batch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

// importError names the file's entries in a refused batch's details.
func importError(err error, indexes []int) error {
	bad, ok := auditlog.ErrorDetails(err).([]auditlog.EventError)
	if !ok || len(bad) == 0 {
		return describe(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the server refused %d entries; nothing of their batch was stored:", len(bad))
	for i, d := range bad {
		if i == maxImportErrors {
			fmt.Fprintf(&b, "\n  ... and %d more", len(bad)-i)
			break
		}
		entry := d.Index
		if d.Index >= 0 && d.Index < len(indexes) {
			entry = indexes[d.Index]
		}
		fmt.Fprintf(&b, "\n  entry %d: %s", entry, d.Reason)
	}
	return errors.New(b.String())
}
