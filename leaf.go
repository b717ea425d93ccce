package auditlog

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// LeafVersion is the version of the leaf encoding that Leaf writes. The
// encoding is a format customers keep for years: docs/leaf-encoding.md
// defines it, and testdata/leaf-vectors.json holds the code to it.
const LeafVersion = 1

// SaltSize is the size of the random salt of an event's personal fields.
const SaltSize = 16

// Redacted is what erased personal fields read.
const Redacted = "redacted"

// NewSalt returns a fresh random salt for an event's personal fields.
func NewSalt() []byte {
	b := make([]byte, SaltSize)
	_, _ = rand.Read(b) // never fails on supported platforms
	return b
}

// PersonalHash commits to an event's personal fields (actor email, IP
// address, user agent) under a salt. The leaf holds only this hash, so that
// erasing the values and the salt leaves the leaf, and so the tree, intact,
// while the salt keeps the values from being guessed from the hash.
func PersonalHash(salt []byte, email, ip, userAgent string) [32]byte {
	var buf [256]byte // on the stack, unless the values are longer
	return sha256.Sum256(AppendPersonal(buf[:0], salt, email, ip, userAgent))
}

// AppendPersonal appends to b the bytes that PersonalHash hashes.
func AppendPersonal(b, salt []byte, email, ip, userAgent string) []byte {
	const domain = "auditlog personal v1\x00"
	b = append(b, domain...)
	b = append(b, salt...)
	b = appendLeafString(b, email)
	b = appendLeafString(b, ip)
	return appendLeafString(b, userAgent)
}

// Personal returns the event's personal hash: computed from its salt and
// values, or, for an erased event, the hash kept in their place.
func (e *Event) Personal() ([32]byte, error) {
	var out [32]byte
	switch {
	case len(e.Salt) == SaltSize:
		return PersonalHash(e.Salt, e.Actor.Email, e.IPAddress, e.UserAgent), nil
	case len(e.PersonalHash) == 32:
		copy(out[:], e.PersonalHash)
		return out, nil
	}
	return out, errors.New("event has neither a salt nor a personal hash")
}

// Leaf returns the event's leaf in its organization's Merkle tree, in
// encoding version 1:
//
//	leaf     = 0x01 organization.provider organization.name id action
//	           timestamp receivedAt result source actor.role
//	           repositoryName entityId description details personal
//	string   = length (uint32, big-endian) followed by its UTF-8 bytes
//	time     = Unix milliseconds (int64, big-endian)
//	details  = the stored compact JSON object, or the empty string
//	personal = 32 bytes: PersonalHash(salt, actor.email, ipAddress, userAgent)
//
// The sequence is not in the leaf: it is the leaf's position in the tree.
func (e *Event) Leaf() ([]byte, error) {
	personal, err := e.Personal()
	if err != nil {
		return nil, err
	}
	return e.AppendLeaf(make([]byte, 0, 160+len(e.Details)+len(e.Description)), personal), nil
}

// AppendLeaf appends the leaf encoding of e, with the given personal hash, to b.
func (e *Event) AppendLeaf(b []byte, personal [32]byte) []byte {
	b = append(b, LeafVersion)
	b = appendLeafString(b, e.Organization.Provider)
	b = appendLeafString(b, e.Organization.Name)
	b = appendLeafString(b, e.ID)
	b = appendLeafString(b, e.Action)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Timestamp.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.ReceivedAt.UnixMilli()))
	b = appendLeafString(b, e.Result)
	b = appendLeafString(b, e.Source)
	b = appendLeafString(b, e.Actor.Role)
	b = appendLeafString(b, e.RepositoryName)
	b = appendLeafString(b, e.EntityID)
	b = appendLeafString(b, e.Description)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Details))) // a string, as appendLeafString writes it
	b = append(b, e.Details...)
	return append(b, personal[:]...)
}

// LeafHash returns the RFC 6962 leaf hash of the event: SHA-256(0x00 || leaf).
func (e *Event) LeafHash() ([32]byte, error) {
	personal, err := e.Personal()
	if err != nil {
		return [32]byte{}, err
	}
	var buf [512]byte                               // on the stack, unless the event is larger
	b := e.AppendLeaf(append(buf[:0], 0), personal) // 0x00, the RFC 6962 leaf prefix
	return sha256.Sum256(b), nil
}

func appendLeafString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// Erase replaces the event's personal fields by Redacted and keeps, in place
// of the salt, the personal hash the leaf needs.
func (e *Event) Erase() error {
	personal, err := e.Personal()
	if err != nil {
		return err
	}
	e.PersonalHash = personal[:]
	e.Salt = nil
	e.Actor.Email = Redacted
	if e.IPAddress != "" {
		e.IPAddress = Redacted
	}
	if e.UserAgent != "" {
		e.UserAgent = Redacted
	}
	return nil
}

// Erased reports whether the event's personal fields were erased.
func (e *Event) Erased() bool { return len(e.Salt) == 0 && len(e.PersonalHash) == 32 }
