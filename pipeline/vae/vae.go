package vae

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"

	"github.com/vaejob/vaejob/pipeline"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// progressRows bounds the validation rows the per-epoch validation losses
// are computed on.
const progressRows = 4096

// ErrDiverged reports a training loss that became NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// Objective names how the per-row loss terms are weighted.
type Objective string

// Objectives.
const (
	// ObjectiveTutorial is the seed tutorial's loss: reconstruction averaged
	// over batch × features plus KL summed over the batch, so the KL term
	// outweighs the reconstruction by batch × d and the posterior collapses.
	ObjectiveTutorial Objective = "tutorial"
	// ObjectiveELBO is the balanced negative ELBO: per row, the
	// reconstruction summed over features plus Beta × KL, averaged over the
	// rows of the batch that are kept (see Config.Trim).
	ObjectiveELBO Objective = "elbo"
)

// Likelihood names the decoder's output distribution.
type Likelihood string

// Likelihoods.
const (
	// Bernoulli: a sigmoid output and binary cross-entropy, as the tutorial.
	Bernoulli Likelihood = "bernoulli"
	// Gaussian: a linear output and a Gaussian with a learned variance per
	// feature, initialised to the feature's variance on the training rows.
	Gaussian Likelihood = "gaussian"
	// Laplace: a linear output and a Laplace distribution with a learned
	// scale per feature, initialised to the feature's mean absolute deviation
	// from its median on the training rows. Robust to heavy tails.
	Laplace Likelihood = "laplace"
)

// Init names how initial weights are drawn.
type Init string

// Initialisations.
const (
	// InitPyTorch is torch.nn.Linear's default: weights and biases
	// U(-1/sqrt(in), 1/sqrt(in)).
	InitPyTorch Init = "pytorch"
	// InitGlorot draws weights U(-a, a) with a = sqrt(6/(in+out)) and zero
	// biases.
	InitGlorot Init = "glorot"
)

// Config holds the network shape and the training settings.
type Config struct {
	Hidden []int // encoder widths from the input side; the decoder mirrors them
	Latent int
	// Epochs bounds the passes over the training rows. Training stops after
	// Epochs epochs or Steps optimiser steps, whichever comes first.
	Epochs int
	// Steps is the optimiser step budget; 0 means no budget but Epochs.
	Steps        int
	BatchSize    int
	LearningRate float64
	Objective    Objective
	Likelihood   Likelihood
	Init         Init
	// Beta weighs the KL term of ObjectiveELBO; it rises linearly from 0 over
	// the first WarmupSteps steps.
	Beta        float64
	WarmupSteps int
	// Trim is the fraction of each minibatch's highest-loss rows left out of
	// the loss from step TrimFrom on (contamination-robust training); 0 keeps
	// every row. ObjectiveELBO only.
	Trim     float64
	TrimFrom int
	// Score is the score kind of the returned model.
	Score pipeline.ScoreKind
	// LogVarBound, when positive, bounds the encoder's log-variance to
	// (-LogVarBound, LogVarBound) with a scaled tanh (see pipeline.Model).
	LogVarBound float32
	// Fused computes the loss and its gradients in one gorgonia operation
	// (see fusedLossOp) instead of a graph of elementary operations: the
	// same mathematics, several times faster, equal up to float32 rounding.
	Fused bool
}

// TutorialConfig is the network and training of the seed tutorial.
func TutorialConfig() Config {
	return Config{
		Hidden: []int{32, 16}, Latent: 10, Epochs: 100, BatchSize: 256, LearningRate: 1e-3,
		Objective: ObjectiveTutorial, Likelihood: Bernoulli, Init: InitPyTorch, Beta: 1,
		Score: pipeline.ScoreMSE, Fused: true,
	}
}

// DefaultScaler is the scaler kind of the default model.
const DefaultScaler = pipeline.ScalerRobust

// DefaultConfig is vaejob's default model, chosen on the ADBench dev tables
// (README, "Models"): robust scaling (DefaultScaler), a Laplace likelihood
// with a learned scale per feature, the balanced ELBO with β = 4,
// contamination-robust training that leaves out each minibatch's 10 %
// highest-loss rows from step 200, a budget of 2,000 optimiser steps (so
// small tables train as long as large ones), and the negative ELBO at the
// posterior mean as the score.
func DefaultConfig() Config {
	return Config{
		Hidden: []int{64, 32}, Latent: 8, Epochs: 10000, Steps: 2000, BatchSize: 256, LearningRate: 1e-3,
		Objective: ObjectiveELBO, Likelihood: Laplace, Init: InitGlorot, Beta: 4,
		Trim: 0.1, TrimFrom: 200, Score: pipeline.ScoreELBO, LogVarBound: 10, Fused: true,
	}
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
	case c.Steps < 0:
		return fmt.Errorf("steps %d: want 0 (no budget) or more", c.Steps)
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d: want at least 1", c.BatchSize)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("learning rate %g: want a positive number", c.LearningRate)
	case c.Objective != ObjectiveTutorial && c.Objective != ObjectiveELBO:
		return fmt.Errorf("unknown objective %q", c.Objective)
	case c.Likelihood != Bernoulli && c.Likelihood != Gaussian && c.Likelihood != Laplace:
		return fmt.Errorf("unknown likelihood %q", c.Likelihood)
	case c.Init != InitPyTorch && c.Init != InitGlorot:
		return fmt.Errorf("unknown initialisation %q", c.Init)
	case !(c.Beta >= 0) || math.IsInf(c.Beta, 0):
		return fmt.Errorf("beta %g: want a number of 0 or more", c.Beta)
	case c.WarmupSteps < 0 || c.TrimFrom < 0:
		return errors.New("warm-up and trim start must be 0 or more steps")
	case !(c.Trim >= 0 && c.Trim < 1):
		return fmt.Errorf("trim %g: want a fraction from 0 up to (not including) 1", c.Trim)
	case c.Trim > 0 && c.Objective != ObjectiveELBO:
		return errors.New("trimming needs the elbo objective")
	case !slices.Contains(pipeline.ScoreKinds, c.Score):
		return fmt.Errorf("unknown score kind %q", c.Score)
	case !(c.LogVarBound >= 0) || math.IsInf(float64(c.LogVarBound), 0):
		return fmt.Errorf("log-variance bound %g: want 0 (none) or a positive number", c.LogVarBound)
	case c.Score != pipeline.ScoreMSE && c.Likelihood == Bernoulli:
		return fmt.Errorf("score %s needs the gaussian or laplace likelihood", c.Score)
	}
	for _, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("hidden width %d: want at least 1", h)
		}
	}
	return nil
}

// EpochStats is the loss over a run of epochs (one report). Reconstruction
// is the mean reconstruction loss per feature (BCE, or the Gaussian negative
// log-likelihood without its constant) and KL the mean KL divergence per row,
// each averaged over the rows seen; Loss is the objective as optimised,
// averaged over minibatches. The validation figures are computed at the
// posterior mean (no sampling).
type EpochStats struct {
	Epoch             int     `json:"epoch"` // the last epoch of the report
	Loss              float64 `json:"loss"`
	Reconstruction    float64 `json:"reconstruction"`
	KL                float64 `json:"kl"`
	ValReconstruction float64 `json:"validation_reconstruction"`
	ValKL             float64 `json:"validation_kl"`
	ValLoss           float64 `json:"validation_loss"`
	Steps             int     `json:"steps"` // optimiser steps so far
}

// maxReports bounds the length of the loss history: with more epochs than
// this, each report covers several epochs.
const maxReports = 100

// Data is what Train needs: scaled training and validation rows
// (row-major, one value per name a row).
type Data struct {
	Names             []string
	Train, Validation []float32
}

// Progress, when set, is called after every report (see EpochStats).
type Progress func(EpochStats)

// Plan returns how many epochs and optimiser steps Train runs on n rows.
func (c Config) Plan(n int) (epochs, steps int) {
	b := min(c.BatchSize, n)
	perEpoch := (n + b - 1) / b
	steps = c.Epochs * perEpoch
	if c.Steps > 0 && c.Steps < steps {
		steps = c.Steps
	}
	return (steps + perEpoch - 1) / perEpoch, steps
}

// Train fits a VAE to data.Train and returns it as a model whose Scaler and
// threshold the caller fills in. It stops with ctx's error at the next
// minibatch when ctx is done, and with ErrDiverged when the loss stops being
// finite.
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
	epochs, budget := cfg.Plan(n)
	var logScale0 []float32
	switch cfg.Likelihood {
	case Gaussian:
		logScale0 = featureLogVariance(data.Train, d)
	case Laplace:
		logScale0 = featureLogMAD(data.Train, d)
	}
	net, err := build(cfg, d, rng, logScale0)
	if err != nil {
		return nil, nil, fmt.Errorf("build graph: %w", err)
	}
	if net.fused != nil {
		defer net.fused.net.close()
	}
	vm := G.NewTapeMachine(net.g, G.BindDualValues(net.learnables...))
	defer vm.Close()
	var forward G.VM // forward pass only, for trimming
	if cfg.Trim > 0 && !cfg.Fused {
		forward = G.NewTapeMachine(net.g.SubgraphRoots(net.rowRec, net.rowKL))
		defer forward.Close()
	}
	solver := newAdam(cfg.LearningRate) // G.AdamSolver's arithmetic, without its allocations
	valueGrads := G.NodesToValueGrads(net.learnables)
	if net.fused != nil {
		solver.pair = net.fused.net.pair
	}

	b := cfg.BatchSize
	xBuf := net.x.Value().Data().([]float32)
	epsBuf := net.eps.Value().Data().([]float32)
	wRec := net.wRec.Value().Data().([]float32)
	wKL := net.wKL.Value().Data().([]float32)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	rowLoss := make([]float64, b)
	order := make([]int, b)
	every := max(1, (epochs+maxReports-1)/maxReports)
	var history []EpochStats
	var st EpochStats
	batches, rowsSeen, steps := 0, 0, 0
	for epoch := 1; epoch <= epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for start := 0; start < n && steps < budget; start += b {
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
			beta := cfg.beta(steps)
			keep := rows
			trim := cfg.Trim > 0 && steps >= cfg.TrimFrom
			if trim {
				keep = rows - int(cfg.Trim*float64(rows))
			}
			// The weights of a trimmed batch need its per-row losses: the
			// fused operation sets them between its forward and backward
			// passes; the graph runs a forward pass first.
			weigh := func(rec, kl []float32) {
				for r := 0; r < rows; r++ {
					rowLoss[r] = float64(rec[r]) + beta*float64(kl[r])
				}
				cfg.weights(wRec, wKL, rowLoss, order, rows, keep, d, beta)
			}
			switch {
			case trim && net.fused != nil:
				net.fused.weigh = weigh
			case trim:
				rec, kl, err := net.rowTerms(forward)
				if err != nil {
					return nil, history, fmt.Errorf("epoch %d: forward pass: %w", epoch, err)
				}
				weigh(rec, kl)
			default:
				if net.fused != nil {
					net.fused.weigh = nil
				}
				cfg.weights(wRec, wKL, rowLoss, order, rows, keep, d, beta)
			}
			if err := vm.RunAll(); err != nil {
				return nil, history, fmt.Errorf("epoch %d: run graph: %w", epoch, err)
			}
			loss := float64(net.loss.Value().Data().(float32))
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, history, fmt.Errorf("%w: loss is %v at epoch %d, step %d; try a lower --learning-rate", ErrDiverged, loss, epoch, steps+1)
			}
			if err := solver.Step(valueGrads); err != nil {
				return nil, history, fmt.Errorf("epoch %d: optimiser step: %w", epoch, err)
			}
			st.Loss += loss
			rec, kl := net.lastRowTerms()
			st.Reconstruction += sumFirst(rec, rows)
			st.KL += sumFirst(kl, rows)
			vm.Reset()
			steps++
			batches++
			rowsSeen += rows
		}
		if epoch%every != 0 && epoch != epochs {
			continue
		}
		st.Epoch = epoch
		st.Loss /= float64(batches)
		st.Reconstruction /= float64(rowsSeen * d)
		st.KL /= float64(rowsSeen)
		st.Steps = steps
		if len(data.Validation) > 0 {
			// A progress measure: on at most progressRows validation rows
			// (a random sample: the split is random), so that reports stay
			// cheap on large tables.
			val := data.Validation[:min(len(data.Validation), progressRows*d)]
			st.ValReconstruction, st.ValKL = Evaluate(net.model(data.Names, cfg), val)
			st.ValLoss = st.ValReconstruction + st.ValKL
		}
		history = append(history, st)
		if progress != nil {
			progress(st)
		}
		st, batches, rowsSeen = EpochStats{}, 0, 0
	}
	return net.model(data.Names, cfg), history, nil
}

// rowTerms runs the graph's forward pass only and returns each row's
// reconstruction loss and KL, for trimming.
func (net *network) rowTerms(forward G.VM) (rec, kl []float32, err error) {
	defer forward.Reset()
	if err := forward.RunAll(); err != nil {
		return nil, nil, err
	}
	return net.rowRec.Value().Data().([]float32), net.rowKL.Value().Data().([]float32), nil
}

// lastRowTerms returns the per-row terms of the last training step.
func (net *network) lastRowTerms() (rec, kl []float32) {
	if st := net.fused; st != nil {
		return st.rec, st.kl
	}
	return net.rowRec.Value().Data().([]float32), net.rowKL.Value().Data().([]float32)
}

// scaleFloor is the smallest variance (Gaussian) or scale (Laplace) of the
// likelihood, in scaled units: the learned parameter is exp(s) + scaleFloor.
func (c Config) scaleFloor() float32 {
	if c.Likelihood == Laplace {
		return 1e-3
	}
	return 1e-6
}

// beta is the KL weight at a step, after the linear warm-up.
func (c Config) beta(step int) float64 {
	if c.WarmupSteps > 0 && step < c.WarmupSteps {
		return c.Beta * float64(step+1) / float64(c.WarmupSteps)
	}
	return c.Beta
}

// weights fills the per-row loss weights of a batch with rows real rows, of
// which the keep with the lowest rowLoss count (all of them when keep ==
// rows).
func (c Config) weights(wRec, wKL []float32, rowLoss []float64, order []int, rows, keep, d int, beta float64) {
	clear(wRec)
	clear(wKL)
	switch c.Objective {
	case ObjectiveTutorial:
		for r := 0; r < rows; r++ {
			wRec[r] = 1 / float32(rows*d)
			wKL[r] = 1
		}
	case ObjectiveELBO:
		kept := order[:rows]
		for r := range kept {
			kept[r] = r
		}
		if keep < rows {
			// Ties go to the earlier row, so the order is total and the
			// kept set deterministic (the same as a stable sort's).
			slices.SortFunc(kept, func(a, b int) int {
				switch {
				case rowLoss[a] < rowLoss[b]:
					return -1
				case rowLoss[a] > rowLoss[b]:
					return 1
				}
				return a - b
			})
			kept = kept[:keep]
		}
		for _, r := range kept {
			wRec[r] = 1 / float32(keep)
			wKL[r] = float32(beta) / float32(keep)
		}
	}
}

// sumFirst returns the sum of the first n values of v in float64.
func sumFirst(v []float32, n int) float64 {
	var s float64
	for _, x := range v[:n] {
		s += float64(x)
	}
	return s
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
	pipeline.EachColumn(d, n, func(j int) {
		col := make([]float32, n)
		for r := range col {
			col[r] = x[r*d+j]
		}
		slices.Sort(col)
		med := float64(pipeline.QuantileSorted(col, 0.5))
		var dev float64
		for _, v := range col {
			dev += math.Abs(float64(v) - med)
		}
		out[j] = float32(math.Log(dev/float64(n) + 1e-6))
	})
	return out
}

// Evaluate returns the mean reconstruction loss per feature and the mean KL
// per row of m on the scaled rows x, with the decoder fed the posterior mean.
// The reconstruction loss is BCE for a model without variances, else the
// Gaussian negative log-likelihood without its constant.
func Evaluate(m *pipeline.Model, x []float32) (rec, kl float64) {
	d := m.Dim()
	n := len(x) / d
	var h, mu, lv []float32
	last := len(m.Decoder) - 1
	out := m.Decoder[last]
	for r := 0; r < n; r++ {
		row := x[r*d : (r+1)*d]
		h = forward(m.Encoder, row)
		mu = apply(&m.Mu, h, mu)
		lv = apply(&m.LogVar, h, lv)
		m.BoundLogVar(lv)
		z := forward(m.Decoder[:last], mu)
		for j := 0; j < out.Out; j++ {
			s := float64(out.B[j])
			for i := 0; i < out.In; i++ {
				s += float64(z[i]) * float64(out.W[i*out.Out+j])
			}
			switch {
			case m.Variance != nil:
				v := float64(m.Variance[j])
				diff := float64(row[j]) - s
				rec += 0.5 * (diff*diff/v + math.Log(v))
			case m.LaplaceScale != nil:
				b := float64(m.LaplaceScale[j])
				rec += math.Abs(float64(row[j])-s)/b + math.Log(b)
			default:
				rec += softplus(s) - float64(row[j])*s // BCE from the logit
			}
		}
		kl += pipeline.KL(mu, lv)
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
	rowRec, rowKL     *G.Node // per-row reconstruction loss (summed over features) and KL
	loss              *G.Node
	enc, dec          []layer
	mu, logVar        layer
	logScaleX         *G.Node // the log-variances (Gaussian) or log-scales (Laplace), nil for Bernoulli
	learnables        G.Nodes
	fused             *fusedState // with Config.Fused: the loss node is one fusedLossOp
}

type layer struct {
	w, b *G.Node
	act  pipeline.Activation
}

func build(cfg Config, d int, rng *rand.Rand, logScale0 []float32) (*network, error) {
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
		var w, bias []float32
		switch cfg.Init {
		case InitGlorot:
			w, bias = glorotInit(in, out, rng)
		default:
			w, bias = pytorchInit(in, out, rng)
		}
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
	outAct := pipeline.Identity
	if cfg.Likelihood == Bernoulli {
		outAct = pipeline.Sigmoid
	}
	net.dec = append(net.dec, newLayer(fmt.Sprintf("dec%d", len(net.dec)), width, d, outAct))
	if cfg.Likelihood == Gaussian || cfg.Likelihood == Laplace {
		net.logScaleX = G.NewVector(g, tensor.Float32, G.WithShape(d), G.WithName("x_logscale"),
			G.WithValue(tensor.New(tensor.WithShape(d), tensor.WithBacking(logScale0))))
		net.learnables = append(net.learnables, net.logScaleX)
	}
	if cfg.Fused {
		var err error
		net.fused, err = buildFused(cfg, d, net)
		return net, err
	}

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
	if b := cfg.LogVarBound; b > 0 {
		inner := G.Must(G.HadamardProd(logVar, G.NewConstant(1/b)))
		logVar = G.Must(G.HadamardProd(G.Must(G.Tanh(inner)), G.NewConstant(b)))
	}
	half := G.NewConstant(float32(0.5))
	std := G.Must(G.Exp(G.Must(G.HadamardProd(logVar, half))))
	z := G.Must(G.Add(mu, G.Must(G.HadamardProd(std, net.eps))))
	h = z
	for i, l := range net.dec {
		// The last layer stays linear: BCE is computed from its logit, and a
		// Gaussian mean is linear anyway.
		if h, err = l.forward(h, i < len(net.dec)-1); err != nil {
			return nil, err
		}
	}
	var rowRec *G.Node
	switch cfg.Likelihood {
	case Gaussian, Laplace:
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
		rowRec = G.Must(G.Sum(perRow, 1))
		if cfg.Likelihood == Gaussian {
			rowRec = G.Must(G.HadamardProd(rowRec, half))
		}
	default:
		// BCE(x, sigmoid(a)) = softplus(a) - x·a, summed over features.
		bce := G.Must(G.Sub(G.Must(G.Softplus(h)), G.Must(G.HadamardProd(net.x, h))))
		rowRec = G.Must(G.Sum(bce, 1))
	}
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
