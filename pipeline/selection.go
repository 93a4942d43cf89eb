package pipeline

import (
	"math"
	"math/bits"
	"slices"
)

// This file finds order statistics by selection rather than by sorting:
// the k-th smallest of n values in O(n) on average, where a sort takes
// O(n log n). The values found are those a sort (slices.Sort, which puts
// NaN first) would put at the same ranks, so a quantile computed from them
// is the one QuantileSorted gives on the sorted values, bit for bit.

// selectCutoff is the length of a range below which selection sorts it.
const selectCutoff = 24

// selectQuantiles returns the q-quantiles of v (see Quantile) for each q of
// qs, rearranging v in place. It computes what QuantileSorted gives on v
// sorted with slices.Sort.
func selectQuantiles(v []float32, qs []float64) []float32 {
	n := len(v)
	out := make([]float32, len(qs))
	if n == 0 {
		for i := range out {
			out[i] = QuantileSorted(v, qs[i]) // panics, as on sorted values
		}
		return out
	}
	nan := nanFirst(v)
	ranks := make([]int, 0, len(qs))
	for _, q := range qs {
		ranks = append(ranks, quantileRank(n, q))
	}
	slices.Sort(ranks)
	ranks = slices.Compact(ranks)
	// Place every lower rank of the non-NaN values: ranks below nan are NaN.
	var inner []int
	for _, k := range ranks {
		if k >= nan {
			inner = append(inner, k-nan)
		}
	}
	if vals, ok := filterRanks(v[nan:], inner); ok {
		for i, q := range qs {
			lo := quantileRank(n, q)
			if lo >= n-1 {
				out[i] = vals[n-1-nan][0]
				continue
			}
			if lo < nan { // a NaN rank gives NaN, as on sorted values
				out[i] = float32(math.NaN())
				continue
			}
			a, b := vals[lo-nan][0], vals[lo-nan][1]
			frac := q*float64(n-1) - float64(lo)
			out[i] = float32(float64(a) + frac*(float64(b)-float64(a)))
		}
		return out
	}
	selectRanks(v[nan:], inner)
	for i, q := range qs {
		lo := quantileRank(n, q)
		if lo >= n-1 {
			out[i] = v[n-1]
			continue
		}
		// v[lo] holds rank lo; rank lo+1 is the least of the values after
		// it up to the next placed rank (or the end).
		next := n - 1
		if j, _ := slices.BinarySearch(ranks, lo+1); j < len(ranks) {
			next = ranks[j]
		}
		hi := v[lo+1]
		if lo+1 >= nan {
			for _, x := range v[lo+2 : next+1] {
				hi = min(hi, x)
			}
		}
		pos := q * float64(n-1)
		frac := pos - float64(lo)
		out[i] = float32(float64(v[lo]) + frac*(float64(hi)-float64(v[lo])))
	}
	return out
}

// quantileRank is the lower of the two ranks QuantileSorted interpolates
// between for the q-quantile of n values (n-1 when it takes the largest).
func quantileRank(n int, q float64) int {
	lo := int(math.Floor(q * float64(n-1)))
	return min(max(lo, 0), n-1)
}

// nanFirst moves the NaNs of v to its front, as slices.Sort orders them,
// and returns how many there are.
func nanFirst(v []float32) int {
	k := 0
	for i, x := range v {
		if x != x {
			v[i], v[k] = v[k], x
			k++
		}
	}
	return k
}

// selectRanks rearranges v, which holds no NaN, so that for each k of
// ranks (increasing) v[k] is the value a sort puts at k, every value
// before it is at most v[k] and every one after it at least v[k].
func selectRanks(v []float32, ranks []int) {
	if len(ranks) == 0 {
		return
	}
	mid := len(ranks) / 2
	k := ranks[mid]
	nthElement(v, k)
	selectRanks(v[:k], ranks[:mid])
	rest := ranks[mid+1:]
	shifted := make([]int, len(rest))
	for i, r := range rest {
		shifted[i] = r - k - 1
	}
	selectRanks(v[k+1:], shifted)
}

// nthElement rearranges v, which holds no NaN, so that v[k] is the value a
// sort puts at rank k, every value before it is at most v[k] and every one
// after it at least v[k]. It is quickselect (Hoare's FIND) with a
// deterministic pivot, the median of three or of nine values at fixed
// places; after 2·log₂ n rounds that have not narrowed the range it sorts
// what is left, so no input takes more than O(n log n).
func nthElement(v []float32, k int) {
	lo, hi := 0, len(v) // the range that holds rank k
	budget := 2 * bits.Len(uint(len(v)))
	for hi-lo > selectCutoff {
		if budget == 0 {
			slices.Sort(v[lo:hi])
			return
		}
		budget--
		p := pivot(v[lo:hi])
		i, j := lo, hi-1
		for i <= j {
			for v[i] < p {
				i++
			}
			for p < v[j] {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		// v[lo:j+1] ≤ p, v[i:hi] ≥ p, and anything between equals p.
		switch {
		case k <= j:
			hi = j + 1
		case k >= i:
			lo = i
		default:
			return
		}
	}
	insertionSort(v[lo:hi])
}

// pivot returns a value of v, the median of three of its values (nine on
// long ranges) at fixed places.
func pivot(v []float32) float32 {
	n := len(v)
	a, b, c := 0, n/2, n-1
	if n < 256 {
		return median3(v[a], v[b], v[c])
	}
	s := n / 8
	return median3(
		median3(v[a], v[a+s], v[a+2*s]),
		median3(v[b-s], v[b], v[b+s]),
		median3(v[c-2*s], v[c-s], v[c]))
}

func median3(a, b, c float32) float32 {
	if b < a {
		a, b = b, a
	}
	if c < b {
		b = c
		if b < a {
			b = a
		}
	}
	return b
}

func insertionSort(v []float32) {
	for i := 1; i < len(v); i++ {
		x := v[i]
		j := i
		for ; j > 0 && x < v[j-1]; j-- {
			v[j] = v[j-1]
		}
		v[j] = x
	}
}

// filterMin is the fewest values filterRanks works on; fewer are selected
// in place.
const filterMin = 1 << 14

// filterRanks finds, for each rank k of ranks in w (no NaN), the values a
// sort puts at k and k+1 (the second is w's largest when k is the last
// rank), without moving w: it sorts a sample of w taken at fixed places,
// takes from it two values a ≤ b that bracket rank k, and in one pass
// counts the values below a and copies those in [a, b] out, then selects
// within the copy. It reports false, having found nothing, when w is short
// or a sample misjudged a bracket (a copy too long, or ranks k and k+1 not
// within it); the caller then selects in place.
func filterRanks(w []float32, ranks []int) (map[int][2]float32, bool) {
	n := len(w)
	if n < filterMin || len(ranks) == 0 {
		return nil, false
	}
	const samples, reach = 1024, 64
	sample := make([]float32, samples)
	for i := range sample {
		sample[i] = w[i*(n/samples)+n/(2*samples)]
	}
	slices.Sort(sample)
	limit := 16 * n / samples * (2*reach + 1) / 8 // room for 2× the expected copy
	buf := make([]float32, limit+1)
	out := make(map[int][2]float32, len(ranks))
	for _, k := range ranks {
		p := k * samples / n
		// Infinite ends take everything below or above: w holds no NaN.
		a, b := float32(math.Inf(-1)), float32(math.Inf(1))
		if p-reach >= 0 {
			a = sample[p-reach]
		}
		if p+reach < samples {
			b = sample[p+reach]
		}
		below, kept := 0, 0
		for _, x := range w {
			// No branch on the comparisons, whose outcome follows no
			// pattern: the copy is always written and kept or not.
			buf[kept] = x
			lt, gt := 0, 0
			if x < a {
				lt = 1
			}
			if x > b {
				gt = 1
			}
			below += lt
			kept += 1 - lt - gt
			if kept == limit {
				return nil, false
			}
		}
		want := k - below
		if want < 0 || want >= kept || (k+1 < n && want+1 >= kept) {
			return nil, false
		}
		c := buf[:kept]
		nthElement(c, want)
		next := c[want]
		if want+1 < kept {
			next = slices.Min(c[want+1:])
		}
		out[k] = [2]float32{c[want], next}
	}
	return out, true
}
