package vae

import (
	"math"

	"github.com/vaejob/vaejob/pipeline/internal/kernel"
)

// fusedNet computes the training loss of the network that build describes,
// and its gradient with respect to every learnable, in one pass over
// preallocated buffers: the work of some eighty graph operations without
// their per-operation overhead. The rows of a minibatch are split into a
// fixed number of shards (trainShards: from the batch size and the
// network, never from the number of processors), which the goroutines of
// a team compute; the shards' losses and parameter gradients are then
// added in shard order, so results do not depend on the number of cores or
// on scheduling.
//
// Parameters follow the order of network.learnables: W and b of each
// encoder layer, of the mu and log-variance heads and of each decoder
// layer, then the per-feature log-scales for a Gaussian or Laplace
// likelihood.
type fusedNet struct {
	cfg        Config
	d, latent  int
	enc, dec   []denseShape
	mu, logVar denseShape
	shards     []*fusedShard
	// pieces splits the parameters for the sum of the shards' gradients.
	pieces []gradPiece
	// all lists every layer (layers()); wT holds the transpose of every
	// layer's W, by parameter index, for the backward pass; biases and
	// log-scales have none.
	all []denseShape
	wT  [][]float32
	// team runs the shards, and the pieces of their sum, at once.
	team *team
	// losses holds each shard's share of the loss.
	losses []float64
	// scale, its inverse and its log are the likelihood's scale per
	// feature (nil for Bernoulli), set at the start of each run.
	scale, invScale, logScale []float32
}

// denseShape is a layer's width and the index of its W in the parameters.
type denseShape struct{ in, out, param int }

// gradPiece is a run of one parameter's elements: the unit of the sum of
// the shards' gradients.
type gradPiece struct{ param, lo, hi int }

// gradPieceLen is the most elements a gradPiece holds.
const gradPieceLen = 1024

// fusedShard is the scratch of one shard of the rows.
type fusedShard struct {
	lo, hi int // rows
	// Activations: pre-activation a and output h of every layer.
	encA, encH, decA, decH [][]float32
	mu, lvRaw, lv, std, z  []float32
	rec, kl                []float32
	sig                    []float32 // sigmoid of the output (Bernoulli)
	// Gradients with respect to activations, and to the parameters.
	dH, dA, dMu, dLv, dZ, dPrev []float32
	dScale                      []float32 // with respect to the likelihood's scale
	grads                       [][]float32
}

func newFusedNet(cfg Config, d int) *fusedNet {
	f := &fusedNet{cfg: cfg, d: d, latent: cfg.Latent}
	p, width := 0, d
	for _, h := range cfg.Hidden {
		f.enc = append(f.enc, denseShape{width, h, p})
		p, width = p+2, h
	}
	f.mu = denseShape{width, cfg.Latent, p}
	f.logVar = denseShape{width, cfg.Latent, p + 2}
	p, width = p+4, cfg.Latent
	for i := len(cfg.Hidden) - 1; i >= 0; i-- {
		f.dec = append(f.dec, denseShape{width, cfg.Hidden[i], p})
		p, width = p+2, cfg.Hidden[i]
	}
	f.dec = append(f.dec, denseShape{width, d, p})
	f.all = f.layers()
	f.wT = make([][]float32, len(f.sizes()))
	for _, l := range f.all {
		f.wT[l.param] = make([]float32, l.in*l.out)
	}
	b := cfg.BatchSize
	shards := trainShards(b, f.rowCost())
	// Shards begin at a multiple of four rows, the matrix kernel's block.
	bound := func(k int) int { return min(b, (k*b/shards+3)&^3) }
	for k := range shards {
		f.shards = append(f.shards, f.newShard(bound(k), bound(k+1)))
	}
	f.losses = make([]float64, shards)
	for p, size := range f.sizes() {
		for lo := 0; lo < size; lo += gradPieceLen {
			f.pieces = append(f.pieces, gradPiece{p, lo, min(size, lo+gradPieceLen)})
		}
	}
	f.team = newTeam()
	return f
}

// Shards of a minibatch: each holds at least minShardRows rows and about
// shardWork multiply-adds of the forward and backward passes, and there
// are at most maxShards.
const (
	minShardRows = 32
	shardWork    = 1 << 18
	maxShards    = 16
)

// trainShards returns how many shards a minibatch of b rows is split
// into, given the multiply-adds a row costs forward and back. It depends on
// the batch size and the network only, so the weights are the same on any
// number of cores.
func trainShards(b, rowCost int) int {
	s := b * rowCost / shardWork
	return max(1, min(s, b/minShardRows, maxShards))
}

// rowCost returns the multiply-adds of one row's forward and backward
// passes: three matrix products per dense layer.
func (f *fusedNet) rowCost() int {
	c := 0
	for _, l := range f.all {
		c += 3 * l.in * l.out
	}
	return c
}

// layers returns every dense layer: encoder, mu and log-variance heads,
// decoder.
func (f *fusedNet) layers() []denseShape {
	all := append([]denseShape{}, f.enc...)
	all = append(all, f.mu, f.logVar)
	return append(all, f.dec...)
}

// sizes returns the length of every parameter, in order.
func (f *fusedNet) sizes() []int {
	var s []int
	add := func(l denseShape) { s = append(s, l.in*l.out, l.out) }
	for _, l := range f.enc {
		add(l)
	}
	add(f.mu)
	add(f.logVar)
	for _, l := range f.dec {
		add(l)
	}
	if f.cfg.Likelihood != Bernoulli {
		s = append(s, f.d)
	}
	return s
}

func (f *fusedNet) newShard(lo, hi int) *fusedShard {
	n := hi - lo
	h := &fusedShard{lo: lo, hi: hi}
	widest := max(f.d, f.latent) // the decoder's first layer takes the latent code
	for _, l := range f.enc {
		h.encA = append(h.encA, make([]float32, n*l.out))
		h.encH = append(h.encH, make([]float32, n*l.out))
		widest = max(widest, l.out)
	}
	for _, l := range f.dec {
		h.decA = append(h.decA, make([]float32, n*l.out))
		h.decH = append(h.decH, make([]float32, n*l.out))
		widest = max(widest, l.out)
	}
	L := f.latent
	h.mu, h.lvRaw, h.lv, h.std, h.z = make([]float32, n*L), make([]float32, n*L), make([]float32, n*L), make([]float32, n*L), make([]float32, n*L)
	h.dMu, h.dLv, h.dZ = make([]float32, n*L), make([]float32, n*L), make([]float32, n*L)
	h.rec, h.kl = make([]float32, n), make([]float32, n)
	if f.cfg.Likelihood == Bernoulli {
		h.sig = make([]float32, n*f.d)
	} else {
		h.dScale = make([]float32, f.d)
	}
	h.dH, h.dA, h.dPrev = make([]float32, n*widest), make([]float32, n*widest), make([]float32, n*widest)
	for _, s := range f.sizes() {
		h.grads = append(h.grads, make([]float32, s))
	}
	return h
}

// run computes the loss Σ_r wRec[r]·rec[r] + wKL[r]·kl[r] of a batch, the
// per-row terms (into rec and kl) and, into grads, the gradient of the loss
// with respect to every parameter. When weigh is set it is called with the
// per-row terms after the forward pass, to set wRec and wKL (trimming).
func (f *fusedNet) run(params [][]float32, x, eps, wRec, wKL, rec, kl []float32, grads [][]float32, weigh func(rec, kl []float32)) float32 {
	for _, l := range f.all {
		kernel.Transpose(params[l.param], l.in, l.out, f.wT[l.param])
	}
	f.setScale(params)
	if weigh != nil {
		f.forwardRows(params, x, eps, rec, kl)
		weigh(rec, kl)
		f.team.run(len(f.shards), func(k int) { f.losses[k] = f.backwardShard(f.shards[k], params, x, eps, wRec, wKL) })
	} else {
		// Without a weighing step each shard goes forward and back at once.
		f.team.run(len(f.shards), func(k int) {
			h := f.shards[k]
			f.forwardShard(h, params, x, eps)
			f.losses[k] = f.backwardShard(h, params, x, eps, wRec, wKL)
			copy(rec[h.lo:h.hi], h.rec)
			copy(kl[h.lo:h.hi], h.kl)
		})
	}
	f.team.run(len(f.pieces), func(i int) { f.sumShards(grads, f.pieces[i]) })
	var loss float64
	for _, l := range f.losses {
		loss += l
	}
	return float32(loss)
}

// sumShards sets one piece of the gradients to the sum of the shards'
// gradients, added in shard order.
func (f *fusedNet) sumShards(grads [][]float32, pc gradPiece) {
	g := grads[pc.param][pc.lo:pc.hi]
	copy(g, f.shards[0].grads[pc.param][pc.lo:pc.hi])
	for _, h := range f.shards[1:] {
		kernel.Add(g, h.grads[pc.param][pc.lo:pc.hi])
	}
}

// forwardRows computes only the per-row terms rec and kl of a batch.
func (f *fusedNet) forwardRows(params [][]float32, x, eps, rec, kl []float32) {
	f.team.run(len(f.shards), func(k int) {
		h := f.shards[k]
		f.forwardShard(h, params, x, eps)
		copy(rec[h.lo:h.hi], h.rec)
		copy(kl[h.lo:h.hi], h.kl)
	})
}

// close stops the team's helpers.
func (f *fusedNet) close() { f.team.close() }

// setScale computes the likelihood's scale and its log per feature from
// the parameters (nothing for Bernoulli).
func (f *fusedNet) setScale(params [][]float32) {
	if f.cfg.Likelihood == Bernoulli {
		return
	}
	if f.scale == nil {
		f.scale, f.invScale, f.logScale = make([]float32, f.d), make([]float32, f.d), make([]float32, f.d)
	}
	for j, s := range params[len(params)-1] {
		f.scale[j] = float32(math.Exp(float64(s))) + f.cfg.scaleFloor()
		f.invScale[j] = 1 / f.scale[j]
		f.logScale[j] = float32(math.Log(float64(f.scale[j])))
	}
}

// forwardShard runs one shard of the rows forward, keeping every activation,
// and computes each row's reconstruction loss and KL.
func (f *fusedNet) forwardShard(h *fusedShard, params [][]float32, xAll, epsAll []float32) {
	n, d, L := h.hi-h.lo, f.d, f.latent
	x := xAll[h.lo*d : h.hi*d]
	eps := epsAll[h.lo*L : h.hi*L]
	if n == 0 {
		return
	}
	in := x
	for i, l := range f.enc {
		dense(in, params[l.param], params[l.param+1], h.encA[i], n, l.in, l.out)
		kernel.ReLU(h.encA[i], h.encH[i])
		in = h.encH[i]
	}
	dense(in, params[f.mu.param], params[f.mu.param+1], h.mu, n, f.mu.in, L)
	dense(in, params[f.logVar.param], params[f.logVar.param+1], h.lvRaw, n, f.logVar.in, L)
	bound := f.cfg.LogVarBound
	for i, v := range h.lvRaw {
		if bound > 0 {
			v = bound * float32(math.Tanh(float64(v/bound)))
		}
		h.lv[i] = v
		h.std[i] = exp32(0.5 * v)
		h.z[i] = h.mu[i] + h.std[i]*eps[i]
	}
	in = h.z
	for i, l := range f.dec {
		dense(in, params[l.param], params[l.param+1], h.decA[i], n, l.in, l.out)
		if i < len(f.dec)-1 {
			kernel.ReLU(h.decA[i], h.decH[i])
			in = h.decH[i]
		}
	}
	out := h.decA[len(f.dec)-1]
	inv, logScale, skip := f.invScale, f.logScale, f.cfg.noRecon
	for r := 0; r < n; r++ {
		xr, or := x[r*d:(r+1)*d], out[r*d:(r+1)*d]
		var rec float32
		switch f.cfg.Likelihood {
		case Bernoulli:
			for j, a := range or {
				// One exponential gives the loss and, kept for the
				// backward pass, the sigmoid.
				sp, sig := softplusSigmoid(a)
				rec += sp - xr[j]*a
				h.sig[r*d+j] = sig
			}
		case Gaussian:
			for j, a := range or {
				if skip != nil && skip[j] {
					continue
				}
				diff := xr[j] - a
				rec += diff*diff*inv[j] + logScale[j]
			}
			rec *= 0.5
		case Laplace:
			for j, a := range or {
				if skip != nil && skip[j] {
					continue
				}
				rec += abs32(xr[j]-a)*inv[j] + logScale[j]
			}
		}
		var kl float32
		for i := r * L; i < (r+1)*L; i++ {
			kl += 1 + h.lv[i] - h.mu[i]*h.mu[i] - h.std[i]*h.std[i]
		}
		h.rec[r], h.kl[r] = rec, -0.5*kl
	}
}

// backwardShard computes, after forwardShard, the shard's share of the loss
// Σ wRec·rec + wKL·kl and of every parameter's gradient: from the output
// back through the decoder, the sampling and the KL term, and the encoder.
func (f *fusedNet) backwardShard(h *fusedShard, params [][]float32, xAll, epsAll, wRecAll, wKLAll []float32) float64 {
	n, d, L := h.hi-h.lo, f.d, f.latent
	x := xAll[h.lo*d : h.hi*d]
	eps := epsAll[h.lo*L : h.hi*L]
	wRec, wKL := wRecAll[h.lo:h.hi], wKLAll[h.lo:h.hi]
	for _, g := range h.grads {
		clear(g)
	}
	if n == 0 {
		return 0
	}
	var loss float64
	for r := 0; r < n; r++ {
		loss += float64(wRec[r])*float64(h.rec[r]) + float64(wKL[r])*float64(h.kl[r])
	}
	f.outputGradient(h, params, x, wRec)
	f.decoderBackward(h)
	f.latentBackward(h, x, eps, wKL)
	f.encoderBackward(h, x)
	return loss
}

// outputGradient sets the gradient at the decoder's output (its last
// layer's pre-activation) into h.dA, and the gradient of the likelihood's
// log-scales.
func (f *fusedNet) outputGradient(h *fusedShard, params [][]float32, x, wRec []float32) {
	n, d := h.hi-h.lo, f.d
	out := h.decA[len(f.dec)-1]
	dOut := h.dA[:n*d]
	inv, dScale, skip := f.invScale, h.dScale, f.cfg.noRecon
	clear(dScale)
	for r := 0; r < n; r++ {
		xr, or, dr := x[r*d:(r+1)*d], out[r*d:(r+1)*d], dOut[r*d:(r+1)*d]
		switch f.cfg.Likelihood {
		case Bernoulli:
			for j := range or {
				dr[j] = wRec[r] * (h.sig[r*d+j] - xr[j])
			}
		case Gaussian:
			w := wRec[r]
			for j, a := range or {
				if skip != nil && skip[j] {
					dr[j] = 0
					continue
				}
				diff := xr[j] - a
				dr[j] = -w * diff * inv[j]
				dScale[j] += w * 0.5 * (inv[j] - diff*diff*inv[j]*inv[j])
			}
		case Laplace:
			w := wRec[r]
			for j, a := range or {
				if skip != nil && skip[j] {
					dr[j] = 0
					continue
				}
				diff := xr[j] - a
				dr[j] = negSign(diff) * w * inv[j]
				dScale[j] += w * (inv[j] - abs32(diff)*inv[j]*inv[j])
			}
		}
	}
	if dScale != nil {
		g := h.grads[len(h.grads)-1]
		ls := params[len(params)-1]
		for j := range g {
			g[j] = dScale[j] * float32(math.Exp(float64(ls[j])))
		}
	}
}

// decoderBackward takes the gradient at the output (h.dA) back through the
// decoder: its layers' parameter gradients, and the gradient at the latent
// code into h.dZ. cur and other take turns holding the gradient at a
// layer's output and at its input.
func (f *fusedNet) decoderBackward(h *fusedShard) {
	n := h.hi - h.lo
	cur, other := h.dA, h.dPrev
	dA := cur[:n*f.d]
	for i := len(f.dec) - 1; i >= 0; i-- {
		l := f.dec[i]
		input := h.z
		if i > 0 {
			input = h.decH[i-1]
		}
		denseGrads(input, dA, h.grads[l.param], h.grads[l.param+1], n, l.in, l.out)
		dIn := other[:n*l.in]
		backInput(dA, f.wT[l.param], dIn, n, l.in, l.out)
		if i == 0 {
			copy(h.dZ, dIn)
			break
		}
		kernel.ReLUGrad(h.decA[i-1], dIn)
		dA, cur, other = dIn, other, cur
	}
}

// latentBackward takes the gradient at the latent code (h.dZ) through the
// sampling z = mu + exp(½ lv)·eps, adds the KL term's, and sets the
// gradients at mu and the log-variance (h.dMu, h.dLv) and of the two
// heads' parameters.
func (f *fusedNet) latentBackward(h *fusedShard, x, eps, wKL []float32) {
	n, L, bound := h.hi-h.lo, f.latent, f.cfg.LogVarBound
	for i := range h.dZ {
		r := i / L
		h.dMu[i] = h.dZ[i] + wKL[r]*h.mu[i]
		dlv := h.dZ[i]*eps[i]*0.5*h.std[i] + wKL[r]*0.5*(h.std[i]*h.std[i]-1)
		if bound > 0 {
			t := h.lv[i] / bound
			dlv *= 1 - t*t
		}
		h.dLv[i] = dlv
	}
	last := x // the heads' input: the last encoder layer's output
	if len(f.enc) > 0 {
		last = h.encH[len(f.enc)-1]
	}
	denseGrads(last, h.dMu, h.grads[f.mu.param], h.grads[f.mu.param+1], n, f.mu.in, L)
	denseGrads(last, h.dLv, h.grads[f.logVar.param], h.grads[f.logVar.param+1], n, f.logVar.in, L)
}

// encoderBackward takes the gradients at mu and the log-variance back
// through the encoder's layers to their parameter gradients.
func (f *fusedNet) encoderBackward(h *fusedShard, x []float32) {
	if len(f.enc) == 0 {
		return
	}
	n, L := h.hi-h.lo, f.latent
	cur, other := h.dH, h.dPrev
	dH := cur[:n*f.mu.in]
	backInput(h.dMu, f.wT[f.mu.param], dH, n, f.mu.in, L)
	backInputAdd(h.dLv, f.wT[f.logVar.param], dH, n, f.logVar.in, L)
	for i := len(f.enc) - 1; i >= 0; i-- {
		l := f.enc[i]
		kernel.ReLUGrad(h.encA[i], dH)
		input := x
		if i > 0 {
			input = h.encH[i-1]
		}
		denseGrads(input, dH, h.grads[l.param], h.grads[l.param+1], n, l.in, l.out)
		if i > 0 {
			dIn := other[:n*l.in]
			backInput(dH, f.wT[l.param], dIn, n, l.in, l.out)
			dH, cur, other = dIn, other, cur
		}
	}
}

// dense computes out = x·w + b for n rows (x is n×in, w in×out).
func dense(x, w, b, out []float32, n, in, outW int) {
	for r := 0; r < n; r++ {
		copy(out[r*outW:(r+1)*outW], b)
	}
	kernel.Gemm(n, outW, in, x, in, 1, w, outW, out, outW)
}

// denseGrads adds xᵀ·dA to dW and the column sums of dA to db.
func denseGrads(x, dA, dW, db []float32, n, in, out int) {
	kernel.Gemm(in, out, n, x, 1, in, dA, out, dW, out)
	for r := 0; r < n; r++ {
		for j, v := range dA[r*out : (r+1)*out] {
			db[j] += v
		}
	}
}

// backInput sets dIn = dA·wᵀ, given wT, the transpose of w (out×in).
func backInput(dA, wT, dIn []float32, n, in, out int) {
	clear(dIn[:n*in])
	backInputAdd(dA, wT, dIn, n, in, out)
}

// backInputAdd adds dA·wᵀ to dIn, given wT, the transpose of w.
func backInputAdd(dA, wT, dIn []float32, n, in, out int) {
	kernel.Gemm(n, in, out, dA, out, 1, wT, in, dIn, in)
}

// negSign returns -1 for a positive v, 1 for a negative one and 0 for ±0
// (and ±1 for a NaN), without a branch: the reconstruction errors' signs
// follow no pattern.
func negSign(v float32) float32 {
	b := math.Float32bits(v)
	one := (b & (1 << 31)) ^ (1 << 31) | 0x3f800000 // ∓1 by v's sign
	nonzero := ^uint32((int64(b&^(1<<31)) - 1) >> 63)
	return math.Float32frombits(one & nonzero)
}
