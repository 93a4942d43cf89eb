package pipeline

// ActiveUnitThreshold is the variance of a latent unit's posterior mean over
// the data above which the unit counts as active (Burda et al., 2016).
const ActiveUnitThreshold = 0.01

// latentPieceRows is the fewest rows a piece of Latent's sums holds.
const latentPieceRows = 2048

// LatentStats describes how the encoder uses its latent space on a set of
// rows: the variance over the rows of each unit's posterior mean, and how
// many units exceed ActiveUnitThreshold. A collapsed posterior has none.
type LatentStats struct {
	MeanVariance []float64 `json:"posterior_mean_variance"`
	Active       int       `json:"active_units"`
}

// Latent computes LatentStats of m on the raw rows x (row-major), the
// posterior means computed a block of rows at a time as the batched scorer
// does.
func (m *Model) Latent(x []float32) LatentStats {
	d, k := m.Dim(), m.LatentDim()
	n := len(x) / d
	// Each piece of the rows sums on its own; the pieces are added in order.
	pieces := PieceResults(n, latentPieceRows, func(lo, hi int) [2][]float64 {
		bs := newBatchScorer(m)
		sum, sumSq := make([]float64, k), make([]float64, k)
		for r := lo; r < hi; r += batchRows {
			mu := bs.encode(x[r*d : min(hi, r+batchRows)*d])
			for i, v := range mu {
				sum[i%k] += float64(v)
				sumSq[i%k] += float64(v) * float64(v)
			}
		}
		return [2][]float64{sum, sumSq}
	})
	sum, sumSq := make([]float64, k), make([]float64, k)
	for _, p := range pieces {
		for j := range sum {
			sum[j] += p[0][j]
			sumSq[j] += p[1][j]
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
