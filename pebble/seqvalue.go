package pebble

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/auditlog/auditlog"
	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// The value of a sequence key S|org|seq (format version 2):
//
//	ts      8 bytes, big-endian: the event's timestamp, which locates its event key
//	leaf    while the event is stored: the first leafCheckSize bytes of its leaf hash;
//	        once retention purged it: its whole leaf hash (32 bytes)
//	hashes  32 bytes for each subtree the leaf completed: the tlog stored hashes
//	        of levels 1 and up that its append added to the tree
//	mark    purgedMark, once retention purged the event
//
// The leaf hash of a stored event is not kept: it is recomputed from the
// event, which is all it commits to, and 32 random bytes per event were a
// sixth of the store. Its first bytes are kept so that an event changed in
// place is named by the audit, not only found through the tree above it.
const leafCheckSize = 4

// purgedMark ends the sequence key's value of an event that retention
// purged (retention.go); its leaf hash stands in for it in the tree.
const purgedMark = 'P'

// seqValue is a parsed sequence key value.
type seqValue struct {
	ts     int64
	leaf   []byte // leafCheckSize bytes, or the whole leaf hash if purged; shorter if missing
	upper  []byte // the stored hashes of levels 1 and up
	purged bool
}

// parseSeqValue splits a sequence key's value; it reports false if the
// value is too short to hold a timestamp.
func parseSeqValue(v []byte) (seqValue, bool) {
	if len(v) < 8 {
		return seqValue{}, false
	}
	s := seqValue{ts: int64(beUint64(v))}
	rest := v[8:]
	leafLen := leafCheckSize
	if len(rest)%tlog.HashSize == 1 && rest[len(rest)-1] == purgedMark {
		s.purged, rest, leafLen = true, rest[:len(rest)-1], tlog.HashSize
	}
	leafLen = min(leafLen, len(rest))
	s.leaf, s.upper = rest[:leafLen], rest[leafLen:]
	return s, true
}

// appendStoredHashes appends to the value of a stored event's sequence key,
// after its timestamp, the stored hashes its leaf added (leaf hash first, as
// tlog.StoredHashesForRecordHash returns them).
func appendStoredHashes(b []byte, hashes []tlog.Hash) []byte {
	b = append(b, hashes[0][:leafCheckSize]...)
	for _, h := range hashes[1:] {
		b = append(b, h[:]...)
	}
	return b
}

// purgedSeqValue returns the value of a sequence key once retention purged
// its event, whose leaf hash is leaf.
func purgedSeqValue(s seqValue, leaf [32]byte) []byte {
	b := appendU64(make([]byte, 0, 8+tlog.HashSize+len(s.upper)+1), uint64(s.ts))
	b = append(b, leaf[:]...)
	b = append(b, s.upper...)
	return append(b, purgedMark)
}

var (
	errLeafMissing = errors.New("its stored leaf hash is missing")
	errLeafDiffers = errors.New("its content differs from what was logged (the recomputed leaf hash does not match the stored one)")
)

// leafHash returns the leaf hash of the event of s: the stored one if
// retention purged it, else the hash of e, checked against the stored
// leading bytes.
func (s seqValue) leafHash(e *auditlog.Event) ([32]byte, error) {
	if s.purged {
		if len(s.leaf) < tlog.HashSize {
			return [32]byte{}, errLeafMissing
		}
		return [32]byte(s.leaf), nil
	}
	if len(s.leaf) < leafCheckSize {
		return [32]byte{}, errLeafMissing
	}
	h, err := e.LeafHash()
	if err != nil {
		return h, err
	}
	if subtle.ConstantTimeCompare(h[:leafCheckSize], s.leaf) != 1 {
		return h, errLeafDiffers
	}
	return h, nil
}

// treeHashes returns the stored hashes leaf seq added to the tree, leaf hash
// first, as merkle.LogAuditor and merkle.HashCache take them.
func (s seqValue) treeHashes(leaf [32]byte) []byte {
	return append(append(make([]byte, 0, tlog.HashSize+len(s.upper)), leaf[:]...), s.upper...)
}

// readHash reads one stored hash of an organization's tree. The stored
// hashes of levels 1 and up are in the value of the sequence key of the
// leaf whose append completed them; a leaf hash is recomputed from its event
// (seqvalue.go).
func (db *DB) readHash(org uint32, ref auditlog.OrgRef, index int64) (tlog.Hash, error) {
	var h tlog.Hash
	level, n := tlog.SplitStoredHashIndex(index)
	leaf := (n+1)<<level - 1 // the leaf whose append completed that node
	v, err := db.get(seqKey(org, leaf))
	if errors.Is(err, pebble.ErrNotFound) {
		return h, fmt.Errorf("the tree hashes of event %d of organization %d are missing", leaf, org)
	} else if err != nil {
		return h, err
	}
	s, ok := parseSeqValue(v)
	if !ok {
		return h, fmt.Errorf("the tree hashes of event %d of organization %d are corrupt", leaf, org)
	}
	if level == 0 {
		return db.leafHash(org, ref, leaf, s)
	}
	off := tlog.HashSize * (level - 1)
	if len(s.upper) < off+tlog.HashSize {
		return h, fmt.Errorf("the tree hashes of event %d of organization %d are corrupt", leaf, org)
	}
	copy(h[:], s.upper[off:])
	return h, nil
}

// leafHash returns the leaf hash of event seq of org (named ref; if ref is
// the zero OrgRef it is looked up), whose sequence key value is s.
func (db *DB) leafHash(org uint32, ref auditlog.OrgRef, seq int64, s seqValue) (tlog.Hash, error) {
	if !s.purged && ref == (auditlog.OrgRef{}) {
		o, err := db.orgByID(org)
		if err != nil {
			return tlog.Hash{}, err
		}
		ref = o.OrgRef
	}
	if s.purged {
		h, err := s.leafHash(nil)
		if err != nil {
			return h, fmt.Errorf("event %s/%d: %w", ref, seq, err)
		}
		return h, nil
	}
	v, err := db.get(eventKey(org, s.ts, seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return tlog.Hash{}, fmt.Errorf("event %s/%d is missing", ref, seq)
	} else if err != nil {
		return tlog.Hash{}, err
	}
	e := &auditlog.Event{Organization: ref}
	if err := decodeEvent(e, s.ts, seq, v); err != nil {
		return tlog.Hash{}, fmt.Errorf("event %s/%d: %w", ref, seq, err)
	}
	h, err := s.leafHash(e)
	if err != nil {
		return h, fmt.Errorf("event %s/%d: %w", ref, seq, err)
	}
	return h, nil
}

// hashReader reads an organization's stored hashes (tlog.HashReader).
type hashReader struct {
	db  *DB
	org uint32
	ref auditlog.OrgRef
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		h, err := r.db.readHash(r.org, r.ref, idx)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}
