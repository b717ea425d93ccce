package enginebench

import (
	"crypto/sha256"
	"testing"
)

func TestStoredHashIndex(t *testing.T) {
	// Values of tlog.StoredHashIndex.
	for _, tt := range []struct {
		level int
		n     int64
		want  int64
	}{
		{0, 0, 0}, {0, 1, 1}, {1, 0, 2}, {0, 2, 3}, {0, 3, 4}, {1, 1, 5}, {2, 0, 6}, {0, 4, 7},
		{0, 5, 8}, {1, 2, 9}, {0, 6, 10}, {0, 7, 11}, {1, 3, 12}, {2, 1, 13}, {3, 0, 14},
	} {
		if got := storedHashIndex(tt.level, tt.n); got != tt.want {
			t.Errorf("storedHashIndex(%d, %d) = %d, want %d", tt.level, tt.n, got, tt.want)
		}
	}
}

// rfc6962Root is the reference Merkle tree hash of leaf hashes.
func rfc6962Root(leaves [][32]byte) [32]byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return nodeHash(rfc6962Root(leaves[:k]), rfc6962Root(leaves[k:]))
}

func TestTreeStoredHashes(t *testing.T) {
	var tr tree
	var leaves [][32]byte
	stored := map[int64][32]byte{}
	total := 0
	for i := 0; i < 300; i++ {
		leaf := sha256.Sum256([]byte{0, byte(i), byte(i >> 8)})
		leaves = append(leaves, leaf)
		hs := tr.append(nil, leaf)
		total += len(hs)
		for _, h := range hs {
			if _, dup := stored[h.index]; dup {
				t.Fatalf("leaf %d: index %d stored twice", i, h.index)
			}
			stored[h.index] = h.hash
		}
		// The root of a perfect tree is the last hash stored for it.
		if n := i + 1; n&(n-1) == 0 {
			if got, want := hs[len(hs)-1].hash, rfc6962Root(leaves); got != want {
				t.Fatalf("size %d: root %x, want %x", n, got, want)
			}
		}
	}
	// tlog stores 2n - popcount(n) hashes for n leaves; index space is dense.
	for i := int64(0); i < int64(total); i++ {
		if _, ok := stored[i]; !ok {
			t.Fatalf("index %d missing of %d", i, total)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	g := newGenerator(1, 20)
	var size int
	evs := g.next(2000)
	for i := range evs {
		want := evs[i]
		v := appendValue(nil, &want)
		size += len(v)
		got := event{org: want.org, seq: want.seq, ts: want.ts}
		if err := decodeValue(v, &got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
	t.Logf("mean encoded value: %d bytes", size/len(evs))
}
