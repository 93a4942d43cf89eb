package vae

import (
	"fmt"
	"math/rand"

	"github.com/vaejob/vaejob/pipeline"
	G "gorgonia.org/gorgonia"
)

// stepper is one trainer's optimiser step, the part Train's loop leaves to
// the trainer: from a minibatch and its row weights, the loss, its
// gradient with respect to every learnable, and the Adam update. Two
// implement it: fusedStep (the default) and autodiffStep (the reference it
// is tested against). The loop owns everything else: the order of the rows,
// the noise, the row weights (objective, β warm-up, trimming), the step
// budget, the reports and the stop on divergence.
type stepper interface {
	// inputs returns the buffers the step reads, for the loop to fill
	// before each step.
	inputs() minibatch
	// step computes the loss of the minibatch in the inputs and its
	// gradients, and applies the Adam update. When weigh is set, the step
	// calls it with the batch's per-row terms before it takes the
	// gradients, and weigh sets the row weights (trimming); otherwise the
	// loop has set them already.
	step(weigh weighFunc) (stepLoss, error)
	// model copies the current weights out as a model for the named
	// features.
	model(names []string) *pipeline.Model
	// close releases the step's machines and goroutines.
	close()
}

// minibatch is the input buffers of a step: BatchSize rows of the features
// x and of the noise eps (row-major), and each row's weight in the
// reconstruction and the KL term of the loss. Padding rows of a short batch
// have zero weight.
type minibatch struct {
	x, eps, wRec, wKL []float32
}

// weighFunc sets a batch's row weights from each row's reconstruction loss
// and KL.
type weighFunc func(rec, kl []float32)

// stepLoss is what a step reports: the loss as optimised, and each row's
// reconstruction loss and KL (views, valid until the next step).
type stepLoss struct {
	loss    float64
	rec, kl []float32
}

// newStepper builds the network, drawing its initial weights from rng, and
// the step cfg.Fused names on it.
func newStepper(cfg Config, d int, rng *rand.Rand, logScale0 []float32) (stepper, error) {
	net := newNetwork(cfg, d, rng, logScale0)
	if cfg.Fused {
		return newFusedStep(cfg, d, net)
	}
	return newAutodiffStep(cfg, net)
}

// tape is what both steps share: the network's training graph run by
// gorgonia's tape machine, and the Adam solver over its learnables (the
// arithmetic of G.AdamSolver without its allocations).
type tape struct {
	cfg    Config
	net    *network
	vm     G.VM
	solver *adam
	grads  []G.ValueGrad
}

// newTape compiles net's graph, whose loss and gradients must be built.
func newTape(cfg Config, net *network) *tape {
	return &tape{
		cfg: cfg, net: net,
		vm:     G.NewTapeMachine(net.g, G.BindDualValues(net.learnables...)),
		solver: newAdam(cfg.LearningRate),
		grads:  G.NodesToValueGrads(net.learnables),
	}
}

func (t *tape) inputs() minibatch {
	net := t.net
	return minibatch{
		x:    net.x.Value().Data().([]float32),
		eps:  net.eps.Value().Data().([]float32),
		wRec: net.wRec.Value().Data().([]float32),
		wKL:  net.wKL.Value().Data().([]float32),
	}
}

// run runs the graph and returns the loss; the learnables' gradients are
// then set.
func (t *tape) run() (float64, error) {
	if err := t.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("run graph: %w", err)
	}
	return float64(t.net.loss.Value().Data().(float32)), nil
}

// update applies the Adam update with the gradients of the last run and
// readies the machine for the next.
func (t *tape) update() error {
	if err := t.solver.Step(t.grads); err != nil {
		return fmt.Errorf("optimiser step: %w", err)
	}
	t.vm.Reset()
	return nil
}

func (t *tape) model(names []string) *pipeline.Model { return t.net.model(names, t.cfg) }

func (t *tape) close() { t.vm.Close() }

// The two steps.
var (
	_ stepper = (*fusedStep)(nil)
	_ stepper = (*autodiffStep)(nil)
)
