package kernel

import (
	"math"
	"testing"
	"time"
)

func TestReLU(t *testing.T) {
	negNaN := math.Float32frombits(0xffc00000) // x86's default NaN has its sign set
	posNaN := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		a, relu float32
		grad    float32 // of a unit gradient
	}{
		{-2, 0, 0},
		{-1e-40, 0, 0}, // subnormal
		{negZero, negZero, 0},
		{0, 0, 0},
		{1e-40, 1e-40, 1},
		{3, 3, 1},
		{inf, inf, 1},
		{-inf, 0, 0},
		{posNaN, posNaN, 1},
		{negNaN, negNaN, 1},
	} {
		// 1 element takes the Go path; 19, the vector loop and a tail.
		for _, n := range []int{1, 19} {
			a, out, grad := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], out[i], grad[i] = tc.a, 42, 1
			}
			ReLU(a, out)
			ReLUGrad(a, grad)
			for i := range a {
				if math.Float32bits(out[i]) != math.Float32bits(tc.relu) || grad[i] != tc.grad {
					t.Fatalf("a = %g (%#x), element %d of %d: ReLU %g, gradient %g; want %g, %g", tc.a, math.Float32bits(tc.a), i, n, out[i], grad[i], tc.relu, tc.grad)
				}
			}
		}
	}
}

// BenchmarkReLU times ReLU and its gradient on a 128-row × 64 activation
// block and, in the same run, the plain-Go loops as the baseline; it
// reports the speed-up.
func BenchmarkReLU(b *testing.B) {
	a := make([]float32, 128*64)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	out := make([]float32, len(a))
	for _, c := range []struct {
		name     string
		f, plain func(a, out []float32)
	}{{"relu", ReLU, reluGo}, {"grad", ReLUGrad, reluGradGo}} {
		b.Run(c.name, func(b *testing.B) {
			start := time.Now()
			for range b.N {
				c.plain(a, out)
			}
			baseline := time.Since(start)
			b.ResetTimer()
			for range b.N {
				c.f(a, out)
			}
			b.StopTimer()
			b.ReportMetric(baseline.Seconds()/b.Elapsed().Seconds(), "x-plain-go")
		})
	}
}
