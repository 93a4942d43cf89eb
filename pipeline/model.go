package pipeline

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Activation is the nonlinearity applied after a dense layer.
type Activation int

// The activations a Dense layer can use.
const (
	Identity Activation = iota
	ReLU
	Sigmoid
)

// String returns the activation's lower-case name ("identity", "relu", "sigmoid").
func (a Activation) String() string {
	switch a {
	case Identity:
		return "identity"
	case ReLU:
		return "relu"
	case Sigmoid:
		return "sigmoid"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Dense is a fully connected layer y = act(x·W + B). W is stored row-major
// with In rows and Out columns, so W[i*Out+j] connects input i to output j.
type Dense struct {
	In, Out    int
	W          []float32
	B          []float32
	Activation Activation
}

// Apply computes the layer for one input row x (len In) into out (len Out).
// It accumulates in float64 and rounds once per output.
func (l *Dense) Apply(x, out []float32) {
	var buf [256]float64
	acc := buf[:min(l.Out, len(buf))]
	if l.Out > len(buf) {
		acc = make([]float64, l.Out)
	}
	l.preActivation(x, acc)
	for j, s := range acc {
		out[j] = activate(l.Activation, s)
	}
}

// preActivation computes x·W + B for one input row x into acc (len Out) in
// float64, before the activation: each output sums b_j + x_0·w_0j +
// x_1·w_1j + ... in that order; the loop runs over the rows of W so that
// it reads memory in order.
func (l *Dense) preActivation(x []float32, acc []float64) {
	for j := range acc {
		acc[j] = float64(l.B[j])
	}
	for i := 0; i < l.In; i++ {
		xi := float64(x[i])
		for j, w := range l.W[i*l.Out : (i+1)*l.Out] {
			acc[j] += xi * float64(w)
		}
	}
}

func activate(a Activation, s float64) float32 {
	switch a {
	case ReLU:
		if s < 0 {
			return 0
		}
	case Sigmoid:
		return float32(1 / (1 + math.Exp(-s)))
	}
	return float32(s)
}

// ScoreKind names how a row's anomaly score is computed. Every kind is a
// deterministic function of the row: the decoder is fed the posterior mean,
// never a sample.
type ScoreKind string

// Score kinds. x is the scaled row, x̂ the decoder's output at the posterior
// mean mu and lv the encoder's log-variance. The likelihood scores use the
// model's per-feature Gaussian variance σ² (Model.Variance) or Laplace scale
// b (Model.LaplaceScale); with a Laplace likelihood, ½ (x - x̂)²/σ² below
// reads |x - x̂|/b.
const (
	// ScoreMSE is the mean over features of (x - x̂)².
	ScoreMSE ScoreKind = "mse_mu"
	// ScoreNLL is the Gaussian negative log-likelihood of x under x̂ without
	// its constant: ½ Σ (x - x̂)² / σ².
	ScoreNLL ScoreKind = "nll_mu"
	// ScoreELBO is the negative ELBO at the posterior mean without constants:
	// ScoreNLL + KL(N(mu, exp(lv)) ‖ N(0, I)), KL = ½ Σ (mu² + exp(lv) - lv - 1).
	ScoreELBO ScoreKind = "elbo_mu"
	// ScoreNLLLatent is ScoreNLL + ½ Σ mu²: the reconstruction plus how far
	// the row's code lies from the prior's centre.
	ScoreNLLLatent ScoreKind = "nll_mu_latent"
)

// ScoreKinds lists the known score kinds.
var ScoreKinds = []ScoreKind{ScoreMSE, ScoreNLL, ScoreELBO, ScoreNLLLatent}

// needsVariance reports whether the score divides by Model.Variance.
func (k ScoreKind) needsVariance() bool { return k != ScoreMSE }

// Model is a trained VAE anomaly detector as plain data. The scoring path is
// raw row → Scaler → Encoder layers → Mu (and LogVar) → Decoder layers →
// score.
type Model struct {
	Features []string
	// Imputation, when set, holds per-feature values (the training
	// medians) that replace a missing input (see IsMissing) before scaling.
	// Without it a row with a missing value scores NaN and is flagged.
	Imputation []float32
	// LegacyMissing marks a model read from a file of the earlier format
	// (vaejob.format_version 2), whose graph takes only NaN and ±Inf for
	// missing and, without imputation, lets them through the arithmetic (a
	// row with ±Inf scores ±Inf or NaN, flagged either way). The Go scorer
	// then does the same, so that it agrees with the file in every runtime.
	LegacyMissing bool
	Scaler        Scaler
	// Constant lists, in increasing order, the features that held one value
	// on every training row. The network does not see them: it reads the
	// other features in order (NetworkDim of them) and reconstructs those.
	// A constant feature's reconstruction is taken as 0 in scaled units, so
	// its score term measures the scaled value itself: the scaler maps the
	// constant c to 0 and a departure by DepartureScale(c) to ±1 (a scaler
	// Scale of 0 makes a feature that the model ignores).
	Constant []int
	Encoder  []Dense // hidden layers from d to the last hidden width
	Mu       Dense   // last hidden width → latent
	LogVar   Dense   // last hidden width → latent; scores of kind ScoreELBO use it
	// LogVarBound, when positive, bounds the encoder's log-variance smoothly
	// to (-B, B): lv = B·tanh(LogVar(h)/B), so that a row unlike any
	// training row cannot overflow exp(lv).
	LogVarBound float32
	Decoder     []Dense // latent → d, the last layer's activation gives the reconstruction
	// Variance is the per-feature variance σ² of a Gaussian likelihood, in
	// scaled units; nil for a Bernoulli likelihood.
	Variance []float32
	// LaplaceScale is the per-feature scale b of a Laplace likelihood, in
	// scaled units; nil otherwise. At most one of Variance and LaplaceScale
	// is set.
	LaplaceScale []float32
	// Spikes lists, in increasing order of feature, the varying features
	// scored as a spike and a slab (see Spike). Their likelihood scale is
	// the slab's, fitted on the training rows off the spike.
	Spikes []Spike
	Score  ScoreKind

	// Threshold: a row is an anomaly when its score is strictly greater.
	Threshold       float32
	ThresholdMethod string // as given, e.g. "quantile:0.99"
	// Tail turns a score into its tail probability among the validation
	// rows the threshold was chosen on (see TailTable); nil for a model
	// read from a file of an earlier format, which has none.
	Tail *TailTable
}

// Dim returns the number of input features.
func (m *Model) Dim() int { return len(m.Features) }

// LatentDim returns the width of the latent space.
func (m *Model) LatentDim() int { return m.Mu.Out }

// Validate checks that the layer shapes chain together and that every
// parameter is finite. Encoders, decoders and scorers rely on it. It checks
// the inputs (features, scaler, imputation, constant features), then the
// score and the likelihood it needs, then the layers, then the threshold.
func (m *Model) Validate() error {
	if err := m.validateInputs(); err != nil {
		return err
	}
	if err := m.validateScore(); err != nil {
		return err
	}
	if err := m.validateSpikes(); err != nil {
		return err
	}
	if err := m.validateLayers(); err != nil {
		return err
	}
	if math.IsNaN(float64(m.Threshold)) {
		return errors.New("threshold is NaN")
	}
	if m.Tail != nil {
		return m.Tail.validate()
	}
	return nil
}

// validateInputs checks what a raw row goes through before the network:
// the features, the scaler, the imputation values and the constant
// features.
func (m *Model) validateInputs() error {
	d := len(m.Features)
	if d == 0 {
		return errors.New("model has no features")
	}
	if err := m.Scaler.validate(d); err != nil {
		return err
	}
	if m.Imputation != nil && (len(m.Imputation) != d || !allFinite(m.Imputation)) {
		return fmt.Errorf("%d imputation values for %d features, or a non-finite one", len(m.Imputation), d)
	}
	for i, j := range m.Constant {
		if j < 0 || j >= d || i > 0 && j <= m.Constant[i-1] {
			return fmt.Errorf("constant feature indices %v: want increasing indices below %d", m.Constant, d)
		}
	}
	return nil
}

// validateScore checks the score kind and that the model has what it
// needs: the likelihood's per-feature scales, the log-variance head.
func (m *Model) validateScore() error {
	if !slices.Contains(ScoreKinds, m.Score) {
		return fmt.Errorf("unknown score kind %q", m.Score)
	}
	spread := m.Variance
	if m.LaplaceScale != nil {
		if m.Variance != nil {
			return errors.New("a model has Gaussian variances or Laplace scales, not both")
		}
		spread = m.LaplaceScale
	}
	if spread != nil {
		if len(spread) != len(m.Features) {
			return fmt.Errorf("%d likelihood scales for %d features", len(spread), len(m.Features))
		}
		for j, v := range spread {
			if !(v > 0) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("likelihood scale of feature %d is %v; want a positive finite number", j, v)
			}
		}
	} else if m.Score.needsVariance() {
		return fmt.Errorf("score kind %s needs per-feature variances or Laplace scales", m.Score)
	}
	if m.Score == ScoreELBO && m.LogVar.Out == 0 {
		return errors.New("score kind elbo_mu needs the log-variance head")
	}
	return nil
}

// validateLayers checks that the layers chain from the varying features
// through the encoder, the latent heads and the decoder back to the
// varying features, with finite parameters.
func (m *Model) validateLayers() error {
	width := m.NetworkDim()
	for i := range m.Encoder {
		if err := m.Encoder[i].validate(fmt.Sprintf("encoder layer %d", i), width); err != nil {
			return err
		}
		width = m.Encoder[i].Out
	}
	if err := m.Mu.validate("mu", width); err != nil {
		return err
	}
	if m.LogVar.Out != 0 {
		if err := m.LogVar.validate("logvar", width); err != nil {
			return err
		}
		if m.LogVar.Out != m.Mu.Out {
			return fmt.Errorf("logvar width %d differs from mu width %d", m.LogVar.Out, m.Mu.Out)
		}
	}
	width = m.Mu.Out
	for i := range m.Decoder {
		if err := m.Decoder[i].validate(fmt.Sprintf("decoder layer %d", i), width); err != nil {
			return err
		}
		width = m.Decoder[i].Out
	}
	if width != m.NetworkDim() {
		return fmt.Errorf("decoder output width %d, want %d varying features", width, m.NetworkDim())
	}
	return nil
}

// validate checks that the layer, called name in errors, takes an input
// of width values and has finite parameters of its shape.
func (l *Dense) validate(name string, width int) error {
	if l.In != width {
		return fmt.Errorf("%s: input width %d, want %d", name, l.In, width)
	}
	if len(l.W) != l.In*l.Out || len(l.B) != l.Out {
		return fmt.Errorf("%s: %d weights and %d biases for %dx%d", name, len(l.W), len(l.B), l.In, l.Out)
	}
	if !allFinite(l.W) || !allFinite(l.B) {
		return fmt.Errorf("%s: non-finite parameter", name)
	}
	return nil
}

// widest returns the width of the widest row a scorer holds: the input or
// any encoder or decoder layer's output.
func (m *Model) widest() int {
	width := m.Dim()
	for _, l := range m.Encoder {
		width = max(width, l.Out)
	}
	for _, l := range m.Decoder {
		width = max(width, l.Out)
	}
	return width
}

func allFinite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
