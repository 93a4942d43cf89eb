package pipeline

// ActiveUnitThreshold is the variance of a latent unit's posterior mean over
// the data above which the unit counts as active (Burda et al., 2016).
const ActiveUnitThreshold = 0.01

// LatentStats describes how the encoder uses its latent space on a set of
// rows: the variance over the rows of each unit's posterior mean, and how
// many units exceed ActiveUnitThreshold. A collapsed posterior has none.
type LatentStats struct {
	MeanVariance []float64 `json:"posterior_mean_variance"`
	Active       int       `json:"active_units"`
}

// Latent computes LatentStats of m on the raw rows x (row-major).
func (m *Model) Latent(x []float32) LatentStats {
	d, k := m.Dim(), m.LatentDim()
	n := len(x) / d
	// Each half of the rows sums on its own; the halves are added in order.
	var sums, sumSqs [2][]float64
	inHalves(n, func(lo, hi int) {
		h := 0
		if lo > 0 {
			h = 1
		}
		s := NewScorer(m)
		sum, sumSq := make([]float64, k), make([]float64, k)
		for r := lo; r < hi; r++ {
			mu := s.encode(x[r*d : (r+1)*d])
			for j, v := range mu {
				sum[j] += float64(v)
				sumSq[j] += float64(v) * float64(v)
			}
		}
		sums[h], sumSqs[h] = sum, sumSq
	})
	sum, sumSq := make([]float64, k), make([]float64, k)
	for h := range sums {
		for j := range sums[h] {
			sum[j] += sums[h][j]
			sumSq[j] += sumSqs[h][j]
		}
	}
	st := LatentStats{MeanVariance: make([]float64, k)}
	if n == 0 {
		return st
	}
	for j := range sum {
		mean := sum[j] / float64(n)
		v := sumSq[j]/float64(n) - mean*mean
		if v < 0 {
			v = 0
		}
		st.MeanVariance[j] = v
		if v > ActiveUnitThreshold {
			st.Active++
		}
	}
	return st
}
