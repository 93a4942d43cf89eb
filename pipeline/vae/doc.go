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
//	loss = Σ_rows wRec[r]·BCE(x_r, decoder(z_r)) + wKL[r]·KL(q(z|x_r) ‖ N(0, I))
//
// where BCE is summed over features and the weights encode the objective:
// the tutorial's loss (mean BCE over batch × features plus KL summed over
// the batch) uses wRec = 1/(n·d) and wKL = 1 for the n real rows of a batch.
//
// Two trainers build that loss. With Config.Fused (the presets' choice) the
// graph holds one operation, fusedLossOp, that computes the loss and every
// gradient over preallocated buffers on two fixed halves of the minibatch,
// and one node per learnable that hands its gradient to gorgonia's
// autodiff. Without it the graph has one node per matrix product, bias,
// activation and loss term, differentiated by gorgonia. Both feed the same
// Adam solver (the arithmetic of gorgonia's AdamSolver) and agree up to
// float32 rounding; tests hold them to it.
//
// The fused operation multiplies matrices with pipeline/internal/kernel
// (an AVX2/FMA register kernel on amd64), computes the Bernoulli loss's
// softplus and sigmoid in float32 (fastmath.go, within 2e-7 of float64),
// and runs the second half of each minibatch, and half of the Adam update,
// on a helper goroutine that lives for the whole run (helper.go). The
// halves are fixed, not scheduled, so the weights are the same on one core
// or two.
package vae
