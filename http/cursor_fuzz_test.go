package http

import (
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// FuzzDecodeCursor: a cursor decodes only for the organization it was
// encoded for, back to the position it was encoded from; any other string
// is refused.
func FuzzDecodeCursor(f *testing.F) {
	s := &Server{CursorKey: []byte("fuzz cursor key")}
	acme := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	other := auditlog.OrgRef{Provider: "gh", Name: "acm"}
	f.Add(s.encodeCursor(acme, auditlog.Position{Timestamp: time.UnixMilli(1767225600000), Sequence: 42}), int64(0), int64(0))
	f.Add("", int64(1767225600000), int64(7))
	f.Fuzz(func(t *testing.T, c string, ms, seq int64) {
		// Arbitrary strings: only genuine cursors of acme decode, and they decode for acme only.
		if p, err := s.decodeCursor(acme, c); err == nil {
			if s.encodeCursor(acme, *p) != c {
				t.Fatalf("%q decoded to %+v, which is not where it came from", c, p)
			}
			if _, err := s.decodeCursor(other, c); err == nil {
				t.Fatalf("cursor %q of %s decodes for %s", c, acme, other)
			}
		} else if auditlog.ErrorCode(err) != auditlog.EINVALID {
			t.Fatalf("%q: error %v, want an invalid cursor", c, err)
		}
		// Round trip of any valid position.
		if ms < 0 || seq < 0 {
			return
		}
		ms %= 1 << 52 // within time.Time's milliseconds
		pos := auditlog.Position{Timestamp: time.UnixMilli(ms).UTC(), Sequence: seq}
		enc := s.encodeCursor(acme, pos)
		got, err := s.decodeCursor(acme, enc)
		if err != nil {
			t.Fatalf("%+v: its own cursor %q is refused: %v", pos, enc, err)
		}
		if !got.Timestamp.Equal(pos.Timestamp) || got.Sequence != pos.Sequence {
			t.Fatalf("round trip: got %+v, want %+v", got, pos)
		}
		if _, err := s.decodeCursor(other, enc); err == nil {
			t.Fatalf("cursor of %s decodes for %s", acme, other)
		}
		if _, err := s.decodeCursor(acme, enc[:len(enc)-1]+string(enc[len(enc)-1]^1)); err == nil {
			t.Fatalf("cursor %q altered in its last character still decodes", enc)
		}
	})
}
