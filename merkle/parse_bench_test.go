package merkle

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// benchLine is a bundle line of a realistic event with a proof of 17
// hashes, as in a log of 100,000 events.
func benchLine() []byte {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := auditlog.Event{Organization: auditlog.OrgRef{Provider: "gh", Name: "acme"}, Sequence: 12345, ID: "evt-00012345", Action: "repositories.tools.update",
		Actor: auditlog.Actor{Email: "user7@acme.example", Role: "repositoryAdmin"}, Result: "succeed", Source: "UI",
		Timestamp: t0, ReceivedAt: t0.Add(time.Millisecond),
		RepositoryName: "api-gateway", EntityID: "tool-7", Description: "Can be change parameters or disable/enable tool",
		Details: json.RawMessage(`{"tool":"eslint","enabled":false}`), IPAddress: "10.1.2.3", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
		Salt: bytes.Repeat([]byte{7}, auditlog.SaltSize)}
	return AppendBundleLine(nil, &e, make([][32]byte, 17))
}

// BenchmarkParseBundleLine reads one event line (the fast path).
func BenchmarkParseBundleLine(b *testing.B) {
	line := benchLine()
	b.SetBytes(int64(len(line)))
	var l bundleLine
	for b.Loop() {
		if n := fastBundleLine(line, true, 100_000, &l); n != len(line) {
			b.Fatal("not read by the fast path")
		}
	}
}
