package pipeline

import (
	"math"
	"math/rand"
	"testing"
)

// TestScorerLoss checks the training objective's two terms against the
// score and the reconstruction the Scorer computes for the same rows: for a
// Gaussian or Laplace model the mean ELBO score is the loss without the
// likelihood's log-scale term, and for a Bernoulli model the reconstruction
// loss is the cross-entropy of the sigmoid output.
func TestScorerLoss(t *testing.T) {
	for _, lik := range []string{"gaussian", "laplace", "bernoulli"} {
		t.Run(lik, func(t *testing.T) {
			const d, n = 3, 50
			m := tinyModel(d, 6)
			// Scaled rows are the network's input: an identity scaler.
			for j := range m.Scaler.Scale {
				m.Scaler.Offset[j], m.Scaler.Scale[j] = 0, 1
			}
			scales := []float32{0.5, 2, 0.25}
			var logScales float64 // Σ_j log s_j, weighted as in the loss
			switch lik {
			case "gaussian":
				m.Variance = scales
				for _, v := range scales {
					logScales += 0.5 * math.Log(float64(v))
				}
			case "laplace":
				m.LaplaceScale = scales
				for _, b := range scales {
					logScales += math.Log(float64(b))
				}
			}
			if lik != "bernoulli" {
				m.Score, m.Decoder[1].Activation = ScoreELBO, Identity
			}
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(8))
			x := make([]float32, n*d)
			for i := range x {
				x[i] = rng.Float32()
			}
			s := NewScorer(m)
			var want float64 // the mean over rows of the row's loss as scored
			for r := 0; r < n; r++ {
				row := x[r*d : (r+1)*d]
				if lik != "bernoulli" {
					want += float64(s.Score(row)) + logScales
					continue
				}
				scaled, mu, recon := s.Reconstruct(row)
				for j, p := range recon {
					v := float64(scaled[j])
					want -= (v*math.Log(float64(p)) + (1-v)*math.Log(1-float64(p))) / d
				}
				want += KL(mu, s.logVar(row))
			}
			want /= n
			rec, kl := NewScorer(m).Loss(x)
			got := rec*d + kl
			if lik == "bernoulli" {
				got = rec + kl
			}
			if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) || !(kl > 0) {
				t.Errorf("loss: reconstruction %v, KL %v: %v; from the scores %v", rec, kl, got, want)
			}
		})
	}
}

// logVar returns the bounded log-variance of the posterior of the raw row x.
func (s *Scorer) logVar(x []float32) []float32 {
	scaled := make([]float32, len(x))
	s.m.ScaleRow(x, scaled)
	h := make([]float32, s.m.Encoder[0].Out)
	s.m.Encoder[0].Apply(scaled, h)
	lv := make([]float32, s.m.LogVar.Out)
	s.m.LogVar.Apply(h, lv)
	s.m.BoundLogVar(lv)
	return lv
}
