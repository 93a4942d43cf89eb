package vae

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"

	"github.com/vaejob/vaejob/pipeline"
)

// progressRows bounds the validation rows the per-epoch validation losses
// are computed on.
const progressRows = 4096

// ErrDiverged reports a training loss that became NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// EpochStats is the loss over a run of epochs (one report). Reconstruction
// is the mean reconstruction loss per feature (BCE, or the Gaussian or
// Laplace negative log-likelihood without its constant) and KL the mean KL
// divergence per row, each averaged over the rows seen; Loss is the
// objective as optimised, averaged over minibatches. The validation figures
// are computed at the posterior mean (no sampling; see
// pipeline.Scorer.Loss).
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
	// Imputed, when not nil, gives for each feature the training rows
	// whose value was missing and imputed, and that value (scaled), which
	// spike features do not count (see pipeline.FindSpikes).
	Imputed []pipeline.Imputed
}

// Progress, when set, is called after every report (see EpochStats).
type Progress func(EpochStats)

// Train fits a VAE to data.Train and returns it as a model whose Scaler and
// threshold the caller fills in. It stops with ctx's error at the next
// minibatch when ctx is done, and with ErrDiverged when the loss stops being
// finite. It is the one training loop; cfg.Fused picks the step it calls
// (see stepper).
func Train(ctx context.Context, cfg Config, data Data, rng *rand.Rand, progress Progress) (*pipeline.Model, []EpochStats, error) {
	t, err := newTrainer(cfg, data, rng)
	if err != nil {
		return nil, nil, err
	}
	defer t.step.close()
	history, err := t.run(ctx, progress)
	if err != nil {
		return nil, history, err
	}
	return t.model(), history, nil
}

// trainer is the state of Train's loop: the data, the step, the order of
// the rows and the scratch of the row weights.
type trainer struct {
	cfg  Config
	data Data
	d, n int // features, training rows
	rng  *rand.Rand
	step stepper
	in   minibatch
	perm []int // the rows in the current epoch's order
	// rowLoss and order are the scratch of Config.weights.
	rowLoss []float64
	order   []int
	spikes  []pipeline.SpikeFit // the spike features (Config.Spikes)
}

// model returns the current weights as a model of the network's features,
// with the spike features and their slabs' scales.
func (t *trainer) model() *pipeline.Model {
	m := t.step.model(t.data.Names)
	for _, s := range t.spikes {
		m.Spikes = append(m.Spikes, s.Spike)
		switch {
		case m.LaplaceScale != nil:
			m.LaplaceScale[s.Feature] = float32(s.MeanAbs) + t.cfg.scaleFloor()
		case m.Variance != nil:
			m.Variance[s.Feature] = float32(s.MeanSquare) + t.cfg.scaleFloor()
		}
	}
	return m
}

// newTrainer checks the settings and the data, caps the batch at the
// number of rows (padding rows only cost time and memory) and builds the
// step.
func newTrainer(cfg Config, data Data, rng *rand.Rand) (*trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := len(data.Names)
	if d == 0 {
		return nil, errors.New("no features")
	}
	n := len(data.Train) / d
	if n == 0 {
		return nil, errors.New("no training rows")
	}
	cfg.BatchSize = min(cfg.BatchSize, n)
	var spikes []pipeline.SpikeFit
	if cfg.Spikes {
		spikes = pipeline.FindSpikes(data.Train, d, data.Imputed)
		if len(spikes) > 0 {
			cfg.noRecon = make([]bool, d)
		}
		for _, s := range spikes {
			cfg.noRecon[s.Feature] = true
		}
	}
	step, err := newStepper(cfg, d, rng, initialLogScales(cfg.Likelihood, data.Train, d))
	if err != nil {
		return nil, fmt.Errorf("build graph: %w", err)
	}
	t := &trainer{cfg: cfg, data: data, d: d, n: n, rng: rng, step: step, in: step.inputs(), spikes: spikes,
		perm: make([]int, n), rowLoss: make([]float64, cfg.BatchSize), order: make([]int, cfg.BatchSize)}
	for i := range t.perm {
		t.perm[i] = i
	}
	return t, nil
}

// run is the loop: epochs of shuffled minibatches until the epochs or the
// step budget (Config.Plan) run out, with a report every few epochs.
func (t *trainer) run(ctx context.Context, progress Progress) ([]EpochStats, error) {
	epochs, budget := t.cfg.Plan(t.n)
	every := max(1, (epochs+maxReports-1)/maxReports)
	var history []EpochStats
	var sums epochSums
	steps := 0
	for epoch := 1; epoch <= epochs; epoch++ {
		t.rng.Shuffle(t.n, func(i, j int) { t.perm[i], t.perm[j] = t.perm[j], t.perm[i] })
		for start := 0; start < t.n && steps < budget; start += t.cfg.BatchSize {
			if err := ctx.Err(); err != nil {
				return history, err
			}
			rows := min(t.cfg.BatchSize, t.n-start)
			t.fill(start, rows)
			res, err := t.step.step(t.weigh(rows, steps))
			// A non-finite loss ends the run; the update it made is
			// thrown away with the weights.
			if loss := res.loss; math.IsNaN(loss) || math.IsInf(loss, 0) {
				return history, fmt.Errorf("%w: loss is %v at epoch %d, step %d; try a lower --learning-rate", ErrDiverged, loss, epoch, steps+1)
			}
			if err != nil {
				return history, fmt.Errorf("epoch %d: %w", epoch, err)
			}
			sums.add(res, rows)
			steps++
		}
		if epoch%every != 0 && epoch != epochs {
			continue
		}
		st := t.report(sums, epoch, steps)
		history = append(history, st)
		if progress != nil {
			progress(st)
		}
		sums = epochSums{}
	}
	return history, nil
}

// fill copies the rows of the minibatch that starts at position start of
// the epoch's order into the step's inputs, zeroes the padding rows, and
// draws the noise of the real rows.
func (t *trainer) fill(start, rows int) {
	d, x := t.d, t.in.x
	for r := 0; r < t.cfg.BatchSize; r++ {
		dst := x[r*d : (r+1)*d]
		if r < rows {
			src := t.perm[start+r]
			copy(dst, t.data.Train[src*d:(src+1)*d])
		} else {
			clear(dst)
		}
	}
	real := t.in.eps[:rows*t.cfg.Latent]
	for i := range real {
		real[i] = float32(t.rng.NormFloat64())
	}
	clear(t.in.eps[len(real):])
}

// weigh sets the row weights of a minibatch of rows real rows at step
// steps, or, when the batch is trimmed, returns the function that sets
// them from the per-row losses for the step to call.
func (t *trainer) weigh(rows, steps int) weighFunc {
	cfg := t.cfg
	beta := cfg.beta(steps)
	if cfg.Trim == 0 || steps < cfg.TrimFrom {
		cfg.weights(t.in.wRec, t.in.wKL, t.rowLoss, t.order, rows, rows, t.d, beta)
		return nil
	}
	keep := rows - int(cfg.Trim*float64(rows))
	return func(rec, kl []float32) {
		for r := 0; r < rows; r++ {
			t.rowLoss[r] = float64(rec[r]) + beta*float64(kl[r])
		}
		cfg.weights(t.in.wRec, t.in.wKL, t.rowLoss, t.order, rows, keep, t.d, beta)
	}
}

// epochSums accumulates the losses of the steps since the last report.
type epochSums struct {
	loss, rec, kl float64
	batches, rows int
}

func (s *epochSums) add(res stepLoss, rows int) {
	s.loss += res.loss
	s.rec += sumFirst(res.rec, rows)
	s.kl += sumFirst(res.kl, rows)
	s.batches++
	s.rows += rows
}

// report turns the sums into the report of the epochs up to epoch, with the
// validation losses of the current weights.
func (t *trainer) report(s epochSums, epoch, steps int) EpochStats {
	st := EpochStats{
		Epoch:          epoch,
		Loss:           s.loss / float64(s.batches),
		Reconstruction: s.rec / float64(s.rows*t.d),
		KL:             s.kl / float64(s.rows),
		Steps:          steps,
	}
	if len(t.data.Validation) > 0 {
		// A progress measure: on at most progressRows validation rows
		// (a random sample: the split is random), so that reports stay
		// cheap on large tables.
		val := t.data.Validation[:min(len(t.data.Validation), progressRows*t.d)]
		st.ValReconstruction, st.ValKL = pipeline.NewScorer(t.model()).Loss(val)
		st.ValLoss = st.ValReconstruction + st.ValKL
	}
	return st
}

// sumFirst returns the sum of the first n values of v in float64.
func sumFirst(v []float32, n int) float64 {
	var s float64
	for _, x := range v[:n] {
		s += float64(x)
	}
	return s
}
