//go:build !purego

package merkle

import "golang.org/x/sys/cpu"

// useVBMI says whether decodeQuads runs here.
var useVBMI = cpu.X86.HasAVX512VBMI && cpu.X86.HasAVX512BW && cpu.X86.HasBMI2

//go:noescape
func decodeQuads(dst, src *byte, n int) bool

// b64Lookup maps each character below 0x80 to its value in the standard
// base64 alphabet, and every other to 0x80: decodeQuads's table.
var b64Lookup = func() (t [128]byte) {
	for i := range t {
		t[i] = min(b64Values[i], 0x80)
	}
	return t
}()

// b64Pack picks the three bytes of each group's 24 bits, which decodeQuads
// has in the low three bytes of a 32-bit lane, little-endian, in the order
// they are decoded to.
var b64Pack = func() (t [64]byte) {
	for i := range 16 {
		t[3*i], t[3*i+1], t[3*i+2] = byte(4*i+2), byte(4*i+1), byte(4*i)
	}
	return t
}()
