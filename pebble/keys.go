package pebble

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// The key space. Every key starts with one prefix byte; org is an organization's
// internal 4-byte id, assigned at creation; ts is a timestamp in Unix
// milliseconds and seq a sequence number, both 8 bytes big-endian so that byte
// order is numeric order; email* is emailKey(email). See docs/adr/0001-embedded-storage.md.
const (
	prefixMeta    = 0x01 // 0x01|name                 -> meta value (format version, org counter)
	prefixEvent   = 'E'  // E|org|ts|seq              -> encoded event (codec.go)
	prefixSeq     = 'S'  // S|org|seq                 -> ts, leaf hash check, the tlog stored hashes this leaf added (seqvalue.go)
	prefixID      = 'I'  // I|org|kind|id             -> seq (uvarint): idempotent ids (idKey)
	prefixActor   = 'a'  // a|org|email*|maxTs|seq     -> postings: events by actor (erasure, search; postings.go)
	prefixAction  = 'x'  // x|org|action|maxTs|seq     -> postings: events by action code (search; postings.go)
	prefixCheckpt = 'C'  // C|org|size                -> signed checkpoint note of that tree size
	prefixOrgName = 'n'  // n|provider|0x00|name      -> org
	prefixOrg     = 'o'  // o|org                     -> organization (JSON)
	prefixMember  = 'm'  // m|org|email*              -> member (JSON)
	prefixUserOrg = 'u'  // u|email*|org              -> nothing: a user's organizations
	prefixToken   = 'k'  // k|sha256(secret)          -> token (JSON)
	prefixUserTok = 'K'  // K|email*|id               -> sha256(secret)
	prefixStream  = 's'  // s|org|id                  -> stream (JSON, secrets sealed: streams.go)
	prefixStrStat = 'c'  // c|org|id                  -> stream delivery status (JSON): its cursor
)

var (
	metaFormat     = []byte{prefixMeta, 'f'}
	metaOrgCounter = []byte{prefixMeta, 'o'}
)

// formatVersion is the version of this key layout and codec; Open refuses
// other versions. Version 2 keeps only the leading bytes of a stored event's
// leaf hash (seqvalue.go) and UUID ids as their 16 bytes in id keys; version
// 3 holds the actor and action indexes as postings, a key per group commit
// rather than per event (postings.go).
const formatVersion = 3

func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func eventKey(org uint32, ts, seq int64) []byte {
	b := make([]byte, 0, 21)
	b = append(b, prefixEvent)
	b = appendU32(b, org)
	b = appendU64(b, uint64(ts))
	return appendU64(b, uint64(seq))
}

// parseEventKey returns the timestamp and sequence of an event key.
func parseEventKey(k []byte) (ts, seq int64) {
	return int64(binary.BigEndian.Uint64(k[5:13])), int64(binary.BigEndian.Uint64(k[13:21]))
}

func seqKey(org uint32, seq int64) []byte {
	b := make([]byte, 0, 13)
	b = append(b, prefixSeq)
	b = appendU32(b, org)
	return appendU64(b, uint64(seq))
}

// The kinds of id keys: a canonical lower-case UUID, as the server assigns
// them, is stored as its 16 bytes, any other id as its text.
const (
	idKindUUID   = 'u'
	idKindString = 's'
)

func idKey(org uint32, id string) []byte {
	b := make([]byte, 0, 6+len(id))
	b = append(b, prefixID)
	b = appendU32(b, org)
	if u, ok := parseUUID(id); ok {
		return append(append(b, idKindUUID), u[:]...)
	}
	return append(append(b, idKindString), id...)
}

// orgPrefixEnd is the first key after every key of org under prefix.
func orgPrefixEnd(prefix byte, org uint32) []byte {
	if org == math.MaxUint32 {
		return []byte{prefix + 1}
	}
	return appendU32([]byte{prefix}, org+1)
}

func orgNameKey(provider, name string) []byte {
	b := make([]byte, 0, 2+len(provider)+len(name))
	b = append(b, prefixOrgName)
	b = append(b, provider...)
	b = append(b, 0)
	return append(b, name...)
}

func orgKey(org uint32) []byte { return appendU32([]byte{prefixOrg}, org) }

// emailKey is how an email appears in keys: a 16-byte hash. Pebble keeps the
// first and last key of every table in its MANIFEST, which compactions do not
// rewrite, so an email in a key would outlive its erasure there.
func emailKey(email string) []byte {
	h := sha256.Sum256([]byte("auditlog email v1\x00" + email))
	return h[:16]
}

func memberKey(org uint32, email string) []byte {
	return append(appendU32([]byte{prefixMember}, org), emailKey(email)...)
}

func userOrgKey(email string, org uint32) []byte {
	return appendU32(userOrgPrefix(email), org)
}

func userOrgPrefix(email string) []byte {
	return append([]byte{prefixUserOrg}, emailKey(email)...)
}

func tokenKey(hash [32]byte) []byte { return append([]byte{prefixToken}, hash[:]...) }

func userTokenKey(email, id string) []byte {
	return append(userTokenPrefix(email), id...)
}

func userTokenPrefix(email string) []byte {
	return append([]byte{prefixUserTok}, emailKey(email)...)
}

func streamKey(org uint32, id string) []byte {
	return append(appendU32([]byte{prefixStream}, org), id...)
}

func streamStatusKey(org uint32, id string) []byte {
	return append(appendU32([]byte{prefixStrStat}, org), id...)
}

// prefixEnd returns the smallest key greater than every key that starts with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

func parseSeqKey(k []byte) (org uint32, seq int64) {
	return binary.BigEndian.Uint32(k[1:5]), int64(binary.BigEndian.Uint64(k[5:13]))
}

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func uvarint(b []byte) (uint64, int) { return binary.Uvarint(b) }

func actorPrefix(org uint32, email string) []byte {
	b := make([]byte, 0, 37)
	b = append(b, prefixActor)
	b = appendU32(b, org)
	return append(b, emailKey(email)...)
}

func checkpointKey(org uint32, size int64) []byte {
	b := make([]byte, 0, 13)
	b = append(b, prefixCheckpt)
	b = appendU32(b, org)
	return appendU64(b, uint64(size))
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func beUint32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func actionPrefix(org uint32, code int) []byte {
	b := make([]byte, 0, 22)
	b = append(b, prefixAction)
	b = appendU32(b, org)
	return append(b, byte(code))
}
