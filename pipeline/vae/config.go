package vae

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vaejob/vaejob/pipeline"
)

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
	// Fused picks the trainer's step (see stepper). True, the presets'
	// choice: the fused step, which computes the loss and every gradient in
	// one operation (fusedStep). False: the autodiff reference, a gorgonia
	// graph of elementary operations differentiated by gorgonia
	// (autodiffStep), which the fused step is tested against. The same
	// mathematics, equal up to float32 rounding; the fused step is several
	// times faster.
	Fused bool
	// Spikes scores the features whose training rows hold one value at
	// least half the time as a spike and a slab (see pipeline.Spike): the
	// network reads them but is not trained to reconstruct them, and their
	// likelihood scale is the slab's spread. Gaussian and Laplace
	// likelihoods only.
	Spikes bool

	// noRecon marks, by feature, the features left out of the
	// reconstruction loss: the spike features, set by the trainer.
	noRecon []bool
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
// small tables train as long as large ones), the negative ELBO at the
// posterior mean as the score, and spike features scored as a spike and a
// slab (Spikes).
func DefaultConfig() Config {
	return Config{
		Hidden: []int{64, 32}, Latent: 8, Epochs: 10000, Steps: 2000, BatchSize: 256, LearningRate: 1e-3,
		Objective: ObjectiveELBO, Likelihood: Laplace, Init: InitGlorot, Beta: 4,
		Trim: 0.1, TrimFrom: 200, Score: pipeline.ScoreELBO, LogVarBound: 10, Fused: true, Spikes: true,
	}
}

// DefaultV1Config is the default model before spike features
// (DefaultConfig without Spikes), kept for comparison and for jobs that
// must keep its scores.
func DefaultV1Config() Config {
	c := DefaultConfig()
	c.Spikes = false
	return c
}

// Validate reports settings that cannot train. Like every function here
// that takes the caller's settings or data, it returns an error rather than
// panicking (see the package documentation). It checks the network's shape,
// the optimiser's schedule, the model kinds, the objective's weighting and
// the score, in that order.
func (c Config) Validate() error {
	for _, check := range []func() error{c.validateShape, c.validateSchedule, c.validateKinds, c.validateWeighting, c.validateScore} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateShape checks the network's widths.
func (c Config) validateShape() error {
	if len(c.Hidden) == 0 {
		return errors.New("at least one hidden layer is needed")
	}
	if c.Latent < 1 {
		return fmt.Errorf("latent dimension %d: want at least 1", c.Latent)
	}
	for _, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("hidden width %d: want at least 1", h)
		}
	}
	return nil
}

// validateSchedule checks how long and how fast training runs.
func (c Config) validateSchedule() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("epochs %d: want at least 1", c.Epochs)
	case c.Steps < 0:
		return fmt.Errorf("steps %d: want 0 (no budget) or more", c.Steps)
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d: want at least 1", c.BatchSize)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("learning rate %g: want a positive number", c.LearningRate)
	}
	return nil
}

// validateKinds checks the objective, likelihood and initialisation names.
func (c Config) validateKinds() error {
	switch {
	case c.Objective != ObjectiveTutorial && c.Objective != ObjectiveELBO:
		return fmt.Errorf("unknown objective %q", c.Objective)
	case c.Likelihood != Bernoulli && c.Likelihood != Gaussian && c.Likelihood != Laplace:
		return fmt.Errorf("unknown likelihood %q", c.Likelihood)
	case c.Init != InitPyTorch && c.Init != InitGlorot:
		return fmt.Errorf("unknown initialisation %q", c.Init)
	}
	return nil
}

// validateWeighting checks the loss's row and term weights: β, its
// warm-up and trimming.
func (c Config) validateWeighting() error {
	switch {
	case !(c.Beta >= 0) || math.IsInf(c.Beta, 0):
		return fmt.Errorf("beta %g: want a number of 0 or more", c.Beta)
	case c.WarmupSteps < 0 || c.TrimFrom < 0:
		return errors.New("warm-up and trim start must be 0 or more steps")
	case !(c.Trim >= 0 && c.Trim < 1):
		return fmt.Errorf("trim %g: want a fraction from 0 up to (not including) 1", c.Trim)
	case c.Trim > 0 && c.Objective != ObjectiveELBO:
		return errors.New("trimming needs the elbo objective")
	}
	return nil
}

// validateScore checks the returned model's score kind, its log-variance
// bound, and that the likelihood gives the score what it needs.
func (c Config) validateScore() error {
	switch {
	case !slices.Contains(pipeline.ScoreKinds, c.Score):
		return fmt.Errorf("unknown score kind %q", c.Score)
	case !(c.LogVarBound >= 0) || math.IsInf(float64(c.LogVarBound), 0):
		return fmt.Errorf("log-variance bound %g: want 0 (none) or a positive number", c.LogVarBound)
	case c.Score != pipeline.ScoreMSE && c.Likelihood == Bernoulli:
		return fmt.Errorf("score %s needs the gaussian or laplace likelihood", c.Score)
	case c.Spikes && !c.SpikesFit():
		return errors.New("spike features need the gaussian or laplace likelihood and a likelihood score (not mse_mu)")
	}
	return nil
}

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

// scaleFloor is the smallest variance (Gaussian) or scale (Laplace) of the
// likelihood, in scaled units: the learned parameter is exp(s) + scaleFloor.
func (c Config) scaleFloor() float32 {
	if c.Likelihood == Laplace {
		return 1e-3
	}
	return 1e-6
}

// SpikesFit reports whether the likelihood and score can have spike
// features (Spikes): a Gaussian or Laplace likelihood and a likelihood
// score.
func (c Config) SpikesFit() bool {
	return c.Likelihood != Bernoulli && c.Score != pipeline.ScoreMSE
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
