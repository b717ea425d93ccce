//go:build !purego

#include "textflag.h"

// func Range(b []byte)
TEXT ·Range(SB), NOSPLIT, $0-24
	MOVQ b_base+0(FP), AX
	MOVQ b_len+8(FP), CX
	TESTQ CX, CX
	JEQ done
	ADDQ AX, CX    // the end
	ANDQ $~63, AX  // the start of its cache line
loop:
	PREFETCHT0 (AX)
	ADDQ $64, AX
	CMPQ AX, CX
	JB loop
done:
	RET
