package pipeline

import (
	"encoding/binary"
	"math"
	"math/rand"
	"slices"
	"testing"
)

// quantileQs are the quantiles the selection tests ask for: those the
// scaler, the medians and run.json's threshold record take, and the ends.
var quantileQs = []float64{0, 0.01, 0.25, 0.5, 0.75, 0.95, 0.999, 1, 0.3333}

// bySort is what selection must give: QuantileSorted on a sorted copy.
func bySort(v []float32, qs []float64) []float32 {
	s := slices.Clone(v)
	slices.Sort(s)
	out := make([]float32, len(qs))
	for i, q := range qs {
		out[i] = QuantileSorted(s, q)
	}
	return out
}

// sameBits reports whether a and b hold the same float32 bit patterns, NaN
// matching any NaN and 0 matching -0 (a sort does not order the two zeros,
// so where the largest value is a zero, it may give either).
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		same := math.Float32bits(a[i]) == math.Float32bits(b[i]) || (a[i] == 0 && b[i] == 0)
		if !same && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

// medianOf3Killer builds the sequence that drives median-of-three
// quickselect to quadratic time (Musser's construction), scaled up.
func medianOf3Killer(n int) []float32 {
	k := n / 2
	v := make([]float32, n)
	for i := 1; i <= k; i++ {
		if i%2 == 1 {
			v[i-1] = float32(i)
			v[i] = float32(k + i)
		}
		v[k+i-1] = float32(2 * i)
	}
	return v
}

func TestSelectQuantilesEqualsSort(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	gen := map[string]func(n int) []float32{
		"random": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			return v
		},
		"few distinct": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.Intn(3))
			}
			return v
		},
		"all equal": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = 7
			}
			return v
		},
		"sorted": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(i)
			}
			return v
		},
		"reversed": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(n - i)
			}
			return v
		},
		"organ pipe": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(min(i, n-i))
			}
			return v
		},
		"median-of-3 killer": medianOf3Killer,
		// The sample filterRanks takes sees one value only: its brackets
		// miss the ranks, and selection must fall back.
		"sample-blind": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
				if n >= 1024 && i%(n/1024) == n/2048 {
					v[i] = 5
				}
			}
			return v
		},
		"with NaN": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
				if rng.Intn(10) == 0 {
					v[i] = float32(math.NaN())
				}
			}
			return v
		},
		"mostly NaN": func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(math.NaN())
				if rng.Intn(10) == 0 {
					v[i] = float32(rng.Intn(5))
				}
			}
			return v
		},
		"zeros of both signs and infinities": func(n int) []float32 {
			vals := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1, -1}
			v := make([]float32, n)
			for i := range v {
				v[i] = vals[rng.Intn(len(vals))]
			}
			return v
		},
	}
	for name, g := range gen {
		for _, n := range []int{1, 2, 3, 10, 25, 100, 257, 1000, 10007, 100000} {
			v := g(n)
			want := bySort(v, quantileQs)
			work := slices.Clone(v)
			got := selectQuantiles(work, quantileQs)
			if !sameBits(got, want) {
				t.Errorf("%s, n=%d: selectQuantiles = %v, sort gives %v", name, n, got, want)
			}
			sortedIn, sortedWork := slices.Clone(v), slices.Clone(work)
			slices.Sort(sortedIn)
			slices.Sort(sortedWork)
			if !sameBits(sortedIn, sortedWork) {
				t.Errorf("%s, n=%d: selection lost or changed values", name, n)
			}
			if got := Quantile(v, 0.5); !sameBits([]float32{got}, want[3:4]) {
				t.Errorf("%s, n=%d: Quantile(0.5) = %v, sort gives %v", name, n, got, want[3])
			}
		}
	}
}

func TestNthElementPlacesRank(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, n := range []int{1, 5, 24, 25, 300, 5000} {
		for trial := 0; trial < 20; trial++ {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.Intn(n/2 + 1))
			}
			sorted := slices.Clone(v)
			slices.Sort(sorted)
			k := rng.Intn(n)
			nthElement(v, k)
			if v[k] != sorted[k] {
				t.Fatalf("n=%d k=%d: v[k] = %v, want %v", n, k, v[k], sorted[k])
			}
			for i, x := range v {
				if (i < k && x > v[k]) || (i > k && x < v[k]) {
					t.Fatalf("n=%d k=%d: v[%d] = %v on the wrong side of %v", n, k, i, x, v[k])
				}
			}
		}
	}
}

// FuzzSelectQuantiles compares selection with sorting on any float32
// values (NaN, infinities and signed zeros included) and any quantile.
func FuzzSelectQuantiles(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64}, 0.5)
	f.Add([]byte{0, 0, 192, 127, 0, 0, 128, 63, 0, 0, 0, 128, 0, 0, 0, 0}, 0.25)
	f.Add([]byte{1, 2, 3, 4}, 1.0)
	f.Fuzz(func(t *testing.T, raw []byte, q float64) {
		if !(q >= 0 && q <= 1) || len(raw) < 4 {
			return
		}
		v := make([]float32, len(raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		qs := []float64{q, 0.5, 1 - q}
		want := bySort(v, qs)
		got := selectQuantiles(slices.Clone(v), qs)
		if !sameBits(got, want) {
			t.Errorf("selectQuantiles(%v, %v) = %v, sort gives %v", v, qs, got, want)
		}
	})
}

// BenchmarkScalerQuantiles takes the robust scaler's three quantiles of
// 800,000 values: by selection (sample, filter, quickselect), by
// quickselect alone and by sorting.
func BenchmarkScalerQuantiles(b *testing.B) {
	rng := rand.New(rand.NewSource(3))
	v := make([]float32, 800000)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	qs := []float64{0.5, 0.25, 0.75}
	work := make([]float32, len(v))
	b.Run("select", func(b *testing.B) {
		for b.Loop() {
			copy(work, v)
			selectQuantiles(work, qs)
		}
	})
	// Quickselect alone, without the sample-and-filter pass: what the
	// filter saves.
	b.Run("quickselect", func(b *testing.B) {
		ranks := make([]int, 0, len(qs))
		for _, q := range qs {
			ranks = append(ranks, quantileRank(len(v), q))
		}
		slices.Sort(ranks)
		for b.Loop() {
			copy(work, v)
			selectRanks(work, ranks)
		}
	})
	b.Run("sort", func(b *testing.B) {
		for b.Loop() {
			copy(work, v)
			slices.Sort(work)
		}
	})
}
