package kernel

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// naive is C += A·B in float64, the reference every path is held to.
func naive(m, n, k int, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc int) []float64 {
	out := make([]float64, len(c))
	for i := range c {
		out[i] = float64(c[i])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := float64(c[i*ldc+j])
			for p := 0; p < k; p++ {
				s += float64(a[i*aRow+p*aK]) * float64(b[p*ldb+j])
			}
			out[i*ldc+j] = s
		}
	}
	return out
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		m, n, k   int
		transA    bool
		ldbPad    int // extra columns in B and C beyond n
		ldcPad    int
		outOfLine bool
	}{
		{1, 1, 1, false, 0, 0, false},
		{4, 16, 9, false, 0, 0, false},
		{5, 17, 3, false, 0, 0, false},
		{7, 9, 100, false, 0, 0, false},
		{64, 32, 9, false, 0, 0, false},
		{64, 10, 16, false, 0, 0, false},
		{64, 100, 32, false, 0, 0, false},
		{9, 32, 128, true, 0, 0, false},
		{21, 64, 128, true, 0, 0, false},
		{100, 33, 128, true, 0, 0, false},
		{3, 15, 5, false, 3, 1, false},
		{8, 31, 6, true, 2, 5, false},
		{6, 48, 0, false, 0, 0, false},
		{3, 9, 700, false, 0, 0, false}, // B's tail copied in several chunks
		{5, 21, 257, true, 0, 0, false},
	} {
		name := fmt.Sprintf("%dx%dx%d/trans=%v/pad=%d,%d", tc.m, tc.n, tc.k, tc.transA, tc.ldbPad, tc.ldcPad)
		t.Run(name, func(t *testing.T) {
			ldb, ldc := tc.n+tc.ldbPad, tc.n+tc.ldcPad
			a := randSlice(rng, tc.m*tc.k)
			aRow, aK := tc.k, 1
			if tc.transA {
				aRow, aK = 1, tc.m
			}
			b := randSlice(rng, max(tc.k*ldb, 1))
			c := randSlice(rng, tc.m*ldc)
			want := naive(tc.m, tc.n, tc.k, a, aRow, aK, b, ldb, c, ldc)
			goC := append([]float32(nil), c...)
			gemmGo(tc.m, tc.n, tc.k, a, aRow, aK, b, ldb, goC, ldc)
			Gemm(tc.m, tc.n, tc.k, a, aRow, aK, b, ldb, c, ldc)
			for i := range c {
				tol := 1e-5 * (1 + math.Abs(want[i])) * math.Sqrt(float64(tc.k+1))
				if d := math.Abs(float64(c[i]) - want[i]); d > tol {
					t.Fatalf("c[%d] = %g, want %g (Δ %g)", i, c[i], want[i], d)
				}
				if d := math.Abs(float64(goC[i]) - want[i]); d > tol {
					t.Fatalf("Go path: c[%d] = %g, want %g (Δ %g)", i, goC[i], want[i], d)
				}
				if j := i % ldc; j >= tc.n && c[i] != goC[i] {
					t.Fatalf("c[%d], outside the block, changed", i)
				}
			}
		})
	}
}

func TestGemmPanics(t *testing.T) {
	s16, s15 := make([]float32, 16), make([]float32, 15)
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"short C", func() { Gemm(4, 4, 4, s16, 4, 1, s16, 4, s15, 4) }},
		{"short A", func() { Gemm(4, 4, 4, s15, 4, 1, s16, 4, s16, 4) }},
		{"short B", func() { Gemm(4, 4, 4, s16, 4, 1, s15, 4, s16, 4) }},
		{"negative k", func() { Gemm(1, 16, -1, s16, 1, 1, s16, 16, s16, 16) }},
		{"negative m", func() { Gemm(-1, 4, 4, s16, 4, 1, s16, 4, s16, 4) }},
		{"row stride below n", func() { Gemm(2, 4, 2, s16, 2, 1, s16, 4, s16, 3) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.call()
		})
	}
}

func TestTranspose(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6}
	dst := make([]float32, 6)
	Transpose(src, 2, 3, dst)
	want := []float32{1, 4, 2, 5, 3, 6}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("Transpose = %v, want %v", dst, want)
		}
	}
}

func ExampleGemm() {
	// C (2×2) += A (2×3) · B (3×2).
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 0, 1, 1, 1}
	c := []float32{10, 20, 30, 40}
	Gemm(2, 2, 3, a, 3, 1, b, 2, c, 2)
	fmt.Println(c)
	// Output: [14 25 40 51]
}

// BenchmarkGemm times Gemm on the layer shapes of the default network
// (128-row minibatch halves, d = 21) and, in the same run, gonum's Gemm on
// the same operands as the baseline; it reports GFLOP/s and the speed-up.
func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	for _, s := range []struct {
		name    string
		m, n, k int
		transA  bool
	}{
		{"x·W/128x64x21", 128, 64, 21, false},
		{"x·W/128x32x64", 128, 32, 64, false},
		{"x·W/128x21x64", 128, 21, 64, false},
		{"xT·dA/64x32x128", 64, 32, 128, true},
		{"xT·dA/21x64x128", 21, 64, 128, true},
	} {
		a := randSlice(rng, s.m*s.k)
		bm := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		aRow, aK, tA := s.k, 1, blas.NoTrans
		ga := blas32.General{Rows: s.m, Cols: s.k, Stride: s.k, Data: a}
		if s.transA {
			aRow, aK, tA = 1, s.m, blas.Trans
			ga = blas32.General{Rows: s.k, Cols: s.m, Stride: s.m, Data: a}
		}
		flop := float64(2 * s.m * s.n * s.k)
		b.Run(s.name, func(b *testing.B) {
			start := time.Now()
			for range b.N {
				blas32.Gemm(tA, blas.NoTrans, 1, ga,
					blas32.General{Rows: s.k, Cols: s.n, Stride: s.n, Data: bm},
					1, blas32.General{Rows: s.m, Cols: s.n, Stride: s.n, Data: c})
			}
			baseline := time.Since(start)
			b.ResetTimer()
			for range b.N {
				Gemm(s.m, s.n, s.k, a, aRow, aK, bm, s.n, c, s.n)
			}
			b.StopTimer()
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(baseline.Seconds()/b.Elapsed().Seconds(), "x-gonum")
		})
	}
}
