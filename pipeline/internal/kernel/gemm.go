package kernel

import "fmt"

// Add computes C += A·B for an m×n block C and inner dimension k:
//
//	c[i*ldc+j] += Σ_p a[i*aRow+p*aK] · b[p*ldb+j]
//
// for i < m, j < n, p < k, summing over p in increasing order. A row-major
// m×k matrix A has aRow = k, aK = 1; its transpose (A stored k×m) has
// aRow = 1, aK = m. Rows of B and C are contiguous. Gemm panics on a
// negative shape or a slice too short for it. It never touches memory
// beyond the slices' capacities.
func Gemm(m, n, k int, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernel.Gemm: negative shape %d×%d×%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	if k > 0 {
		check("a", len(a), (m-1)*aRow+(k-1)*aK+1)
		check("b", len(b), (k-1)*ldb+n)
	}
	check("c", len(c), (m-1)*ldc+n)
	if n > ldc || (k > 0 && n > ldb) || aRow < 0 || aK < 0 {
		panic(fmt.Sprintf("kernel.Gemm: bad strides: n %d, ldb %d, ldc %d, aRow %d, aK %d", n, ldb, ldc, aRow, aK))
	}
	if k == 0 {
		return
	}
	gemm(m, n, k, a, aRow, aK, b, ldb, c, ldc)
}

// Transpose writes the transpose of the r×c row-major matrix src into dst
// (c×r, row-major).
func Transpose(src []float32, r, c int, dst []float32) {
	check("src", len(src), r*c)
	check("dst", len(dst), r*c)
	for i := 0; i < r; i++ {
		row := src[i*c : (i+1)*c]
		for j, v := range row {
			dst[j*r+i] = v
		}
	}
}

func check(name string, have, need int) {
	if have < need {
		panic(fmt.Sprintf("kernel: %s has %d elements, the shape needs %d", name, have, need))
	}
}

// gemmGo is Gemm in plain Go, used where the assembly kernel is not, and as
// the reference in tests.
func gemmGo(m, n, k int, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			av := a[i*aRow+p*aK]
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}
