//go:build !amd64 || purego

package merkle

// useVBMI is false: there is no decodeQuads here.
var useVBMI = false

func decodeQuads(dst, src *byte, n int) bool {
	panic("merkle: decodeQuads without AVX-512 VBMI")
}
