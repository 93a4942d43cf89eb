package vae

import (
	"fmt"

	"github.com/vaejob/vaejob/pipeline"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// autodiffStep is the reference trainer's step: the loss as a gorgonia
// graph of elementary operations (one node per matrix product, bias,
// activation and loss term) and its gradients from gorgonia's automatic
// differentiation. It is the plain statement of the mathematics that
// fusedStep computes by hand, and the tests hold the fused step to it; the
// trainer uses it with Config.Fused off (--trainer graph).
type autodiffStep struct {
	*tape
	// forward runs the graph's forward pass only, to get the per-row terms
	// a trimmed batch is weighed by; nil without trimming.
	forward G.VM
}

// newAutodiffStep builds the autodiff loss on net.
func newAutodiffStep(cfg Config, net *network) (*autodiffStep, error) {
	if err := net.autodiffLoss(cfg); err != nil {
		return nil, err
	}
	s := &autodiffStep{tape: newTape(cfg, net)}
	if cfg.Trim > 0 {
		s.forward = G.NewTapeMachine(net.g.SubgraphRoots(net.rowRec, net.rowKL))
	}
	return s, nil
}

// step runs the graph, after a forward pass for the per-row terms when
// weigh is set, and applies the Adam update.
func (s *autodiffStep) step(weigh weighFunc) (stepLoss, error) {
	if weigh != nil {
		rec, kl, err := s.rowTerms()
		if err != nil {
			return stepLoss{}, fmt.Errorf("forward pass: %w", err)
		}
		weigh(rec, kl)
	}
	loss, err := s.run()
	if err != nil {
		return stepLoss{}, err
	}
	rec, kl := s.net.rowRec.Value().Data().([]float32), s.net.rowKL.Value().Data().([]float32)
	return stepLoss{loss: loss, rec: rec, kl: kl}, s.update()
}

// rowTerms runs the graph's forward pass only and returns each row's
// reconstruction loss and KL, for trimming.
func (s *autodiffStep) rowTerms() (rec, kl []float32, err error) {
	defer s.forward.Reset()
	if err := s.forward.RunAll(); err != nil {
		return nil, nil, err
	}
	return s.net.rowRec.Value().Data().([]float32), s.net.rowKL.Value().Data().([]float32), nil
}

func (s *autodiffStep) close() {
	if s.forward != nil {
		s.forward.Close()
	}
	s.tape.close()
}

// autodiffLoss builds the loss on the network's inputs and learnables as
// a graph of elementary operations, with the per-row terms net.rowRec and
// net.rowKL on the way, and its symbolic gradient with respect to every
// learnable.
func (net *network) autodiffLoss(cfg Config) error {
	half := G.NewConstant(float32(0.5))
	mu, logVar, z, err := net.encodeAndSample(cfg, half)
	if err != nil {
		return err
	}
	h := z
	for i, l := range net.dec {
		// The last layer stays linear: BCE is computed from its logit, and a
		// Gaussian mean is linear anyway.
		if h, err = l.forward(h, i < len(net.dec)-1); err != nil {
			return err
		}
	}
	rowRec := net.reconstructionLoss(cfg, h, half)
	// KL(N(mu, exp(lv)) ‖ N(0, 1)) = -0.5 Σ (1 + lv - mu² - exp(lv)).
	one := G.NewConstant(float32(1))
	klElem := G.Must(G.Sub(G.Must(G.Add(logVar, one)), G.Must(G.Add(G.Must(G.Square(mu)), G.Must(G.Exp(logVar))))))
	rowKL := G.Must(G.HadamardProd(G.Must(G.Sum(klElem, 1)), G.NewConstant(float32(-0.5))))

	net.rowRec, net.rowKL = rowRec, rowKL
	recTerm := G.Must(G.Sum(G.Must(G.HadamardProd(rowRec, net.wRec))))
	klTerm := G.Must(G.Sum(G.Must(G.HadamardProd(rowKL, net.wKL))))
	net.loss = G.Must(G.Add(recTerm, klTerm))
	if _, err := G.Grad(net.loss, net.learnables...); err != nil {
		return fmt.Errorf("gradient: %w", err)
	}
	return nil
}

// encodeAndSample runs the encoder to the posterior's mean and (bounded)
// log-variance and draws the latent code z = mu + exp(½ lv) ⊙ eps.
func (net *network) encodeAndSample(cfg Config, half *G.Node) (mu, logVar, z *G.Node, err error) {
	h := net.x
	for _, l := range net.enc {
		if h, err = l.forward(h, true); err != nil {
			return nil, nil, nil, err
		}
	}
	if mu, err = net.mu.forward(h, false); err != nil {
		return nil, nil, nil, err
	}
	if logVar, err = net.logVar.forward(h, false); err != nil {
		return nil, nil, nil, err
	}
	if b := cfg.LogVarBound; b > 0 {
		inner := G.Must(G.HadamardProd(logVar, G.NewConstant(1/b)))
		logVar = G.Must(G.HadamardProd(G.Must(G.Tanh(inner)), G.NewConstant(b)))
	}
	std := G.Must(G.Exp(G.Must(G.HadamardProd(logVar, half))))
	z = G.Must(G.Add(mu, G.Must(G.HadamardProd(std, net.eps))))
	return mu, logVar, z, nil
}

// reconstructionLoss returns each row's reconstruction loss, summed over
// features, of the decoder's output h (its last layer's pre-activation).
func (net *network) reconstructionLoss(cfg Config, h, half *G.Node) *G.Node {
	if cfg.Likelihood == Bernoulli {
		// BCE(x, sigmoid(a)) = softplus(a) - x·a, summed over features.
		bce := G.Must(G.Sub(G.Must(G.Softplus(h)), G.Must(G.HadamardProd(net.x, h))))
		return G.Must(G.Sum(bce, 1))
	}
	// Gaussian: ½ Σ_j ((x - x̂)² · exp(-s_j) + s_j), s the log-variances.
	// Laplace:  Σ_j (|x - x̂| · exp(-s_j) + s_j), s the log-scales.
	// The scale is exp(s) plus a floor, so that a feature the decoder
	// reconstructs perfectly on the training rows (one that is constant
	// there) cannot drive its scale, and the score of any other value,
	// to infinity.
	scale := G.Must(G.Add(G.Must(G.Exp(net.logScaleX)), G.NewConstant(cfg.scaleFloor())))
	inverse := G.Must(G.Inverse(scale))
	logScale := G.Must(G.Log(scale))
	diff := G.Must(G.Sub(net.x, h))
	var dev *G.Node
	if cfg.Likelihood == Gaussian {
		dev = G.Must(G.Square(diff))
	} else {
		dev = G.Must(G.Abs(diff))
	}
	weighted := G.Must(G.BroadcastHadamardProd(dev, inverse, nil, []byte{0}))
	perRow := G.Must(G.BroadcastAdd(weighted, logScale, nil, []byte{0}))
	if cfg.noRecon != nil {
		// The spike features are not reconstructed (Config.Spikes).
		keep := make([]float32, len(cfg.noRecon))
		for j, skip := range cfg.noRecon {
			if !skip {
				keep[j] = 1
			}
		}
		mask := G.NewVector(h.Graph(), tensor.Float32, G.WithShape(len(keep)), G.WithName("keep_reconstruction"),
			G.WithValue(tensor.New(tensor.WithShape(len(keep)), tensor.WithBacking(keep))))
		perRow = G.Must(G.BroadcastHadamardProd(perRow, mask, nil, []byte{0}))
	}
	rowRec := G.Must(G.Sum(perRow, 1))
	if cfg.Likelihood == Gaussian {
		rowRec = G.Must(G.HadamardProd(rowRec, half))
	}
	return rowRec
}

// forward applies the layer to x in the graph: x·W + b, then the ReLU when
// activate is set and the layer has one.
func (l layer) forward(x *G.Node, activate bool) (*G.Node, error) {
	xw, err := G.Mul(x, l.w)
	if err != nil {
		return nil, err
	}
	y, err := G.BroadcastAdd(xw, l.b, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	if activate && l.act == pipeline.ReLU {
		return G.Rectify(y)
	}
	return y, nil
}
