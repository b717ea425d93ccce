//go:build !amd64 || purego

package sha256mb

// kernel is oneByOne: there is no assembly here.
var kernel = oneByOne

// kernels are the kernels this processor has, for the tests.
var kernels = []int{oneByOne}

func block16(state *[8][16]uint32, base *byte, offs *[16]uint32) {
	panic("sha256mb: block16 without AVX-512")
}

func blocks2(state *[2][8]uint32, p0, p1 *byte, n int) {
	panic("sha256mb: blocks2 without the SHA instructions")
}
