package pipeline

import "math/rand"

// TestVector is a handful of synthetic rows with the scores the Go scorer
// gives them. It travels in the model's metadata so any runtime can check the
// file it loaded. The rows are drawn uniformly within the training min/max of
// each feature, never copied from the data.
type TestVector struct {
	Rows   [][]float32 `json:"rows"`
	Scores []float32   `json:"scores"`
}

// MakeTestVector draws n synthetic rows from rng and scores them with m.
func MakeTestVector(m *Model, rng *rand.Rand, n int) TestVector {
	s := NewScorer(m)
	tv := TestVector{Rows: make([][]float32, n), Scores: make([]float32, n)}
	for i := range tv.Rows {
		row := make([]float32, m.Dim())
		for j := range row {
			lo, hi := m.Scaler.Min[j], m.Scaler.Max[j]
			row[j] = lo + float32(rng.Float64())*(hi-lo)
		}
		tv.Rows[i] = row
		tv.Scores[i] = s.Score(row)
	}
	return tv
}
