package auditlog_test

import (
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// BenchmarkLeafHash hashes one prepared ~330-byte event's leaf: its
// personal hash (SHA-256 of the salt and personal fields), its leaf
// encoding and the RFC 6962 leaf hash.
func BenchmarkLeafHash(b *testing.B) {
	events, _ := benchEvents(1000)
	if err := auditlog.PrepareBatch(events, time.Now()); err != nil {
		b.Fatal(err)
	}
	for i := range events {
		events[i].ID = auditlog.NewEventID(time.Now())
		events[i].ReceivedAt = time.Now()
		events[i].Salt = auditlog.NewSalt()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := events[i%len(events)].LeafHash(); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
