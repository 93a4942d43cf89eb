package vae

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/vaejob/vaejob/pipeline"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// network is the training graph and handles to its nodes: the minibatch's
// inputs and the learnables, which newNetwork makes, and the loss, which
// each step builds on them in its own way (autodiffLoss, newFusedStep).
type network struct {
	g                 *G.ExprGraph
	x, eps, wRec, wKL *G.Node
	// rowRec and rowKL are the per-row reconstruction loss (summed over
	// features) and KL: nodes of the autodiff reference only.
	rowRec, rowKL *G.Node
	loss          *G.Node
	enc, dec      []layer
	mu, logVar    layer
	logScaleX     *G.Node // the log-variances (Gaussian) or log-scales (Laplace), nil for Bernoulli
	learnables    G.Nodes
}

// layer is a dense layer's learnables and its activation.
type layer struct {
	w, b *G.Node
	act  pipeline.Activation
}

// newNetwork makes the graph's inputs, for one minibatch of
// cfg.BatchSize rows of d features, and its learnables: the encoder, the mu
// and log-variance heads and the mirrored decoder, drawn from rng in that
// order (see Config.Init), then the likelihood's per-feature log-scales,
// starting at logScale0 (nil for Bernoulli).
func newNetwork(cfg Config, d int, rng *rand.Rand, logScale0 []float32) *network {
	g := G.NewGraph()
	net := &network{g: g}
	b := cfg.BatchSize
	net.x = newInput(g, "x", b, d)
	net.eps = newInput(g, "eps", b, cfg.Latent)
	net.wRec = newInput(g, "w_rec", b)
	net.wKL = newInput(g, "w_kl", b)

	width := d
	for i, h := range cfg.Hidden {
		net.enc = append(net.enc, net.newLayer(cfg.Init, fmt.Sprintf("enc%d", i), width, h, pipeline.ReLU, rng))
		width = h
	}
	net.mu = net.newLayer(cfg.Init, "mu", width, cfg.Latent, pipeline.Identity, rng)
	net.logVar = net.newLayer(cfg.Init, "logvar", width, cfg.Latent, pipeline.Identity, rng)
	width = cfg.Latent
	for i := len(cfg.Hidden) - 1; i >= 0; i-- {
		net.dec = append(net.dec, net.newLayer(cfg.Init, fmt.Sprintf("dec%d", len(net.dec)), width, cfg.Hidden[i], pipeline.ReLU, rng))
		width = cfg.Hidden[i]
	}
	outAct := pipeline.Identity
	if cfg.Likelihood == Bernoulli {
		outAct = pipeline.Sigmoid
	}
	net.dec = append(net.dec, net.newLayer(cfg.Init, fmt.Sprintf("dec%d", len(net.dec)), width, d, outAct, rng))
	if cfg.Likelihood == Gaussian || cfg.Likelihood == Laplace {
		net.logScaleX = G.NewVector(g, tensor.Float32, G.WithShape(d), G.WithName("x_logscale"),
			G.WithValue(tensor.New(tensor.WithShape(d), tensor.WithBacking(logScale0))))
		net.learnables = append(net.learnables, net.logScaleX)
	}
	return net
}

// newInput makes a float32 input node of the given shape (a vector or a
// matrix) with a zeroed value for the training loop to fill.
func newInput(g *G.ExprGraph, name string, shape ...int) *G.Node {
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	if len(shape) == 1 {
		return G.NewVector(g, tensor.Float32, G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	}
	return G.NewMatrix(g, tensor.Float32, G.WithShape(shape...), G.WithName(name), G.WithValue(t))
}

// newLayer draws a dense layer's initial weights from rng and adds them to
// the learnables.
func (net *network) newLayer(init Init, name string, in, out int, act pipeline.Activation, rng *rand.Rand) layer {
	var w, bias []float32
	switch init {
	case InitGlorot:
		w, bias = glorotInit(in, out, rng)
	default:
		w, bias = pytorchInit(in, out, rng)
	}
	l := layer{
		w:   G.NewMatrix(net.g, tensor.Float32, G.WithShape(in, out), G.WithName(name+".w"), G.WithValue(tensor.New(tensor.WithShape(in, out), tensor.WithBacking(w)))),
		b:   G.NewVector(net.g, tensor.Float32, G.WithShape(out), G.WithName(name+".b"), G.WithValue(tensor.New(tensor.WithShape(out), tensor.WithBacking(bias)))),
		act: act,
	}
	net.learnables = append(net.learnables, l.w, l.b)
	return l
}

// initialLogScales returns the likelihood's initial per-feature log-scales
// on the training rows x of d features: nil for Bernoulli.
func initialLogScales(lik Likelihood, x []float32, d int) []float32 {
	switch lik {
	case Gaussian:
		return featureLogVariance(x, d)
	case Laplace:
		return featureLogMAD(x, d)
	}
	return nil
}

// featureLogVariance returns the log of each feature's variance over the
// rows of x, floored at 1e-6: the initial Gaussian log-variances.
func featureLogVariance(x []float32, d int) []float32 {
	n := len(x) / d
	out := make([]float32, d)
	for j := 0; j < d; j++ {
		var sum, sumSq float64
		for r := 0; r < n; r++ {
			v := float64(x[r*d+j])
			sum += v
			sumSq += v * v
		}
		mean := sum / float64(n)
		out[j] = float32(math.Log(max(sumSq/float64(n)-mean*mean, 0) + 1e-6))
	}
	return out
}

// featureLogMAD returns the log of each feature's mean absolute deviation
// from its median over the rows of x, plus 1e-6: the initial Laplace
// log-scales (the floor comes on top).
func featureLogMAD(x []float32, d int) []float32 {
	n := len(x) / d
	out := make([]float32, d)
	pipeline.EachColumnOf(x, d, func(j int, col []float32) {
		var dev float64
		med := float64(pipeline.Quantile(col, 0.5))
		for _, v := range col { // in row order
			dev += math.Abs(float64(v) - med)
		}
		out[j] = float32(math.Log(dev/float64(n) + 1e-6))
	})
	return out
}

// pytorchInit draws a layer's weights as torch.nn.Linear does by default:
// kaiming_uniform with a = sqrt(5) gives U(-1/sqrt(in), 1/sqrt(in)) for the
// weights, and the bias uses the same bound. W is returned [in, out]
// row-major, drawn in PyTorch's [out, in] order.
func pytorchInit(in, out int, rng *rand.Rand) (w, b []float32) {
	bound := 1 / math.Sqrt(float64(in))
	w = make([]float32, in*out)
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			w[i*out+o] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	b = make([]float32, out)
	for o := range b {
		b[o] = float32((2*rng.Float64() - 1) * bound)
	}
	return w, b
}

// glorotInit draws weights U(-a, a), a = sqrt(6/(in+out)), drawn in
// PyTorch's [out, in] order, and zero biases.
func glorotInit(in, out int, rng *rand.Rand) (w, b []float32) {
	bound := math.Sqrt(6 / float64(in+out))
	w = make([]float32, in*out)
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			w[i*out+o] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	return w, make([]float32, out)
}

// model copies the current weights out of the graph.
func (net *network) model(names []string, cfg Config) *pipeline.Model {
	dense := func(l layer) pipeline.Dense {
		shape := l.w.Shape()
		return pipeline.Dense{
			In: shape[0], Out: shape[1],
			W:          append([]float32(nil), l.w.Value().Data().([]float32)...),
			B:          append([]float32(nil), l.b.Value().Data().([]float32)...),
			Activation: l.act,
		}
	}
	m := &pipeline.Model{Features: names, Score: cfg.Score, LogVarBound: cfg.LogVarBound}
	for _, l := range net.enc {
		m.Encoder = append(m.Encoder, dense(l))
	}
	m.Mu = dense(net.mu)
	m.LogVar = dense(net.logVar)
	for _, l := range net.dec {
		m.Decoder = append(m.Decoder, dense(l))
	}
	if net.logScaleX != nil {
		ls := net.logScaleX.Value().Data().([]float32)
		scale := make([]float32, len(ls))
		for j, s := range ls {
			scale[j] = float32(math.Exp(float64(s))) + cfg.scaleFloor()
		}
		if cfg.Likelihood == Laplace {
			m.LaplaceScale = scale
		} else {
			m.Variance = scale
		}
	}
	return m
}
