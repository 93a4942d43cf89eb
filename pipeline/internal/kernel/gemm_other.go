//go:build !amd64 || purego

package kernel

// Accelerated reports whether Gemm runs the assembly kernel.
const Accelerated = false

func gemm(m, n, k int, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc int) {
	gemmGo(m, n, k, a, aRow, aK, b, ldb, c, ldc)
}

func relu(in, out []float32) { reluGo(in, out) }

func reluGrad(a, grad []float32) { reluGradGo(a, grad) }

func adam(w, g, m, v []float32, c *AdamCoefficients) int { return 0 }

func add(dst, src []float32) int { return 0 }
