// Package vae trains the variational autoencoder of vaejob with gorgonia and
// returns the result as a plain pipeline.Model.
//
// Gorgonia is only the trainer: the graph here has fixed shapes (one
// minibatch of Config.BatchSize rows; a short last batch is padded and its
// padding rows get zero weight in the loss), all initial weights come from
// the caller's seeded *rand.Rand, and the reparameterisation noise is fed in
// through an input node from the same source, so a run is reproducible.
//
// The loss is a weighted sum of per-row terms,
//
//	loss = Σ_rows wRec[r]·rec(x_r, decoder(z_r)) + wKL[r]·KL(q(z|x_r) ‖ N(0, I))
//
// where rec is the likelihood's negative log-likelihood (BCE, Gaussian or
// Laplace) summed over features and the weights encode the objective: the
// tutorial's loss (mean BCE over batch × features plus KL summed over the
// batch) uses wRec = 1/(n·d) and wKL = 1 for the n real rows of a batch;
// the balanced ELBO weighs the kept rows 1/keep and β/keep.
//
// # The loop and the step
//
// Train (train.go) is the one training loop: it shuffles the rows each
// epoch, fills each minibatch and its noise, sets the row weights (the
// objective, β's warm-up, trimming the highest-loss rows), keeps to the
// step budget, stops on a non-finite loss (ErrDiverged), and reports the
// losses every few epochs with the validation losses of the current weights
// (pipeline.Scorer.Loss). What one optimiser step does is left to a
// stepper (step.go): the loss, its gradients and the Adam update. Two
// implement it, over the same network (network.go: inputs, learnables and
// their initialisation) and the same Adam solver (adam.go, the arithmetic
// of gorgonia's AdamSolver):
//
//   - fusedStep (fusedop.go, fused.go), the default (Config.Fused, the
//     presets' choice): the graph holds one operation, fusedLossOp, that
//     computes the loss and every gradient over preallocated buffers on a
//     fixed number of shards of the minibatch, and one node per learnable
//     that hands its gradient to gorgonia.
//   - autodiffStep (autodiff.go), the reference: the graph has one node per
//     matrix product, bias, activation and loss term, differentiated by
//     gorgonia. It states the mathematics plainly; the fused step is tested
//     against it (fused_test.go) and agrees up to float32 rounding.
//
// When a batch is trimmed the weights need its per-row losses: the loop
// hands the step a weighFunc, which the fused operation calls between its
// forward and backward passes and the autodiff step after a forward pass
// of its own.
//
// The fused operation multiplies matrices with pipeline/internal/kernel
// (an AVX2/FMA register kernel on amd64), computes the Bernoulli loss's
// softplus and sigmoid in float32 (fastmath.go, within 2e-7 of float64),
// and runs the shards of each minibatch, the sum of their gradients and
// the Adam update on a team (team.go): the caller's goroutine and up to
// GOMAXPROCS-1 helpers that live for the whole run (helper.go). The number
// of shards and their rows come from the batch size and the network
// (trainShards), never from the number of processors, and the shards'
// gradients are added in shard order, so the weights are the same on any
// number of cores.
//
// # Errors and panics
//
// Settings and data come from the user: Config.Validate and Train return
// errors for them, and Train wraps the failures of a step with the epoch.
// Inside, the graph is built from validated settings, so a failing graph
// operation (G.Must) or a kernel's shape check panics: a programmer error,
// as in pipeline/internal/kernel.
package vae
