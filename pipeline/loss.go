package pipeline

import "math"

// Loss returns the two terms of the training objective of the Scorer's
// model on rows, at the posterior mean (the decoder is fed mu, not a
// sample): the mean reconstruction loss per feature and the mean KL per
// row. The reconstruction loss is the model's likelihood without its
// constant: the Gaussian negative log-likelihood for a model with
// Variance, the Laplace one for a model with LaplaceScale, and otherwise
// the binary cross-entropy, computed from the output layer's
// pre-activation (the logit) in float64. Spike features (Model.Spikes)
// are left out: the network does not reconstruct them.
//
// rows are as the network reads them, not raw: row-major, scaled, with
// NetworkDim values each (the varying features). The trainer measures its
// validation loss with it, on a model whose Scaler is not set yet.
func (s *Scorer) Loss(rows []float32) (rec, kl float64) {
	m := s.m
	d := m.NetworkDim()
	n := len(rows) / d
	last := len(m.Decoder) - 1
	out := &m.Decoder[last]
	if len(s.logits) < out.Out {
		s.logits = make([]float64, out.Out)
	}
	logits := s.logits[:out.Out]
	for r := 0; r < n; r++ {
		row := rows[r*d : (r+1)*d]
		h := s.chain(m.Encoder, row)
		m.Mu.Apply(h, s.mu)
		m.LogVar.Apply(h, s.lv)
		m.BoundLogVar(s.lv)
		out.preActivation(s.chain(m.Decoder[:last], s.mu), logits)
		rec = m.addReconstructionLoss(rec, row, logits, s.spikeAt)
		kl += KL(s.mu, s.lv)
	}
	return rec / float64(n*d), kl / float64(n)
}

// addReconstructionLoss adds to sum, feature by feature, the
// reconstruction loss of the network-input row x given the output layer's
// pre-activation a (see Scorer.Loss), and returns the new sum. The
// features with a spike (spikeAt[j] ≥ 0; none when spikeAt is nil) are
// not reconstructed, and add nothing.
func (m *Model) addReconstructionLoss(sum float64, x []float32, a []float64, spikeAt []int) float64 {
	for j, s := range a {
		switch {
		case spikeAt != nil && spikeAt[j] >= 0:
		case m.Variance != nil:
			v := float64(m.Variance[j])
			diff := float64(x[j]) - s
			sum += 0.5 * (diff*diff/v + math.Log(v))
		case m.LaplaceScale != nil:
			b := float64(m.LaplaceScale[j])
			sum += math.Abs(float64(x[j])-s)/b + math.Log(b)
		default:
			sum += softplus(s) - float64(x[j])*s // BCE from the logit
		}
	}
	return sum
}

// softplus returns log(1 + exp(x)) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
