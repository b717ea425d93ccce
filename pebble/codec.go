package pebble

import (
	"encoding/binary"
	"errors"
	"time"
	"unsafe"

	"github.com/auditlog/auditlog"
)

// The value of an event key, version 1. The organization, timestamp and
// sequence are in the key. Fields in order:
//
//	byte     codec version (1)
//	uvarint  action code (auditlog.ActionCode)
//	byte     flags: bits 0-1 result, bit 2 source API, bit 3 id is a UUID (16 raw bytes),
//	         bit 4 description is the catalog's, bit 5 personal fields erased
//	byte     actor role code (index in roleCodes)
//	varint   receivedAt - timestamp, in milliseconds
//	personal 16 bytes: the salt of the personal fields, or, if erased, 32 bytes: their hash
//	id       16 bytes if flagUUID, else a string
//	strings  actor email, repositoryName, entityId, [description], details, ipAddress, userAgent
//
// A string is a uvarint length followed by its bytes.
const codecVersion = 1

const (
	flagResultMask  = 0x03
	flagSourceAPI   = 0x04
	flagUUID        = 0x08
	flagDefaultDesc = 0x10
	flagErased      = 0x20
)

var resultCodes = []string{auditlog.ResultSucceed, auditlog.ResultFailed, auditlog.ResultRejected}

var roleCodes = []string{"", auditlog.RoleRepositoryRead, auditlog.RoleRepositoryWrite, auditlog.RoleRepositoryAdmin,
	auditlog.RoleOrganizationMember, auditlog.RoleOrganizationAdmin, auditlog.RoleOrganizationManager}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// encodeEvent appends the value encoding of a validated, normalized event to b.
func encodeEvent(b []byte, e *auditlog.Event) []byte {
	action, _ := auditlog.ActionCode(e.Action)
	def, _ := auditlog.LookupAction(e.Action)
	var flags byte = byte(indexOf(resultCodes, e.Result))
	if e.Source == auditlog.SourceAPI {
		flags |= flagSourceAPI
	}
	uuid, isUUID := parseUUID(e.ID)
	if isUUID {
		flags |= flagUUID
	}
	if e.Description == def.Description {
		flags |= flagDefaultDesc
	}
	personal := e.Salt
	if e.Erased() {
		flags |= flagErased
		personal = e.PersonalHash
	} else if len(personal) != auditlog.SaltSize {
		panic("pebble: encoding an event without a salt")
	}
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(action))
	b = append(b, flags, byte(indexOf(roleCodes, e.Actor.Role)))
	b = binary.AppendVarint(b, e.ReceivedAt.UnixMilli()-e.Timestamp.UnixMilli())
	b = append(b, personal...)
	if isUUID {
		b = append(b, uuid[:]...)
	} else {
		b = appendString(b, e.ID)
	}
	b = appendString(b, e.Actor.Email)
	b = appendString(b, e.RepositoryName)
	b = appendString(b, e.EntityID)
	if flags&flagDefaultDesc == 0 {
		b = appendString(b, e.Description)
	}
	b = appendString(b, string(e.Details))
	b = appendString(b, e.IPAddress)
	return appendString(b, e.UserAgent)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errCorrupt = errors.New("corrupt event encoding")

// decodeEvent fills e from an event key's parts and its value.
//
// The event's strings and byte slices share one copy of v, with room after
// it for a UUID id's text: one allocation per event instead of one per field.
func decodeEvent(e *auditlog.Event, ts, seq int64, v []byte) error {
	own := make([]byte, len(v), len(v)+36)
	copy(own, v)
	d := decoder{b: own}
	if d.byte() != codecVersion {
		return errCorrupt
	}
	action, ok := auditlog.ActionByCode(int(d.uvarint()))
	flags, role := d.byte(), int(d.byte())
	delta := d.varint()
	if !ok || int(flags&flagResultMask) >= len(resultCodes) || role >= len(roleCodes) {
		return errCorrupt
	}
	e.Sequence = seq
	e.Action = action.Name
	e.Result = resultCodes[flags&flagResultMask]
	e.Source = auditlog.SourceUI
	if flags&flagSourceAPI != 0 {
		e.Source = auditlog.SourceAPI
	}
	e.Actor.Role = roleCodes[role]
	e.Timestamp = time.UnixMilli(ts).UTC()
	e.ReceivedAt = time.UnixMilli(ts + delta).UTC()
	e.Salt, e.PersonalHash = nil, nil
	if flags&flagErased != 0 {
		e.PersonalHash = d.bytes(32)
	} else {
		e.Salt = d.bytes(auditlog.SaltSize)
	}
	if flags&flagUUID != 0 {
		if u := d.bytes(16); u != nil { // nil if truncated: d.err is set
			e.ID = unsafeString(auditlog.AppendUUID(own[len(v):], u)) // in own's spare room
		}
	} else {
		e.ID = d.string()
	}
	e.Actor.Email = d.string()
	e.RepositoryName = d.string()
	e.EntityID = d.string()
	e.Description = action.Description
	if flags&flagDefaultDesc == 0 {
		e.Description = d.string()
	}
	e.Details = nil
	if details := d.bytes(int(d.uvarint())); len(details) > 0 {
		e.Details = details
	}
	e.IPAddress = d.string()
	e.UserAgent = d.string()
	if d.err {
		return errCorrupt
	}
	return nil
}

type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next n bytes, capped so that appending to them copies.
func (d *decoder) bytes(n int) []byte {
	if n < 0 || len(d.b) < n {
		d.err = true
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

// string returns the next length-prefixed string. It shares the decoder's
// bytes, which decodeEvent copied for the event and never writes again.
func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = true
		return ""
	}
	return unsafeString(d.bytes(int(n)))
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseUUID parses s if it is a UUID in canonical lower-case form, which is
// then stored as its 16 bytes.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 { // the dashes, checked above; digits everywhere else
			i++
			continue
		}
		hi, lo := unhex(s[i]), unhex(s[i+1])
		if hi < 0 || lo < 0 {
			return u, false
		}
		u[j] = byte(hi<<4 | lo)
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1 // upper case is not canonical: kept as a plain string
}

// valueAction returns the action code of an encoded event value.
func valueAction(v []byte) (int, bool) {
	if len(v) < 2 || v[0] != codecVersion {
		return 0, false
	}
	code, n := binary.Uvarint(v[1:])
	return int(code), n > 0
}
