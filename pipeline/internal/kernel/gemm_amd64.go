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

// adamAVX updates the first n weights (n a multiple of 8).
//
//go:noescape
func adamAVX(n int, w, grad, m, v *float32, c *AdamCoefficients)

// addAVX adds the first n elements of src to dst (n a multiple of 8).
//
//go:noescape
func addAVX(n int, dst, src *float32)

// add adds as many elements as the vector loop takes and returns how many.
func add(dst, src []float32) int {
	n := vectorLen(len(src))
	if n > 0 {
		addAVX(n, &dst[0], &src[0])
	}
	return n
}

// adam updates as many weights as the vector loop takes and returns how
// many.
func adam(w, g, m, v []float32, c *AdamCoefficients) int {
	n := vectorLen(len(w))
	if n > 0 {
		adamAVX(n, &w[0], &g[0], &m[0], &v[0], c)
	}
	return n
}

func relu(in, out []float32) {
	done := vectorLen(len(in))
	if done > 0 {
		reluAVX(done, &in[0], &out[0])
	}
	reluGo(in[done:], out[done:])
}

func reluGrad(a, grad []float32) {
	done := vectorLen(len(grad))
	if done > 0 {
		reluGradAVX(done, &a[0], &grad[0])
	}
	reluGradGo(a[done:], grad[done:])
}

// vectorLen returns how many of n elements the eight-lane assembly loops
// take: the largest multiple of eight, or none without AVX2 and FMA.
func vectorLen(n int) int {
	if !Accelerated {
		return 0
	}
	return n &^ 7
}

func gemm(m, n, k int, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc int) {
	if !Accelerated {
		gemmGo(m, n, k, a, aRow, aK, b, ldb, c, ldc)
		return
	}
	for j := 0; j < n; j += 16 {
		w := min(16, n-j)
		if w == 16 || (k-1)*ldb+j+16 <= cap(b) {
			columnBlock(m, k, a, aRow, aK, b[j:], ldb, c, ldc, j, w)
			continue
		}
		// The masked loads of B's last rows would reach past the end of
		// its memory (masked-off lanes need not fault on Intel, but may
		// on AMD): copy the block's columns to a padded scratch, a chunk
		// of rows at a time. Only the order of loads changes, not the sums.
		var scratch [scratchRows * 16]float32
		for p0 := 0; p0 < k; p0 += scratchRows {
			kk := min(scratchRows, k-p0)
			for p := range kk {
				row := (p0 + p) * ldb
				copy(scratch[p*16:p*16+w], b[row+j:row+j+w])
			}
			columnBlock(m, kk, a[p0*aK:], aRow, aK, scratch[:], 16, c, ldc, j, w)
		}
	}
}

// scratchRows is how many rows of B one scratch copy holds (16 KiB).
const scratchRows = 256

// columnBlock adds A·B to columns j..j+w-1 of C (w ≤ 16), where b starts at
// column j and k ≥ 1. Rows of C whose masked tail would reach past the end
// of c's memory go through a scratch copy.
func columnBlock(m, k int, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc, j, w int) {
	const f = 4 // bytes per float32
	mask := &masks[w]
	safe := func(lastRow int) bool { return w == 16 || lastRow*ldc+j+16 <= cap(c) }
	i := 0
	for ; i+4 <= m; i += 4 {
		if safe(i + 3) {
			kern4(k, &a[i*aRow], aRow*f, aK*f, &b[0], ldb*f, &c[i*ldc+j], ldc*f, mask)
			continue
		}
		var cs [4 * 16]float32
		for r := range 4 {
			copy(cs[r*16:r*16+w], c[(i+r)*ldc+j:])
		}
		kern4(k, &a[i*aRow], aRow*f, aK*f, &b[0], ldb*f, &cs[0], 16*f, mask)
		for r := range 4 {
			copy(c[(i+r)*ldc+j:(i+r)*ldc+j+w], cs[r*16:])
		}
	}
	for ; i < m; i++ {
		if safe(i) {
			kern1(k, &a[i*aRow], aK*f, &b[0], ldb*f, &c[i*ldc+j], mask)
			continue
		}
		var cs [16]float32
		copy(cs[:w], c[i*ldc+j:])
		kern1(k, &a[i*aRow], aK*f, &b[0], ldb*f, &cs[0], mask)
		copy(c[i*ldc+j:i*ldc+j+w], cs[:w])
	}
}
