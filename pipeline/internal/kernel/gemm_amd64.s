//go:build !purego

#include "textflag.h"

// func kern4(k int, a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, mask *[16]int32)
TEXT ·kern4(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ aRow+16(FP), R8
	MOVQ aK+24(FP), R9
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R10
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R11
	MOVQ mask+64(FP), AX
	VMOVDQU (AX), Y14
	VMOVDQU 32(AX), Y15

	// Row pointers of A: SI, R12, R13, BX. Of C: DX, AX, and so on below.
	LEAQ (SI)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*1), BX

	MOVQ DX, AX
	VMASKMOVPS (AX), Y14, Y0
	VMASKMOVPS 32(AX), Y15, Y1
	ADDQ R11, AX
	VMASKMOVPS (AX), Y14, Y2
	VMASKMOVPS 32(AX), Y15, Y3
	ADDQ R11, AX
	VMASKMOVPS (AX), Y14, Y4
	VMASKMOVPS 32(AX), Y15, Y5
	ADDQ R11, AX
	VMASKMOVPS (AX), Y14, Y6
	VMASKMOVPS 32(AX), Y15, Y7

loop4:
	VMASKMOVPS (DI), Y14, Y8
	VMASKMOVPS 32(DI), Y15, Y9
	VBROADCASTSS (SI), Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VBROADCASTSS (R12), Y11
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y9, Y11, Y3
	VBROADCASTSS (R13), Y12
	VFMADD231PS Y8, Y12, Y4
	VFMADD231PS Y9, Y12, Y5
	VBROADCASTSS (BX), Y13
	VFMADD231PS Y8, Y13, Y6
	VFMADD231PS Y9, Y13, Y7
	ADDQ R9, SI
	ADDQ R9, R12
	ADDQ R9, R13
	ADDQ R9, BX
	ADDQ R10, DI
	DECQ CX
	JNZ loop4

	MOVQ DX, AX
	VMASKMOVPS Y0, Y14, (AX)
	VMASKMOVPS Y1, Y15, 32(AX)
	ADDQ R11, AX
	VMASKMOVPS Y2, Y14, (AX)
	VMASKMOVPS Y3, Y15, 32(AX)
	ADDQ R11, AX
	VMASKMOVPS Y4, Y14, (AX)
	VMASKMOVPS Y5, Y15, 32(AX)
	ADDQ R11, AX
	VMASKMOVPS Y6, Y14, (AX)
	VMASKMOVPS Y7, Y15, 32(AX)
	VZEROUPPER
	RET

// func kern1(k int, a *float32, aK int, b *float32, ldb int, c *float32, mask *[16]int32)
TEXT ·kern1(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ aK+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R10
	MOVQ c+40(FP), DX
	MOVQ mask+48(FP), AX
	VMOVDQU (AX), Y14
	VMOVDQU 32(AX), Y15
	VMASKMOVPS (DX), Y14, Y0
	VMASKMOVPS 32(DX), Y15, Y1

loop1:
	VMASKMOVPS (DI), Y14, Y8
	VMASKMOVPS 32(DI), Y15, Y9
	VBROADCASTSS (SI), Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	ADDQ R9, SI
	ADDQ R10, DI
	DECQ CX
	JNZ loop1

	VMASKMOVPS Y0, Y14, (DX)
	VMASKMOVPS Y1, Y15, 32(DX)
	VZEROUPPER
	RET

// func reluAVX(n int, in, out *float32)
// out[i] = max(0, in[i]) for i < n (n a multiple of 8), with MAXPS's rule
// that a NaN second operand is returned: NaN and -0 pass through.
TEXT ·reluAVX(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ in+8(FP), SI
	MOVQ out+16(FP), DI
	VXORPS Y0, Y0, Y0
	SHRQ $3, CX
	JZ reludone

reluloop:
	VMOVUPS (SI), Y1
	VMAXPS Y1, Y0, Y2 // Y2 = Y0 > Y1 ? Y0 : Y1
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ reluloop

reludone:
	VZEROUPPER
	RET

// func reluGradAVX(n int, a, grad *float32)
// grad[i] = 0 where !(a[i] > 0) and a[i] is not NaN, for i < n (a multiple
// of 8): the comparison "not less than or equal" is true for a NaN.
TEXT ·reluGradAVX(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ grad+16(FP), DI
	VXORPS Y0, Y0, Y0
	SHRQ $3, CX
	JZ graddone

gradloop:
	VMOVUPS (SI), Y1
	VCMPPS $6, Y0, Y1, Y2 // Y2 = Y1 NLE Y0 (predicate 6, NLE_US)
	VANDPS (DI), Y2, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ gradloop

graddone:
	VZEROUPPER
	RET

// func adamAVX(n int, w, grad, m, v *float32, c *AdamCoefficients)
// One Adam update of 8 weights at a time, operation for operation as
// adamGo (no fused multiply-adds), so the results are the same bits.
// c holds 1-β1, 1-β2, β1, β2, 1/(1-β1^t), 1/(1-β2^t), -η, ε.
TEXT ·adamAVX(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), DI
	MOVQ grad+16(FP), SI
	MOVQ m+24(FP), R8
	MOVQ v+32(FP), R9
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // 1-β1
	VBROADCASTSS 4(AX), Y9   // 1-β2
	VBROADCASTSS 8(AX), Y10  // β1
	VBROADCASTSS 12(AX), Y11 // β2
	VBROADCASTSS 16(AX), Y12 // correction 1
	VBROADCASTSS 20(AX), Y13 // correction 2
	VBROADCASTSS 24(AX), Y14 // -η
	VBROADCASTSS 28(AX), Y15 // ε
	VXORPS Y7, Y7, Y7
	SHRQ $3, CX
	JZ adamdone

adamloop:
	VMOVUPS (SI), Y0         // g
	VMULPS Y8, Y0, Y1        // t1 = g·(1-β1)
	VMULPS Y0, Y0, Y2        // g2 = g·g
	VMULPS Y9, Y2, Y2        // g2 = g2·(1-β2)
	VMULPS (R8), Y10, Y3     // m·β1
	VADDPS Y3, Y1, Y1        // t1 = t1 + m·β1
	VMULPS (R9), Y11, Y4     // v·β2
	VADDPS Y4, Y2, Y2        // g2 = g2 + v·β2
	VMOVUPS Y1, (R8)         // m = t1
	VMOVUPS Y2, (R9)         // v = g2
	VMULPS Y12, Y1, Y1       // mHat = t1·correction1
	VMULPS Y13, Y2, Y2       // vHat = g2·correction2
	VSQRTPS Y2, Y2           // vHat = √vHat
	VADDPS Y15, Y2, Y2       // vHat = vHat + ε
	VMULPS Y14, Y1, Y1       // mHat = mHat·(-η)
	VDIVPS Y2, Y1, Y1        // mHat = mHat / vHat
	VADDPS (DI), Y1, Y1      // w + mHat
	VMOVUPS Y1, (DI)
	VMOVUPS Y7, (SI)         // g = 0
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ adamloop

adamdone:
	VZEROUPPER
	RET

// func addAVX(n int, dst, src *float32)
// dst[i] += src[i] for i < n, n a multiple of 8, eight at a time.
TEXT ·addAVX(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	SHRQ $3, CX
	JZ adddone

addloop:
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JNZ addloop

adddone:
	VZEROUPPER
	RET
