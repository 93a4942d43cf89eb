package pipeline

import "math/rand"

// TestVector is a handful of synthetic rows with the scores (and tail
// probabilities) the Go scorer gives them. It travels in the model's metadata so any runtime can check the
// file it loaded. The rows are drawn uniformly within the training min/max of
// each feature, never copied from the data; a constant feature (see
// Model.Constant) holds its constant in the even rows and departs from it by
// up to twice its departure scale in the odd ones, and a spike feature
// (see Model.Spikes) holds its spike in the even rows, so that the check
// covers both sides of each.
type TestVector struct {
	Rows   [][]float32 `json:"rows"`
	Scores []float32   `json:"scores"`
	// TailProbability holds each row's tail probability (see TailTable),
	// when the model has a tail table.
	TailProbability []float32 `json:"tail_probability,omitempty"`
}

// MakeTestVector draws n synthetic rows from rng and scores them with m.
func MakeTestVector(m *Model, rng *rand.Rand, n int) TestVector {
	s := NewScorer(m)
	constant := make([]bool, m.Dim())
	for _, j := range m.Constant {
		constant[j] = true
	}
	tv := TestVector{Rows: make([][]float32, n), Scores: make([]float32, n)}
	var tail *TailReader
	if m.Tail != nil {
		tail = m.Tail.Reader()
	}
	for i := range tv.Rows {
		row := make([]float32, m.Dim())
		for j := range row {
			lo, hi := m.Scaler.Min[j], m.Scaler.Max[j]
			if constant[j] && i%2 == 1 {
				dep := DepartureScale(lo)
				lo, hi = lo-2*dep, hi+2*dep
			}
			row[j] = lo + float32(rng.Float64())*(hi-lo)
		}
		if i%2 == 0 { // on the spikes, which a uniform draw never hits
			for _, sp := range m.Spikes {
				if raw, ok := m.RawSpike(sp); ok {
					row[sp.Feature] = raw
				}
			}
		}
		tv.Rows[i] = row
		tv.Scores[i] = s.Score(row)
		if tail != nil {
			tv.TailProbability = append(tv.TailProbability, tail.Probability(tv.Scores[i]))
		}
	}
	return tv
}
