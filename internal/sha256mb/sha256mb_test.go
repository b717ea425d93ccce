package sha256mb

import (
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"testing"
)

// both runs f with each kernel this processor has.
func both(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	had := kernel
	t.Cleanup(func() { kernel = had })
	if len(kernels) == 1 {
		t.Log("neither the SHA instructions nor AVX-512 here: only the one-by-one path is tested")
	}
	for _, k := range kernels {
		kernel = k
		t.Run(kernelNames[k], f)
	}
	kernel = had
}

var kernelNames = map[int]string{oneByOne: "one-by-one", pairs: "pairs", lanes: "lanes"}

// sumAll hashes msgs in one batch and checks each against crypto/sha256.
func sumAll(t *testing.T, msgs [][]byte) {
	t.Helper()
	var b Batch
	for i, m := range msgs {
		b.Buf = append(b.Buf, m...)
		if got := b.End(); got != i {
			t.Fatalf("End = %d, want %d", got, i)
		}
	}
	b.Sum()
	for i, m := range msgs {
		if got, want := b.Hash(i), sha256.Sum256(m); got != want {
			t.Fatalf("message %d of %d (%d bytes): got %x, want %x", i, len(msgs), len(m), got, want)
		}
	}
}

// TestSum_EveryLength hashes messages of every length around the first
// blocks' padding limits, in batches that keep lanes idle and busy.
func TestSum_EveryLength(t *testing.T) {
	both(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		var msgs [][]byte
		for n := range 300 {
			m := make([]byte, n)
			for i := range m {
				m[i] = byte(r.Uint32())
			}
			msgs = append(msgs, m)
		}
		sumAll(t, msgs)
		for _, count := range []int{1, 3, 4, 15, 16, 17, 33} {
			sumAll(t, msgs[len(msgs)-count:])
			sumAll(t, msgs[:count])
		}
	})
}

// TestSum_Random hashes random batches of messages of random lengths, some
// long, mixed so that lanes finish at different blocks.
func TestSum_Random(t *testing.T) {
	both(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for range 200 {
			msgs := make([][]byte, r.IntN(70))
			for i := range msgs {
				n := r.IntN(200)
				if r.IntN(10) == 0 {
					n = r.IntN(5000)
				}
				msgs[i] = make([]byte, n)
				for j := range msgs[i] {
					msgs[i][j] = byte(r.Uint32())
				}
			}
			sumAll(t, msgs)
		}
	})
}

// TestBatch_MessageCanBeChanged writes a message, changes its bytes through
// Message, and gets the hash of what it holds at Sum.
func TestBatch_MessageCanBeChanged(t *testing.T) {
	both(t, func(t *testing.T) {
		var b Batch
		for range 20 {
			b.Buf = append(b.Buf, make([]byte, 90)...)
			b.End()
		}
		want := make([][32]byte, 20)
		for i := range 20 {
			m := b.Message(i)
			m[89] = byte(i + 1)
			want[i] = sha256.Sum256(m)
		}
		b.Sum()
		for i := range 20 {
			if b.Hash(i) != want[i] {
				t.Fatalf("message %d: got %x, want %x", i, b.Hash(i), want[i])
			}
		}
		b.Reset()
		b.Buf = append(b.Buf, "abc"...)
		b.End()
		b.Sum()
		if b.Len() != 1 || b.Hash(0) != sha256.Sum256([]byte("abc")) {
			t.Fatalf("after Reset: %d messages, hash %x", b.Len(), b.Hash(0))
		}
	})
}

// FuzzSum splits the input into messages at the bytes that say so and
// holds the batch's hashes to crypto/sha256.
func FuzzSum(f *testing.F) {
	f.Add([]byte("abc"), byte(7))
	f.Add(make([]byte, 1000), byte(55))
	f.Fuzz(func(t *testing.T, data []byte, cut byte) {
		var msgs [][]byte
		for len(data) > 0 {
			n := min(int(cut)+len(msgs)*13%97, len(data))
			msgs = append(msgs, data[:n])
			data = data[n:]
			if n == 0 {
				break
			}
		}
		both(t, func(t *testing.T) { sumAll(t, msgs) })
	})
}

// TestBlocks2_NoBlocks: blocks2 of no blocks leaves the states as they were.
func TestBlocks2_NoBlocks(t *testing.T) {
	if !slices.Contains(kernels, pairs) {
		t.Skip("no SHA instructions here")
	}
	state := [2][8]uint32{iv, iv}
	var b [64]byte
	blocks2(&state, &b[0], &b[0], 0)
	if state != [2][8]uint32{iv, iv} {
		t.Fatalf("blocks2 of 0 blocks changed the states: %x", state)
	}
}
