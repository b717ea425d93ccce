package http

import (
	"net/http"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/query"
)

// streamRequest is the body of POST .../streams.
type streamRequest struct {
	Type    string `json:"type"`
	URL     string `json:"url"`
	Secret  string `json:"secret"`
	Subject string `json:"subject"`
	Q       string `json:"q"`
}

var errNoStreams = auditlog.Errorf(auditlog.ENOTFOUND, "streams are not available on this server")

// requireStreams checks what every stream route needs: a reader of the
// organization, on a server that delivers streams.
func (s *Server) requireStreams(r *http.Request, ref auditlog.OrgRef) (*auditlog.Token, error) {
	tok, err := s.requireReader(r, ref)
	if err != nil {
		return nil, err
	}
	if s.Streams == nil {
		return nil, errNoStreams
	}
	return tok, nil
}

// handleCreateStream is POST /api/v1/organizations/{provider}/{name}/streams:
// registers a webhook or NATS destination of the organization's new events.
func (s *Server) handleCreateStream(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	tok, err := s.requireStreams(r, ref)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	var req streamRequest
	if err := decodeBody(w, r, &req); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	st := &auditlog.Stream{Org: ref, Type: req.Type, URL: req.URL, Subject: req.Subject}
	if err := st.Validate([]byte(req.Secret)); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	if req.Q != "" {
		q, err := query.Parse(req.Q, s.Now())
		if err != nil {
			Error(w, r, s.Logger, err)
			return
		}
		st.Query = query.Format(q)
	}
	secrets := auditlog.StreamSecrets{URL: req.URL, Secret: []byte(req.Secret)}
	st.URL = auditlog.RedactURL(req.URL)
	created, err := s.Streams.CreateStream(r.Context(), st, secrets)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	// No stream exists unrecorded: if the event cannot be stored, the stream goes.
	if err := s.recordAuditorEvent(r, ref, tok.Email, "organizations.auditlogs.streams.create", created.ID, streamDetails(created)); err != nil {
		if derr := s.Streams.DeleteStream(r.Context(), ref, created.ID); derr != nil {
			s.Logger.Error("removing an unrecorded stream failed", "org", ref.String(), "stream", created.ID, "err", derr)
		}
		Error(w, r, s.Logger, err)
		return
	}
	w.Header().Set("Location", r.URL.Path+"/"+created.ID)
	writeJSON(w, http.StatusCreated, created)
}

// streamDetails are the details of the events that record a stream's creation and deletion.
func streamDetails(st *auditlog.Stream) map[string]any {
	d := map[string]any{"type": st.Type, "url": st.URL}
	if st.Subject != "" {
		d["subject"] = st.Subject
	}
	if st.Query != "" {
		d["q"] = st.Query
	}
	return d
}

// handleListStreams is GET .../streams: the organization's streams, oldest first.
func (s *Server) handleListStreams(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	if _, err := s.requireStreams(r, ref); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	list, err := s.Streams.Streams(r.Context(), ref)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	if list == nil {
		list = []*auditlog.Stream{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": list})
}

// handleGetStream is GET .../streams/{id}: one stream with its delivery status.
func (s *Server) handleGetStream(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	if _, err := s.requireStreams(r, ref); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	st, err := s.Streams.FindStream(r.Context(), ref, r.PathValue("id"))
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// handleDeleteStream is DELETE .../streams/{id}: stops and removes a stream.
func (s *Server) handleDeleteStream(w http.ResponseWriter, r *http.Request) {
	ref := orgRef(r, "name")
	tok, err := s.requireStreams(r, ref)
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	st, err := s.Streams.FindStream(r.Context(), ref, r.PathValue("id"))
	if err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	if err := s.Streams.DeleteStream(r.Context(), ref, st.ID); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	if err := s.recordAuditorEvent(r, ref, tok.Email, "organizations.auditlogs.streams.delete", st.ID, streamDetails(st)); err != nil {
		Error(w, r, s.Logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
