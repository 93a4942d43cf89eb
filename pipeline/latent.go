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
	s := NewScorer(m)
	sum := make([]float64, k)
	sumSq := make([]float64, k)
	n := len(x) / d
	for r := 0; r < n; r++ {
		mu := s.encode(x[r*d : (r+1)*d])
		for j, v := range mu {
			sum[j] += float64(v)
			sumSq[j] += float64(v) * float64(v)
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
