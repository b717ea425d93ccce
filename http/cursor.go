package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/auditlog/auditlog"
)

// Cursors are opaque to clients: a version byte, the position (timestamp
// in Unix ms, sequence), and an HMAC that binds them to the organization
// and to this server's key, so that a tampered cursor or one of another
// organization is refused rather than followed.
const cursorVersion = 1

var errBadCursor = auditlog.Errorf(auditlog.EINVALID, "invalid cursor: use the cursor of the previous page of the same organization")

func (s *Server) encodeCursor(ref auditlog.OrgRef, p auditlog.Position) string {
	b := make([]byte, 0, 17+16)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Timestamp.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Sequence))
	b = append(b, s.cursorMAC(ref, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) decodeCursor(ref auditlog.OrgRef, c string) (*auditlog.Position, error) {
	// Exactly the length encodeCursor writes: the decoder would otherwise
	// skip \r and \n, and more than one string would name the same cursor.
	if len(c) != base64.RawURLEncoding.EncodedLen(17+16) {
		return nil, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 17+16 || b[0] != cursorVersion || !hmac.Equal(b[17:], s.cursorMAC(ref, b[:17])) {
		return nil, errBadCursor
	}
	ts, seq := int64(binary.BigEndian.Uint64(b[1:9])), int64(binary.BigEndian.Uint64(b[9:17]))
	if ts < 0 || seq < 0 {
		return nil, errBadCursor
	}
	return &auditlog.Position{Timestamp: time.UnixMilli(ts).UTC(), Sequence: seq}, nil
}

func (s *Server) cursorMAC(ref auditlog.OrgRef, payload []byte) []byte {
	m := hmac.New(sha256.New, s.CursorKey)
	m.Write([]byte(ref.Provider + "/" + ref.Name + "\x00"))
	m.Write(payload)
	return m.Sum(nil)[:16]
}
