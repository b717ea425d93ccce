//go:build !amd64 || purego

package sha256mb

// useLanes is false: there is no block16 here.
var useLanes = false

func block16(state *[8][16]uint32, base *byte, offs *[16]uint32) {
	panic("sha256mb: block16 without AVX-512")
}
