package pipeline

import (
	"errors"
	"fmt"
	"math"
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
	for j := 0; j < l.Out; j++ {
		s := float64(l.B[j])
		for i := 0; i < l.In; i++ {
			s += float64(x[i]) * float64(l.W[i*l.Out+j])
		}
		out[j] = activate(l.Activation, s)
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

// ScoreKind names how a row's anomaly score is computed.
type ScoreKind string

// ScoreMSE is the mean over features of the squared difference between the
// scaled row and the decoder's output at the posterior mean (no sampling).
const ScoreMSE ScoreKind = "mse_mu"

// Model is a trained VAE anomaly detector as plain data. The scoring path is
// raw row → Scaler → Encoder layers → Mu → Decoder layers → score.
// LogVar is kept for KL and diagnostics; scoring with ScoreMSE does not use it.
type Model struct {
	Features []string
	Scaler   Scaler
	Encoder  []Dense // hidden layers from d to the last hidden width
	Mu       Dense   // last hidden width → latent
	LogVar   Dense   // last hidden width → latent
	Decoder  []Dense // latent → d, the last layer's activation gives the reconstruction
	Score    ScoreKind

	// Threshold: a row is an anomaly when its score is strictly greater.
	Threshold       float32
	ThresholdMethod string // as given, e.g. "quantile:0.99"
}

// Dim returns the number of input features.
func (m *Model) Dim() int { return len(m.Features) }

// LatentDim returns the width of the latent space.
func (m *Model) LatentDim() int { return m.Mu.Out }

// Validate checks that the layer shapes chain together and that every
// parameter is finite. Encoders, decoders and scorers rely on it.
func (m *Model) Validate() error {
	d := len(m.Features)
	if d == 0 {
		return errors.New("model has no features")
	}
	if err := m.Scaler.validate(d); err != nil {
		return err
	}
	if m.Score != ScoreMSE {
		return fmt.Errorf("unknown score kind %q", m.Score)
	}
	width := d
	check := func(name string, l *Dense) error {
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
	for i := range m.Encoder {
		if err := check(fmt.Sprintf("encoder layer %d", i), &m.Encoder[i]); err != nil {
			return err
		}
		width = m.Encoder[i].Out
	}
	if err := check("mu", &m.Mu); err != nil {
		return err
	}
	if m.LogVar.Out != 0 {
		if err := check("logvar", &m.LogVar); err != nil {
			return err
		}
		if m.LogVar.Out != m.Mu.Out {
			return fmt.Errorf("logvar width %d differs from mu width %d", m.LogVar.Out, m.Mu.Out)
		}
	}
	width = m.Mu.Out
	for i := range m.Decoder {
		if err := check(fmt.Sprintf("decoder layer %d", i), &m.Decoder[i]); err != nil {
			return err
		}
		width = m.Decoder[i].Out
	}
	if width != d {
		return fmt.Errorf("decoder output width %d, want %d features", width, d)
	}
	if math.IsNaN(float64(m.Threshold)) {
		return errors.New("threshold is NaN")
	}
	return nil
}

func allFinite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
