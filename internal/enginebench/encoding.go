package enginebench

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

const valueVersion = 1

// flag bits of an encoded value
const flagDefaultDescription = 1 // description omitted: it is the catalog's

// appendValue appends the compact binary encoding of e, without the fields
// that the Pebble event key already holds (org, timestamp, sequence):
//
//	version, flags, action, role, result, source (1 byte each),
//	receivedAt - timestamp (zig-zag varint, ms), id (16 bytes),
//	then actor, repository, entity, description, details, ip, user agent,
//	each as a uvarint length and the bytes.
func appendValue(b []byte, e *event) []byte {
	var flags byte
	description := e.description
	if description == actions[e.action].description {
		flags |= flagDefaultDescription
		description = ""
	}
	b = append(b, valueVersion, flags, e.action, e.role, e.result, e.source)
	b = binary.AppendVarint(b, e.received-e.ts)
	b = append(b, e.id[:]...)
	for _, s := range [...]string{e.actor, e.repo, e.entity, description, e.details, e.ip, e.userAgent} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errCorrupt = errors.New("enginebench: corrupt value")

// decodeValue fills e's fields from an encoded value.
func decodeValue(b []byte, e *event) error {
	if len(b) < 6 || b[0] != valueVersion {
		return errCorrupt
	}
	flags := b[1]
	e.action, e.role, e.result, e.source = b[2], b[3], b[4], b[5]
	if int(e.action) >= len(actions) {
		return errCorrupt
	}
	b = b[6:]
	d, n := binary.Varint(b)
	if n <= 0 || len(b) < n+16 {
		return errCorrupt
	}
	e.received = e.ts + d
	copy(e.id[:], b[n:n+16])
	b = b[n+16:]
	for _, p := range [...]*string{&e.actor, &e.repo, &e.entity, &e.description, &e.details, &e.ip, &e.userAgent} {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errCorrupt
		}
		*p = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if flags&flagDefaultDescription != 0 {
		e.description = actions[e.action].description
	}
	return nil
}

// leafHash is the RFC 6962 leaf hash of an event: SHA-256(0x00 || leaf)
// where the leaf here stands in for the project's canonical leaf encoding
// (org, sequence, timestamp, then the value). It costs what the real one
// will: one SHA-256 over about the event's size.
func leafHash(scratch *[]byte, e *event, value []byte) [32]byte {
	b := append((*scratch)[:0], 0)
	b = binary.BigEndian.AppendUint32(b, e.org)
	b = binary.BigEndian.AppendUint64(b, e.seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
	b = append(b, value...)
	*scratch = b
	return sha256.Sum256(b)
}
