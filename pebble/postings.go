package pebble

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// The actor and action indexes (format 3) hold postings: one key lists the
// events of one actor (or action) that one group commit wrote, rather than
// one key per event. Two index keys per event were a fifth of the CPU of a
// sustained ingest (memtable inserts all over the skiplist, then
// compactions of keys that land all over their ranges).
//
//	prefix|maxTs(8)|seq(8) -> the entries after the first, newest first, each as the
//	                          previous ts minus its ts (uvarint) and its seq minus the
//	                          previous one's (varint)
//
// where prefix is actorPrefix or actionPrefix, maxTs and seq are those of
// the posting's newest entry (so that a posting of one event is the key of
// format 2, with an empty value), and every entry's ts lies within
// postingSpan of maxTs: a reader that wants the events up to time t reads
// the keys up to t+postingSpan, and may stop at the first key older than
// the oldest time it wants.
const postingSpan = 60_000 // ms

// posting is a (ts, seq) list entry.
type posting struct{ ts, seq int64 }

// newer orders postings newest first, as lists are.
func newer(a, b posting) int {
	if c := cmp.Compare(b.ts, a.ts); c != 0 {
		return c
	}
	return cmp.Compare(b.seq, a.seq)
}

// appendPostings appends to the batch the posting keys of entries under prefix:
// sorted newest first and cut where they would span more than postingSpan.
func appendPostings(sets *groupSets, family int, prefix []byte, entries []posting) {
	slices.SortFunc(entries, newer)
	for len(entries) > 0 {
		n := 1
		for n < len(entries) && entries[0].ts-entries[n].ts <= postingSpan {
			n++
		}
		chunk := entries[:n]
		entries = entries[n:]
		key := appendU64(appendU64(append(make([]byte, 0, len(prefix)+16), prefix...), uint64(chunk[0].ts)), uint64(chunk[0].seq))
		var v []byte
		if len(chunk) > 1 {
			v = make([]byte, 0, 4*len(chunk))
		}
		for i := 1; i < len(chunk); i++ {
			v = binary.AppendUvarint(v, uint64(chunk[i-1].ts-chunk[i].ts))
			v = binary.AppendVarint(v, chunk[i].seq-chunk[i-1].seq)
		}
		sets.add(family, key, v)
	}
}

var errCorruptPosting = errors.New("corrupt index posting")

// decodePostings appends the entries of a posting key (after its prefix) and value.
func decodePostings(dst []posting, key, v []byte) ([]posting, error) {
	if len(key) != 16 {
		return dst, errCorruptPosting
	}
	p := posting{ts: int64(beUint64(key)), seq: int64(beUint64(key[8:]))}
	dst = append(dst, p)
	d := decoder{b: v}
	for len(d.b) > 0 && !d.err {
		p.ts -= int64(d.uvarint())
		p.seq += d.varint()
		dst = append(dst, p)
	}
	if d.err {
		return dst, errCorruptPosting
	}
	return dst, nil
}

// postingReader yields the entries under one index prefix within a key
// range, newest first.
type postingReader struct {
	it     *pebble.Iterator
	prefix int
	r      keyRange
	valid  bool      // it is on the next key to read
	next   int64     // that key's maxTs: every unread entry is at most this
	buf    []posting // read, not yet yielded, newest first
	err    error
}

func newPostingReader(it func(*pebble.IterOptions) (*pebble.Iterator, error), prefix []byte, r keyRange) (*postingReader, error) {
	to := r.to
	if r.before {
		to = min(to, r.beforeTS)
	}
	hi := uint64(math.MaxUint64)
	if to < math.MaxInt64-postingSpan-1 {
		hi = uint64(to + postingSpan + 1)
	}
	lower := appendU64(bytes.Clone(prefix), uint64(r.from))
	upper := appendU64(bytes.Clone(prefix), hi)
	if hi == math.MaxUint64 {
		upper = prefixEnd(prefix)
	}
	i, err := it(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	p := &postingReader{it: i, prefix: len(prefix), r: r}
	p.valid = i.Last()
	p.readNext()
	return p, nil
}

func (p *postingReader) readNext() {
	if p.valid {
		p.next = int64(beUint64(p.it.Key()[p.prefix:]))
	}
}

func (p *postingReader) in(e posting) bool { return p.r.has(e.ts, e.seq) }

// peek returns the reader's next entry, newest first, or false at the end
// (or on an error, in p.err).
func (p *postingReader) peek() (posting, bool) {
	// An entry read may be yielded once no unread key can hold a newer one.
	for p.valid && (len(p.buf) == 0 || p.buf[0].ts <= p.next) {
		n := len(p.buf)
		var err error
		if p.buf, err = decodePostings(p.buf, p.it.Key()[p.prefix:], p.it.Value()); err != nil {
			p.err, p.valid = fmt.Errorf("index key %x: %w", p.it.Key(), err), false
			return posting{}, false
		}
		kept := p.buf[:n]
		for _, e := range p.buf[n:] {
			if p.in(e) {
				kept = append(kept, e)
			}
		}
		p.buf = kept
		// A key's entries come newest first, after the entries kept so far
		// (sorted): sort only if they reach above them.
		if n > 0 && len(p.buf) > n && newer(p.buf[n-1], p.buf[n]) > 0 {
			slices.SortFunc(p.buf, newer)
		}
		p.valid = p.it.Prev()
		p.readNext()
	}
	if len(p.buf) == 0 {
		return posting{}, false
	}
	return p.buf[0], true
}

func (p *postingReader) pop() { p.buf = p.buf[1:] }

func (p *postingReader) close() error {
	return errors.Join(p.err, p.it.Error(), p.it.Close())
}
