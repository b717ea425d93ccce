package http

import (
	"bufio"
	"log/slog"
	"net/http"
	"time"
)

// jsonStream writes a long JSON response (an array, NDJSON) item by item in
// constant memory. Its status and headers go out with the first bytes, so an
// error before any item still becomes a proper ApiError response; an error
// after that aborts the connection, so that a client never takes a truncated
// body for a complete one.
type jsonStream struct {
	w       http.ResponseWriter
	r       *http.Request
	logger  *slog.Logger
	bw      *bufio.Writer
	rc      *http.ResponseController
	open    string
	sep     string
	close   string
	scratch []byte
	n       int
	started bool

	contentType string // default application/json
	filename    string // if set, the response is an attachment
}

// writeWindow is how long a single write of a stream may take.
const writeWindow = time.Minute

func newJSONStream(w http.ResponseWriter, r *http.Request, logger *slog.Logger, open, sep, close string) *jsonStream {
	return &jsonStream{w: w, r: r, logger: logger, rc: http.NewResponseController(w), open: open, sep: sep, close: close}
}

func (s *jsonStream) start() {
	s.started = true
	if s.contentType == "" {
		s.contentType = "application/json"
	}
	if s.filename != "" {
		attachment(s.w, s.contentType, s.filename)
	} else {
		s.w.Header().Set("Content-Type", s.contentType)
	}
	s.w.WriteHeader(http.StatusOK)
	s.bw = bufio.NewWriterSize(s.w, 32<<10)
	s.bw.WriteString(s.open)
}

// buf returns a scratch buffer to append the next item into.
func (s *jsonStream) buf() []byte { return s.scratch[:0] }

// item writes one encoded item.
func (s *jsonStream) item(b []byte) {
	if !s.started {
		s.start()
	}
	if s.n > 0 {
		s.bw.WriteString(s.sep)
	}
	if s.bw.Available() < len(b) {
		_ = s.rc.SetWriteDeadline(time.Now().Add(writeWindow))
	}
	s.bw.Write(b)
	s.scratch = b
	s.n++
}

// end closes the document.
func (s *jsonStream) end() {
	if !s.started {
		s.start()
	}
	s.bw.WriteString(s.close)
	if err := s.bw.Flush(); err != nil {
		s.logger.Debug("stream: client went away", "path", s.r.URL.Path, "err", err)
	}
}

// fail ends the response after an error.
func (s *jsonStream) fail(err error) {
	if !s.started {
		Error(s.w, s.r, s.logger, err)
		return
	}
	_ = s.bw.Flush()
	if s.r.Context().Err() == nil {
		s.logger.Error("stream failed after it started; aborting the response", "path", s.r.URL.Path, "items", s.n, "err", err)
	}
	panic(http.ErrAbortHandler)
}
