// Package sha256mb computes many SHA-256 hashes at once. Where the processor
// has AVX-512 and is Intel's, or has AVX-512 without the SHA instructions,
// sixteen messages go through the compression function side by side, one in
// each 32-bit lane of its vector registers. Where it has the SHA
// instructions otherwise, two go through together, their rounds interleaved,
// about twice as fast as one after the other, since each message's rounds
// wait on its rounds before. Elsewhere it hashes them one after another with
// crypto/sha256. (block_amd64.go says why.)
//
// A verifier that recomputes millions of leaves and nodes has them all in
// hand before it needs their hashes: it writes a batch of messages into a
// Batch, hashes them with one Sum, and reads the hashes.
package sha256mb

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
)

// Batch holds messages to hash together. The zero Batch is empty and ready.
type Batch struct {
	// Buf holds the messages ended so far, each followed by its SHA-256
	// padding, then the bytes of the message being written, which End ends.
	// A caller appends a message's bytes to Buf and calls End.
	Buf  []byte
	msgs []message
	sums [][32]byte
}

// message is a message's place in Buf: its bytes are Buf[off:off+n], its
// padded blocks Buf[off:end].
type message struct{ off, n, end int }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.Buf = b.Buf[:0]
	b.msgs = b.msgs[:0]
	b.sums = b.sums[:0]
}

// Len returns the number of messages ended.
func (b *Batch) Len() int { return len(b.msgs) }

// End ends the message written to Buf since the last End (or Reset), pads
// it, and returns its index.
func (b *Batch) End() int {
	off := 0
	if len(b.msgs) > 0 {
		off = b.msgs[len(b.msgs)-1].end
	}
	n := len(b.Buf) - off
	// FIPS 180-4 §5.1.1: a one bit, zeros to 56 bytes past a multiple of
	// 64, and the message's length in bits; the zeros written a word at a
	// time (the last word may run into the length, written after).
	z := (55 - len(b.Buf)%64 + 64) % 64 // zeros after the 0x80
	end := len(b.Buf) + 1 + z + 8
	b.Buf = slices.Grow(b.Buf, 1+z+8)
	pad := b.Buf[len(b.Buf):end]
	pad[0] = 0x80
	for i := 1; i < 1+z; i += 8 {
		binary.LittleEndian.PutUint64(pad[i:], 0)
	}
	binary.BigEndian.PutUint64(pad[1+z:], uint64(n)<<3)
	b.Buf = b.Buf[:end]
	b.msgs = append(b.msgs, message{off, n, end})
	return len(b.msgs) - 1
}

// Message returns the bytes of message i, which the caller may change
// before Sum: a message can be written before all its bytes are known. The
// slice is Buf's memory: it lasts until the next append to Buf.
func (b *Batch) Message(i int) []byte {
	m := b.msgs[i]
	return b.Buf[m.off : m.off+m.n : m.off+m.n]
}

// Sum hashes every message. Hash then returns their hashes, until Reset.
func (b *Batch) Sum() {
	b.sums = slices.Grow(b.sums[:0], len(b.msgs))[:len(b.msgs)] // each is written below
	switch {
	case kernel == pairs && len(b.msgs) > 0:
		b.sumPairs()
		return
	case kernel == lanes && len(b.msgs) >= minLanes && len(b.Buf) <= math.MaxInt32:
		b.sumLanes()
		return
	}
	for i, m := range b.msgs {
		b.sums[i] = sha256.Sum256(b.Buf[m.off : m.off+m.n])
	}
}

// Hash returns the SHA-256 hash of message i, after Sum.
func (b *Batch) Hash(i int) [32]byte { return b.sums[i] }

// The kernels: how Sum hashes.
const (
	oneByOne = iota // crypto/sha256
	pairs           // blocks2
	lanes           // block16
)

// Lanes returns how many messages Sum hashes at once here: 16 with the
// AVX-512 lanes, 2 with the SHA instructions, 1 with neither. A caller with
// nothing to gain from batching when it is 1 can hash as it goes.
func Lanes() int {
	switch kernel {
	case pairs:
		return 2
	case lanes:
		return 16
	}
	return 1
}

// minLanes is the fewest messages worth hashing side by side: each block
// costs all sixteen lanes' time, whether they have a message or not.
const minLanes = 4

// iv is SHA-256's initial hash value (FIPS 180-4 §5.3.3).
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// sumLanes hashes the messages sixteen at a time: each lane takes the next
// message when it finishes one, so the lanes stay busy to the last few.
func (b *Batch) sumLanes() {
	var state [8][16]uint32
	var offs [16]uint32
	var lane [16]struct{ msg, next, end int } // msg < 0 when idle
	for j := range lane {
		lane[j].msg = -1
	}
	queued, busy := 0, 0
	for {
		for j := range lane {
			l := &lane[j]
			if l.msg < 0 && queued < len(b.msgs) {
				m := b.msgs[queued]
				*l = struct{ msg, next, end int }{queued, m.off, m.end}
				for k := range iv {
					state[k][j] = iv[k]
				}
				queued++
				busy++
			}
			offs[j] = 0 // an idle lane hashes the first block, for nothing
			if l.msg >= 0 {
				offs[j] = uint32(l.next)
			}
		}
		if busy == 0 {
			return
		}
		block16(&state, &b.Buf[0], &offs)
		for j := range lane {
			l := &lane[j]
			if l.msg < 0 {
				continue
			}
			if l.next += 64; l.next == l.end {
				s := &b.sums[l.msg]
				for k := range state {
					binary.BigEndian.PutUint32(s[4*k:], state[k][j])
				}
				l.msg = -1
				busy--
			}
		}
	}
}

// sumPairs hashes the messages two at a time: each of the two takes the
// next message when it finishes one. The last, alone, goes through both.
func (b *Batch) sumPairs() {
	var state [2][8]uint32
	idle := struct{ msg, next, end int }{msg: -1}
	pair := [2]struct{ msg, next, end int }{idle, idle}
	queued := 0
	for {
		for j := range pair {
			if p := &pair[j]; p.msg < 0 && queued < len(b.msgs) {
				m := b.msgs[queued]
				*p = struct{ msg, next, end int }{queued, m.off, m.end}
				state[j] = iv
				queued++
			}
		}
		p0, p1 := &pair[0], &pair[1]
		switch {
		case p0.msg < 0 && p1.msg < 0:
			return
		case p0.msg < 0:
			*p0, state[0] = *p1, state[1]
		case p1.msg < 0:
			*p1, state[1] = *p0, state[0]
		}
		n := min(p0.end-p0.next, p1.end-p1.next)
		blocks2(&state, &b.Buf[p0.next], &b.Buf[p1.next], n/64)
		for j := range pair {
			p := &pair[j]
			if p.next += n; p.next == p.end {
				s := &b.sums[p.msg]
				for k, w := range state[j] {
					binary.BigEndian.PutUint32(s[4*k:], w)
				}
				p.msg = -1
			}
		}
	}
}
