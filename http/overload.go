package http

import "github.com/auditlog/auditlog"

var errIngestBusy = auditlog.Errorf(auditlog.EUNAVAILABLE, "the server is ingesting as much as it can: send the batch again after Retry-After")

// acquireIngest takes one of the MaxInflightIngest ingest slots without
// waiting: past capacity a batch is refused at once rather than queued, so
// that memory stays bounded by the slots times the largest batch.
func (s *Server) acquireIngest() (release func(), ok bool) {
	if s.ingestSlots == nil {
		return func() {}, true
	}
	select {
	case s.ingestSlots <- struct{}{}:
		return func() { <-s.ingestSlots }, true
	default:
		return nil, false
	}
}
