package merkle

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// strictBase64 accepts only the canonical spelling of each value.
var strictBase64 = base64.StdEncoding.Strict()

// agreesWithStrict checks decodeBase64 of src into n bytes against
// base64.StdEncoding.Strict() reading exactly n bytes, and that it writes
// nothing past the n bytes.
func agreesWithStrict(t *testing.T, src []byte, n int) {
	t.Helper()
	want := make([]byte, max(n, base64.StdEncoding.DecodedLen(len(src))))
	m, err := strictBase64.Decode(want, src)
	wantOK := err == nil && m == n && len(src) == base64.StdEncoding.EncodedLen(n)
	buf := bytes.Repeat([]byte{0xa5}, n+64)
	got := buf[:n:n]
	if ok := decodeBase64(got, src); ok != wantOK || ok && !bytes.Equal(got, want[:n]) {
		t.Fatalf("decodeBase64(%d bytes, %q) = %x, %v; Strict: %x, %v (AVX-512 VBMI: %v)", n, src, got, ok, want[:m], wantOK, useVBMI)
	}
	if !bytes.Equal(buf[n:], bytes.Repeat([]byte{0xa5}, 64)) {
		t.Fatalf("decodeBase64(%d bytes, %q) wrote past them (AVX-512 VBMI: %v)", n, src, useVBMI)
	}
}

// eachDecoder calls f with decodeBase64 on each of its paths here: with
// AVX-512 VBMI where the processor has it, and without.
func eachDecoder(t *testing.T, f func(t *testing.T)) {
	vbmi := useVBMI
	defer func() { useVBMI = vbmi }()
	for _, useVBMI = range []bool{vbmi, false} {
		f(t)
		if !vbmi {
			return
		}
	}
}

// TestDecodeBase64 holds the fixed-width decoder to encoding/base64's strict
// one: on the encodings of random values of each width a bundle holds (16
// and 32 bytes) and of widths 0 to 52, and on each of them with every
// character replaced in turn by every byte.
func TestDecodeBase64(t *testing.T) {
	eachDecoder(t, testDecodeBase64)
}

func testDecodeBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 53 {
		for range 20 {
			v := make([]byte, n)
			for i := range v {
				v[i] = byte(rng.Uint32())
			}
			enc := []byte(base64.StdEncoding.EncodeToString(v))
			agreesWithStrict(t, enc, n)
			agreesWithStrict(t, enc[:max(len(enc)-1, 0)], n)
			agreesWithStrict(t, append(bytes.Clone(enc), 'A'), n)
			if n != 16 && n != 32 && rng.IntN(4) != 0 {
				continue
			}
			for i := range enc {
				for c := range 256 {
					alt := bytes.Clone(enc)
					alt[i] = byte(c)
					agreesWithStrict(t, alt, n)
				}
			}
		}
	}
}

func FuzzDecodeBase64(f *testing.F) {
	f.Add([]byte("AAECAwQFBgcICQoLDA0ODw=="), 16)
	f.Add([]byte("ZmFrZSBoYXNoIG9mIHRoaXJ0eS10d28gYnl0ZXMhISE="), 32)
	f.Fuzz(func(t *testing.T, src []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		eachDecoder(t, func(t *testing.T) { agreesWithStrict(t, src, n) })
	})
}

// BenchmarkDecodeBase64 decodes a proof hash (32 bytes, 44 characters) on
// each path: with AVX-512 VBMI where the processor has it, and without.
func BenchmarkDecodeBase64(b *testing.B) {
	var h [32]byte
	for i := range h {
		h[i] = byte(i * 7)
	}
	src := []byte(base64.StdEncoding.EncodeToString(h[:]))
	vbmi := useVBMI
	defer func() { useVBMI = vbmi }()
	for _, useVBMI = range []bool{vbmi, false} {
		name := "plain"
		if useVBMI {
			name = "vbmi"
		}
		b.Run(name, func(b *testing.B) {
			var d [32]byte
			for b.Loop() {
				if !decodeBase64(d[:], src) {
					b.Fatal("not decoded")
				}
			}
		})
		if !vbmi {
			return
		}
	}
}
