package kernel

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

// TestAdam holds the vector update to the plain-Go one, bit for bit, over
// lengths that leave tails and gradients of every magnitude.
func TestAdam(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	c := &AdamCoefficients{OneMinusBeta1: 1 - 0.9, OneMinusBeta2: 1 - float32(0.999), Beta1: 0.9, Beta2: 0.999,
		Correction1: 1 / float32(1-math.Pow(0.9, 3)), Correction2: 1 / float32(1-math.Pow(0.999, 3)), NegEta: -1e-3, Eps: 1e-8}
	for n := 0; n <= 37; n++ {
		w, g, m, v := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
		for i := range g {
			g[i] *= float32(math.Pow(10, float64(rng.Intn(13)-6)))
			v[i] = float32(math.Abs(float64(v[i]))) // a second moment is not negative
			if i%11 == 3 {
				g[i] = 0
			}
		}
		w2, g2, m2, v2 := clone(w), clone(g), clone(m), clone(v)
		Adam(w, g, m, v, c)
		adamGo(w2, g2, m2, v2, c)
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(w2[i]) || math.Float32bits(m[i]) != math.Float32bits(m2[i]) ||
				math.Float32bits(v[i]) != math.Float32bits(v2[i]) || g[i] != 0 {
				t.Fatalf("n %d, weight %d: w %v m %v v %v g %v; plain Go w %v m %v v %v", n, i, w[i], m[i], v[i], g[i], w2[i], m2[i], v2[i])
			}
		}
	}
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }

// BenchmarkAdam times the vector update of the default network's 5,852
// weights and, in the same run, the plain-Go loop as the baseline.
func BenchmarkAdam(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	const n = 5852
	w, g, m, v := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
	for i := range v {
		v[i] = float32(math.Abs(float64(v[i])))
	}
	c := &AdamCoefficients{OneMinusBeta1: 0.1, OneMinusBeta2: 0.001, Beta1: 0.9, Beta2: 0.999, Correction1: 1, Correction2: 1, NegEta: -1e-3, Eps: 1e-8}
	start := time.Now()
	for range b.N {
		adamGo(w, g, m, v, c)
	}
	baseline := time.Since(start)
	b.ResetTimer()
	for range b.N {
		Adam(w, g, m, v, c)
	}
	b.StopTimer()
	b.ReportMetric(baseline.Seconds()/b.Elapsed().Seconds(), "x-plain-go")
}
