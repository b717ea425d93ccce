package http

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/merkle"
)

// handleExport is a streamed download of the organization's events:
// csv or ndjson (newest first), or the evidence bundle (ascending, with proofs).
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	tok, err := s.requireReader(r, ref)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "ndjson"
	}
	f, err := s.eventFilter(r, ref)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	// A bundle proves the log as the request found it: up to the newest
	// checkpoint before the export records itself, so that whether the
	// bundle holds its own record does not depend on the signer's timing.
	var cpNote []byte
	var cpSize int64
	if format == "bundle" {
		if cpNote, cpSize, err = s.Log.LatestCheckpoint(r.Context(), ref); err != nil {
			Error(w, r, s.Logger, err)
			return
		}
	}
	if err := s.recordExport(r, ref, tok.Email, format); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	name := fmt.Sprintf("auditlog-%s-%s-%s", ref.Provider, safeFilename(ref.Name), s.Now().UTC().Format("20060102T150405Z"))
	switch format {
	case "bundle":
		s.exportBundle(w, r, ref, f.Query, cpNote, cpSize, name+".bundle.ndjson")
	case "ndjson":
		s.exportNDJSON(w, r, ref, f, name+".ndjson")
	case "csv":
		s.exportCSV(w, r, ref, f, name+".csv")
	default:
		Error(w, r, s.Logger, auditlog.Errorf(auditlog.EINVALID, "format must be csv, ndjson or bundle, got %q", truncate(format, 20)))
	}
}

// safeFilename keeps letters, digits, '.', '_' and '-' of a name for a download's file name.
func safeFilename(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-') {
			return r
		}
		return '_'
	}, name)
}

func attachment(w http.ResponseWriter, contentType, filename string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
}

func (s *Server) exportNDJSON(w http.ResponseWriter, r *http.Request, ref auditlog.OrgRef, f auditlog.EventFilter, filename string) {
	st := newJSONStream(w, r, s.Logger, "", "\n", "")
	st.contentType = "application/x-ndjson"
	st.filename = filename
	defer func() { s.metrics.readEvents.WithLabelValues(r.Pattern).Add(float64(st.n)) }()
	for e, err := range s.Events.FindEvents(r.Context(), ref, f) {
		if err != nil {
			st.fail(err)
			return
		}
		st.item(e.AppendJSON(st.buf()))
	}
	if st.n > 0 {
		st.close = "\n"
	}
	st.end()
}

// csvHeader is the CSV export's header row.
var csvHeader = []string{"sequence", "id", "timestamp", "receivedAt", "action", "actorEmail", "actorRole", "result", "source",
	"repositoryName", "entityId", "description", "details", "ipAddress", "userAgent"}

func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request, ref auditlog.OrgRef, f auditlog.EventFilter, filename string) {
	attachment(w, "text/csv; charset=utf-8", filename)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	_ = cw.Write(csvHeader)
	n := 0
	defer func() { s.metrics.readEvents.WithLabelValues(r.Pattern).Add(float64(n)) }()
	rc := http.NewResponseController(w)
	row := make([]string, len(csvHeader))
	for e, err := range s.Events.FindEvents(r.Context(), ref, f) {
		if err != nil {
			s.abort(r, err, n)
		}
		row[0], row[1] = strconv.FormatInt(e.Sequence, 10), e.ID
		row[2], row[3] = auditlog.FormatTime(e.Timestamp), auditlog.FormatTime(e.ReceivedAt)
		row[4], row[5], row[6] = e.Action, e.Actor.Email, e.Actor.Role
		row[7], row[8], row[9], row[10] = e.Result, e.Source, e.RepositoryName, e.EntityID
		row[11], row[12] = e.Description, string(e.AppendDetails(nil))
		row[13], row[14] = e.IPAddress, e.UserAgent
		for i := range row {
			row[i] = neutralizeFormula(row[i])
		}
		_ = cw.Write(row)
		if n++; n%1000 == 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(writeWindow))
		}
	}
	cw.Flush()
}

// neutralizeFormula keeps a spreadsheet from running a cell as a formula:
// a cell that starts with =, +, -, @ (or a tab or carriage return) gets a leading apostrophe.
func neutralizeFormula(v string) string {
	if v != "" {
		switch v[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + v
		}
	}
	return v
}

// exportBundle writes the evidence bundle of the checkpoint note, of size
// events: every retained event (complete), or only those q matches (not
// complete).
func (s *Server) exportBundle(w http.ResponseWriter, r *http.Request, ref auditlog.OrgRef, q *auditlog.Query, note []byte, size int64, filename string) {
	attachment(w, "application/x-ndjson", filename)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	buf := merkle.AppendBundleHeader(make([]byte, 0, 64<<10), note, q == nil)
	n := 0
	defer func() { s.metrics.readEvents.WithLabelValues(r.Pattern).Add(float64(n)) }()
	for pe, err := range s.Log.LogEvents(r.Context(), ref, size) {
		if err != nil {
			_, _ = w.Write(buf)
			s.abort(r, err, n)
		}
		switch {
		case pe.Event == nil && q == nil:
			buf = merkle.AppendPurgedLine(buf, pe.Sequence, pe.LeafHash, pe.Proof)
		case pe.Event == nil || !q.Match(pe.Event):
			continue
		default:
			buf = merkle.AppendBundleLine(buf, pe.Event, pe.Proof)
		}
		n++
		if len(buf) > 60<<10 {
			_ = rc.SetWriteDeadline(time.Now().Add(writeWindow))
			if _, err := w.Write(buf); err != nil {
				return
			}
			buf = buf[:0]
		}
	}
	_, _ = w.Write(buf)
}

// abort ends a response that has started after an error, cutting the
// connection so that the client cannot take the body for complete.
func (s *Server) abort(r *http.Request, err error, items int) {
	if r.Context().Err() == nil {
		s.Logger.Error("export failed after it started; aborting the response", "path", r.URL.Path, "items", items, "err", err)
	}
	panic(http.ErrAbortHandler)
}
