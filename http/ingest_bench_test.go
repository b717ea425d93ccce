package http

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/bench"
)

// benchBatch is a JSON array of n events of auditlog bench's generator
// over 100 organizations, as a host sends it.
func benchBatch(n int) []byte {
	orgs := make([]auditlog.OrgRef, 100)
	for i := range orgs {
		orgs[i] = auditlog.OrgRef{Provider: "gh", Name: fmt.Sprintf("org-%03d", i)}
	}
	return bench.NewGenerator(1, orgs, 0.5).AppendBatch(nil, time.Now(), n)
}

// BenchmarkDecodeIngest decodes a batch of 1,000 events (~330 bytes each)
// as POST /api/v1/events does before validating it: JSON array and NDJSON.
func BenchmarkDecodeIngest(b *testing.B) {
	array := benchBatch(1000)
	ndjson := bytes.ReplaceAll(bytes.Trim(array, "[]"), []byte("},{\"organization\""), []byte("}\n{\"organization\""))
	for _, tc := range []struct {
		name   string
		body   []byte
		decode func([]byte) (int, error)
	}{
		{"array", array, func(body []byte) (int, error) {
			events, bad, err := decodeJSONArray(bytes.NewReader(body))
			return len(events) - len(bad), err
		}},
		{"ndjson", ndjson, func(body []byte) (int, error) {
			events, bad, err := decodeNDJSON(bytes.NewReader(body))
			return len(events) - len(bad), err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				n, err := tc.decode(tc.body)
				if err != nil || n != 1000 {
					b.Fatalf("decoded %d good events: %v", n, err)
				}
			}
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
		})
	}
}
