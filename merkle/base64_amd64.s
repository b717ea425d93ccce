//go:build !purego

#include "textflag.h"

// func decodeQuads(dst, src *byte, n int) bool
//
// decodeQuads decodes n characters of standard base64 (n a multiple of 4,
// 4 to 64, no padding) into their 3n/4 bytes at dst, with AVX-512 VBMI
// (Muła and Lemire, "Base64 encoding and decoding at almost the speed of a
// memory copy", 2019): it reads exactly n bytes of src, writes exactly 3n/4
// bytes of dst, and reports whether every character was of the alphabet
// (writing nothing if not).
TEXT ·decodeQuads(SB), NOSPLIT, $0-25
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         $-1, AX
	BZHIQ        CX, AX, BX // the low n bits: the characters' lanes
	KMOVQ        BX, K1
	VMOVDQU8.Z   (SI), K1, Z0 // the characters, zeros after them

	// Each character's value, or 0x80 for one not of the alphabet
	// (a byte above 0x7f looks its low seven bits up; it is refused below).
	VMOVDQU8     ·b64Lookup+0(SB), Z1
	VMOVDQU8     ·b64Lookup+64(SB), Z2
	VMOVDQA64    Z0, Z3
	VPERMI2B     Z2, Z1, Z3
	VPORQ        Z0, Z3, Z4
	VPMOVB2M     Z4, K2
	KMOVQ        K2, AX
	ANDQ         BX, AX
	JNZ          bad

	// Four 6-bit values to three bytes: pairs to 12 bits, pairs of those
	// to 24, then each group's three bytes, big-endian, in order.
	MOVL         $0x01400140, AX
	VPBROADCASTD AX, Z5
	VPMADDUBSW   Z5, Z3, Z3
	MOVL         $0x00011000, AX
	VPBROADCASTD AX, Z5
	VPMADDWD     Z5, Z3, Z3
	VMOVDQU8     ·b64Pack(SB), Z5
	VPERMB       Z3, Z5, Z3
	SHRQ         $2, CX
	LEAQ         (CX)(CX*2), CX // 3n/4
	MOVQ         $-1, AX
	BZHIQ        CX, AX, AX
	KMOVQ        AX, K3
	VMOVDQU8     Z3, K3, (DI)
	VZEROUPPER
	MOVB         $1, ret+24(FP)
	RET

bad:
	VZEROUPPER
	MOVB         $0, ret+24(FP)
	RET
