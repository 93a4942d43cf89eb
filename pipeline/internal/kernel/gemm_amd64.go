//go:build !purego

package kernel

import (
	"golang.org/x/sys/cpu"
)

// Accelerated reports whether Gemm runs the assembly kernel.
var Accelerated = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// masks[n] selects the first n of sixteen float32 lanes.
var masks = func() (m [17][16]int32) {
	for n := range m {
		for j := 0; j < n; j++ {
			m[n][j] = -1
		}
	}
	return m
}()

// kern4 adds to four rows of C, at columns 0..15 masked by mask, the
// products of four rows of A (aRow bytes apart, stepping aK bytes per inner
// index) with k rows of B (ldb bytes apart). Strides are in bytes.
//
//go:noescape
func kern4(k int, a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, mask *[16]int32)

// kern1 is kern4 for a single row.
//
//go:noescape
func kern1(k int, a *float32, aK int, b *float32, ldb int, c *float32, mask *[16]int32)

// reluAVX and reluGradAVX are ReLU and ReLUGrad for the first n elements,
// n a multiple of 8.
//
//go:noescape
func reluAVX(n int, in, out *float32)

//go:noescape
func reluGradAVX(n int, a, grad *float32)

func relu(in, out []float32) {
	done := 0
	if Accelerated && len(in) >= 8 {
		done = len(in) &^ 7
		reluAVX(done, &in[0], &out[0])
	}
	reluGo(in[done:], out[done:])
}

func reluGrad(a, grad []float32) {
	done := 0
	if Accelerated && len(grad) >= 8 {
		done = len(grad) &^ 7
		reluGradAVX(done, &a[0], &grad[0])
	}
	reluGradGo(a[done:], grad[done:])
}

func gemm(m, n, k int, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc int) {
	if !Accelerated {
		gemmGo(m, n, k, a, aRow, aK, b, ldb, c, ldc)
		return
	}
	const f = 4 // bytes per float32
	for j := 0; j < n; j += 16 {
		mask := &masks[min(16, n-j)]
		bj := &b[j]
		i := 0
		for ; i+4 <= m; i += 4 {
			kern4(k, &a[i*aRow], aRow*f, aK*f, bj, ldb*f, &c[i*ldc+j], ldc*f, mask)
		}
		for ; i < m; i++ {
			kern1(k, &a[i*aRow], aK*f, bj, ldb*f, &c[i*ldc+j], mask)
		}
	}
}
