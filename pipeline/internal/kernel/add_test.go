package kernel

import (
	"math"
	"math/rand"
	"testing"
)

// TestAddMatchesGo compares Add with the plain loop, bit for bit, on
// lengths that take the vector loop, a tail or both, and leaves dst's
// elements beyond src alone.
func TestAddMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 1024, 1029} {
		src, dst := make([]float32, n), make([]float32, n+3)
		for i := range src {
			src[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.Intn(9)-4)))
		}
		for i := range dst {
			dst[i] = float32(rng.NormFloat64())
		}
		want := append([]float32(nil), dst...)
		addGo(want, src)
		Add(dst, src)
		for i := range dst {
			if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d, element %d: %v, want %v", n, i, dst[i], want[i])
			}
		}
	}
}
