//go:build amd64 && !purego

package sha256mb

import "golang.org/x/sys/cpu"

// kernel is how Sum hashes here: with the SHA instructions (blocks2) where
// the processor has them, except on Intel's processors with AVX-512; with
// AVX-512 (block16) where it has that; else one message after another.
//
// On an AMD EPYC (Zen 4), which has both and splits each 512-bit operation
// in two, blocks2 hashes 1.3 times as many messages a second as block16
// (BenchmarkSum). Intel's processors run AVX-512 at full width, and Intel's
// own multi-buffer library (isa-l_crypto) prefers its sixteen AVX-512 lanes
// to its SHA instructions there, keeping those for the last one or two
// messages: block16 stays theirs.
var kernel = func() int {
	switch {
	case hasPairs() && !(hasLanes() && genuineIntel()):
		return pairs
	case hasLanes():
		return lanes
	}
	return oneByOne
}()

// kernels are the kernels this processor has, for the tests.
var kernels = func() (ks []int) {
	if hasPairs() {
		ks = append(ks, pairs)
	}
	if hasLanes() {
		ks = append(ks, lanes)
	}
	return append(ks, oneByOne)
}()

// hasPairs reports whether blocks2 runs here: it needs the SHA instructions,
// and AVX, SSSE3 and SSE4.1. (Intel's Atom cores of 2016 to 2020 have the
// SHA instructions without AVX: they hash one message after another.)
func hasPairs() bool { return hasSHA() && cpu.X86.HasAVX && cpu.X86.HasSSSE3 && cpu.X86.HasSSE41 }

// hasLanes reports whether block16 runs here: VPSHUFB on 512-bit registers
// is AVX-512BW.
func hasLanes() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW }

// hasSHA reports whether the processor has the SHA instructions (CPUID
// leaf 7, EBX bit 29), which golang.org/x/sys/cpu does not report on x86.
func hasSHA() bool {
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<29) != 0
}

// genuineIntel reports whether the processor is Intel's: CPUID leaf 0
// spells "GenuineIntel" in EBX, EDX and ECX.
func genuineIntel() bool {
	_, ebx, ecx, edx := cpuid(0, 0)
	return ebx == 0x756e6547 && edx == 0x49656e69 && ecx == 0x6c65746e
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// blocks2 runs the compression function on n blocks (perhaps none) of each of
// two messages: message j's chaining value is state[j], its blocks the 64*n
// bytes at pj.
//
//go:noescape
func blocks2(state *[2][8]uint32, p0, p1 *byte, n int)

//go:generate go run gen.go

// block16 runs the compression function once on each of sixteen lanes: lane
// j's chaining value is state[0..7][j], its block the 64 bytes at base+offs[j].
//
//go:noescape
func block16(state *[8][16]uint32, base *byte, offs *[16]uint32)

// k holds SHA-256's round constants (FIPS 180-4 §4.2.2), which the kernels read.
var k = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// bswap is the VPSHUFB mask that turns each big-endian word of a register
// little-endian; blocks2 reads its first 16 bytes.
var bswap = [64]byte{
	3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
	3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
	3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
	3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
}
