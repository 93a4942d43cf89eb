package vae

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"

	"github.com/vaejob/vaejob/pipeline"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrDiverged reports a training loss that became NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// Objective names how the per-row loss terms are weighted.
type Objective string

// Objectives.
const (
	// ObjectiveTutorial is the seed tutorial's loss: BCE averaged over batch ×
	// features plus KL summed over the batch, so the KL term outweighs the
	// reconstruction by batch × d and the posterior collapses.
	ObjectiveTutorial Objective = "tutorial"
)

// Config holds the network shape and the training settings.
type Config struct {
	Hidden       []int // encoder widths from the input side; the decoder mirrors them
	Latent       int
	Epochs       int
	BatchSize    int
	LearningRate float64
	Objective    Objective
}

// TutorialConfig is the network and training of the seed tutorial.
func TutorialConfig() Config {
	return Config{Hidden: []int{32, 16}, Latent: 10, Epochs: 100, BatchSize: 256, LearningRate: 1e-3, Objective: ObjectiveTutorial}
}

// Validate reports settings that cannot train.
func (c Config) Validate() error {
	switch {
	case len(c.Hidden) == 0:
		return errors.New("at least one hidden layer is needed")
	case c.Latent < 1:
		return fmt.Errorf("latent dimension %d: want at least 1", c.Latent)
	case c.Epochs < 1:
		return fmt.Errorf("epochs %d: want at least 1", c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d: want at least 1", c.BatchSize)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("learning rate %g: want a positive number", c.LearningRate)
	case c.Objective != ObjectiveTutorial:
		return fmt.Errorf("unknown objective %q", c.Objective)
	}
	for _, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("hidden width %d: want at least 1", h)
		}
	}
	return nil
}

// EpochStats is the loss of one epoch. Reconstruction is the mean BCE per
// feature and KL the mean KL divergence per row, each averaged over the rows
// of the epoch; Loss is the objective as optimised, averaged over minibatches.
// The validation figures are computed at the posterior mean (no sampling).
type EpochStats struct {
	Epoch             int     `json:"epoch"`
	Loss              float64 `json:"loss"`
	Reconstruction    float64 `json:"reconstruction"`
	KL                float64 `json:"kl"`
	ValReconstruction float64 `json:"validation_reconstruction"`
	ValKL             float64 `json:"validation_kl"`
	ValLoss           float64 `json:"validation_loss"`
	Steps             int     `json:"steps"`
	RowsPerSecond     float64 `json:"-"`
}

// Data is what Train needs: scaled training and validation rows
// (row-major, one value per name a row).
type Data struct {
	Names             []string
	Train, Validation []float32
}

// Progress, when set, is called after every epoch.
type Progress func(EpochStats)

// Train fits a VAE to data.Train and returns it as a model whose Scaler and
// threshold the caller fills in. It stops with ctx's
// error at the next minibatch when ctx is done, and with ErrDiverged when
// the loss stops being finite.
func Train(ctx context.Context, cfg Config, data Data, rng *rand.Rand, progress Progress) (*pipeline.Model, []EpochStats, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	d := len(data.Names)
	if d == 0 {
		return nil, nil, errors.New("no features")
	}
	n := len(data.Train) / d
	if n == 0 {
		return nil, nil, errors.New("no training rows")
	}
	// A batch never needs more rows than the data has: padding rows only
	// cost time and memory.
	cfg.BatchSize = min(cfg.BatchSize, n)
	net, err := build(cfg, d, rng)
	if err != nil {
		return nil, nil, fmt.Errorf("build graph: %w", err)
	}
	vm := G.NewTapeMachine(net.g, G.BindDualValues(net.learnables...))
	defer vm.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(cfg.LearningRate))

	b := cfg.BatchSize
	xBuf := net.x.Value().Data().([]float32)
	epsBuf := net.eps.Value().Data().([]float32)
	wRec := net.wRec.Value().Data().([]float32)
	wKL := net.wKL.Value().Data().([]float32)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	var history []EpochStats
	steps := 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var st EpochStats
		st.Epoch = epoch
		batches := 0
		for start := 0; start < n; start += b {
			if err := ctx.Err(); err != nil {
				return nil, history, err
			}
			rows := min(b, n-start)
			for r := 0; r < b; r++ {
				dst := xBuf[r*d : (r+1)*d]
				if r < rows {
					src := perm[start+r]
					copy(dst, data.Train[src*d:(src+1)*d])
				} else {
					clear(dst)
				}
			}
			real := epsBuf[:rows*cfg.Latent]
			for i := range real {
				real[i] = float32(rng.NormFloat64())
			}
			clear(epsBuf[len(real):])
			cfg.weights(wRec, wKL, rows, d)
			if err := vm.RunAll(); err != nil {
				return nil, history, fmt.Errorf("epoch %d: run graph: %w", epoch, err)
			}
			loss := float64(net.loss.Value().Data().(float32))
			rec := sumFirst(net.rowRec.Value().Data().([]float32), rows)
			kl := sumFirst(net.rowKL.Value().Data().([]float32), rows)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, history, fmt.Errorf("%w: loss is %v at epoch %d, step %d; try a lower --learning-rate", ErrDiverged, loss, epoch, steps+1)
			}
			if err := solver.Step(G.NodesToValueGrads(net.learnables)); err != nil {
				return nil, history, fmt.Errorf("epoch %d: optimiser step: %w", epoch, err)
			}
			vm.Reset()
			steps++
			batches++
			st.Loss += loss
			st.Reconstruction += rec
			st.KL += kl
		}
		st.Loss /= float64(batches)
		st.Reconstruction /= float64(n * d)
		st.KL /= float64(n)
		st.Steps = steps
		m := net.model(data.Names)
		if len(data.Validation) > 0 {
			st.ValReconstruction, st.ValKL = Evaluate(m, data.Validation)
			st.ValLoss = st.ValReconstruction + st.ValKL
		}
		history = append(history, st)
		if progress != nil {
			progress(st)
		}
	}
	return net.model(data.Names), history, nil
}

// sumFirst returns the sum of the first n values of v in float64.
func sumFirst(v []float32, n int) float64 {
	var s float64
	for _, x := range v[:n] {
		s += float64(x)
	}
	return s
}

// weights fills the per-row loss weights of a batch with rows real rows.
func (c Config) weights(wRec, wKL []float32, rows, d int) {
	for r := range wRec {
		if r >= rows {
			wRec[r], wKL[r] = 0, 0
			continue
		}
		switch c.Objective {
		case ObjectiveTutorial:
			wRec[r] = 1 / float32(rows*d)
			wKL[r] = 1
		}
	}
}

// Evaluate returns the mean BCE per feature and the mean KL per row of m on
// the scaled rows x, with the decoder fed the posterior mean.
func Evaluate(m *pipeline.Model, x []float32) (rec, kl float64) {
	d := m.Dim()
	n := len(x) / d
	var h, mu, lv []float32
	for r := 0; r < n; r++ {
		row := x[r*d : (r+1)*d]
		h = forward(m.Encoder, row)
		mu = apply(&m.Mu, h, mu)
		lv = apply(&m.LogVar, h, lv)
		// Reconstruction: pre-activation of the last decoder layer.
		last := len(m.Decoder) - 1
		z := forward(m.Decoder[:last], mu)
		out := m.Decoder[last]
		for j := 0; j < out.Out; j++ {
			s := float64(out.B[j])
			for i := 0; i < out.In; i++ {
				s += float64(z[i]) * float64(out.W[i*out.Out+j])
			}
			rec += softplus(s) - float64(row[j])*s
		}
		for j := range mu {
			kl += -0.5 * (1 + float64(lv[j]) - float64(mu[j])*float64(mu[j]) - math.Exp(float64(lv[j])))
		}
	}
	return rec / float64(n*d), kl / float64(n)
}

func forward(layers []pipeline.Dense, x []float32) []float32 {
	for i := range layers {
		x = apply(&layers[i], x, nil)
	}
	return x
}

func apply(l *pipeline.Dense, x, out []float32) []float32 {
	if cap(out) < l.Out {
		out = make([]float32, l.Out)
	}
	out = out[:l.Out]
	l.Apply(x, out)
	return out
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// network is the training graph and handles to its nodes.
type network struct {
	g                 *G.ExprGraph
	x, eps, wRec, wKL *G.Node
	rowRec, rowKL     *G.Node // per-row BCE (summed over features) and KL
	loss              *G.Node
	enc, dec          []layer
	mu, logVar        layer
	learnables        G.Nodes
}

type layer struct {
	w, b *G.Node
	act  pipeline.Activation
}

func build(cfg Config, d int, rng *rand.Rand) (*network, error) {
	g := G.NewGraph()
	net := &network{g: g}
	b := cfg.BatchSize
	input := func(name string, shape ...int) *G.Node {
		t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
		if len(shape) == 1 {
			return G.NewVector(g, tensor.Float32, G.WithShape(shape...), G.WithName(name), G.WithValue(t))
		}
		return G.NewMatrix(g, tensor.Float32, G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	}
	net.x = input("x", b, d)
	net.eps = input("eps", b, cfg.Latent)
	net.wRec = input("w_rec", b)
	net.wKL = input("w_kl", b)

	newLayer := func(name string, in, out int, act pipeline.Activation) layer {
		w, bias := pytorchInit(in, out, rng)
		l := layer{
			w:   G.NewMatrix(g, tensor.Float32, G.WithShape(in, out), G.WithName(name+".w"), G.WithValue(tensor.New(tensor.WithShape(in, out), tensor.WithBacking(w)))),
			b:   G.NewVector(g, tensor.Float32, G.WithShape(out), G.WithName(name+".b"), G.WithValue(tensor.New(tensor.WithShape(out), tensor.WithBacking(bias)))),
			act: act,
		}
		net.learnables = append(net.learnables, l.w, l.b)
		return l
	}
	width := d
	for i, h := range cfg.Hidden {
		net.enc = append(net.enc, newLayer(fmt.Sprintf("enc%d", i), width, h, pipeline.ReLU))
		width = h
	}
	net.mu = newLayer("mu", width, cfg.Latent, pipeline.Identity)
	net.logVar = newLayer("logvar", width, cfg.Latent, pipeline.Identity)
	width = cfg.Latent
	for i := len(cfg.Hidden) - 1; i >= 0; i-- {
		net.dec = append(net.dec, newLayer(fmt.Sprintf("dec%d", len(net.dec)), width, cfg.Hidden[i], pipeline.ReLU))
		width = cfg.Hidden[i]
	}
	net.dec = append(net.dec, newLayer(fmt.Sprintf("dec%d", len(net.dec)), width, d, pipeline.Sigmoid))

	var err error
	h := net.x
	for _, l := range net.enc {
		if h, err = l.forward(h, true); err != nil {
			return nil, err
		}
	}
	mu, err := net.mu.forward(h, false)
	if err != nil {
		return nil, err
	}
	logVar, err := net.logVar.forward(h, false)
	if err != nil {
		return nil, err
	}
	half := G.NewConstant(float32(0.5))
	std := G.Must(G.Exp(G.Must(G.HadamardProd(logVar, half))))
	z := G.Must(G.Add(mu, G.Must(G.HadamardProd(std, net.eps))))
	h = z
	for i, l := range net.dec {
		// The last layer stays a logit: BCE is computed from it stably.
		if h, err = l.forward(h, i < len(net.dec)-1); err != nil {
			return nil, err
		}
	}
	// BCE(x, sigmoid(a)) = softplus(a) - x·a, summed over features.
	bce := G.Must(G.Sub(G.Must(G.Softplus(h)), G.Must(G.HadamardProd(net.x, h))))
	rowRec := G.Must(G.Sum(bce, 1))
	// KL(N(mu, exp(lv)) ‖ N(0, 1)) = -0.5 Σ (1 + lv - mu² - exp(lv)).
	one := G.NewConstant(float32(1))
	klElem := G.Must(G.Sub(G.Must(G.Add(logVar, one)), G.Must(G.Add(G.Must(G.Square(mu)), G.Must(G.Exp(logVar))))))
	rowKL := G.Must(G.HadamardProd(G.Must(G.Sum(klElem, 1)), G.NewConstant(float32(-0.5))))

	net.rowRec, net.rowKL = rowRec, rowKL
	recTerm := G.Must(G.Sum(G.Must(G.HadamardProd(rowRec, net.wRec))))
	klTerm := G.Must(G.Sum(G.Must(G.HadamardProd(rowKL, net.wKL))))
	net.loss = G.Must(G.Add(recTerm, klTerm))
	if _, err := G.Grad(net.loss, net.learnables...); err != nil {
		return nil, fmt.Errorf("gradient: %w", err)
	}
	return net, nil
}

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

// model copies the current weights out of the graph.
func (net *network) model(names []string) *pipeline.Model {
	dense := func(l layer) pipeline.Dense {
		shape := l.w.Shape()
		return pipeline.Dense{
			In: shape[0], Out: shape[1],
			W:          append([]float32(nil), l.w.Value().Data().([]float32)...),
			B:          append([]float32(nil), l.b.Value().Data().([]float32)...),
			Activation: l.act,
		}
	}
	m := &pipeline.Model{Features: names, Score: pipeline.ScoreMSE}
	for _, l := range net.enc {
		m.Encoder = append(m.Encoder, dense(l))
	}
	m.Mu = dense(net.mu)
	m.LogVar = dense(net.logVar)
	for _, l := range net.dec {
		m.Decoder = append(m.Decoder, dense(l))
	}
	return m
}
