package auditlog

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewID returns a random identifier of n bytes, as 2n lower-case hex digits.
func NewID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// NewEventID returns the id the server gives an event that came without one:
// a UUID version 7 (RFC 9562) of t, so ids sort roughly by receipt and are
// unique across organizations and servers.
func NewEventID(t time.Time) string {
	var u [16]byte
	_, _ = rand.Read(u[6:])
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(u[0:6], ms[2:8])
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant 10
	return FormatUUID(u[:])
}

// FormatUUID writes 16 bytes as a canonical lower-case UUID string.
func FormatUUID(u []byte) string { return string(AppendUUID(nil, u)) }

// AppendUUID appends the canonical text of the 16-byte UUID u to b.
func AppendUUID(b, u []byte) []byte {
	b = hex.AppendEncode(b, u[0:4])
	b = append(b, '-')
	b = hex.AppendEncode(b, u[4:6])
	b = append(b, '-')
	b = hex.AppendEncode(b, u[6:8])
	b = append(b, '-')
	b = hex.AppendEncode(b, u[8:10])
	b = append(b, '-')
	return hex.AppendEncode(b, u[10:])
}
