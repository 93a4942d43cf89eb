//go:build !amd64 || purego

package gemm

// Accelerated reports whether Add runs the assembly kernel.
const Accelerated = false

func add(m, n, k int, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc int) {
	addGo(m, n, k, a, aRow, aK, b, ldb, c, ldc)
}
