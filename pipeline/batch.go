package pipeline

import "github.com/vaejob/vaejob/pipeline/internal/kernel"

// batchRows is how many rows the batched scorer runs through the network
// at a time: a block's activations stay in the cache.
const batchRows = 128

// batchScorer scores rows a block at a time with float32 matrix products:
// the same computation as Scorer, several times faster on many rows, equal
// to it up to float32 rounding in the layers (the scores themselves are
// summed in float64 as Score does).
type batchScorer struct {
	m      *Model
	s      *Scorer // for the per-row score from the block's activations
	scaled []float32
	netIn  []float32 // the varying features of scaled, when some are constant
	a, b   []float32 // ping-pong activations, batchRows × widest layer
	mu, lv []float32
}

func newBatchScorer(m *Model) *batchScorer {
	width := m.widest()
	L := m.LatentDim()
	bs := &batchScorer{m: m, s: NewScorer(m), scaled: make([]float32, batchRows*m.Dim()),
		a: make([]float32, batchRows*width), b: make([]float32, batchRows*width),
		mu: make([]float32, batchRows*L), lv: make([]float32, batchRows*L)}
	if len(m.Constant) > 0 {
		bs.netIn = make([]float32, batchRows*m.NetworkDim())
	}
	return bs
}

// networkInput scales the rows of x into bs.scaled and returns the
// network's input: the scaled rows, or their varying features when some
// are constant.
func (bs *batchScorer) networkInput(x []float32) []float32 {
	m := bs.m
	d := m.Dim()
	n := len(x) / d
	scaled := bs.scaled[:n*d]
	for r := 0; r < n; r++ {
		m.ScaleRow(x[r*d:(r+1)*d], scaled[r*d:(r+1)*d])
	}
	if bs.netIn == nil {
		return scaled
	}
	dv := m.NetworkDim()
	in := bs.netIn[:n*dv]
	for r := 0; r < n; r++ {
		for k, j := range bs.s.varying {
			in[r*dv+k] = scaled[r*d+j]
		}
	}
	return in
}

// score writes the scores of the rows of x (row-major, at most batchRows
// rows) to parts.Scores and, when parts has them, their features' shares
// and latent terms (see Scorer.ScoreParts).
func (bs *batchScorer) score(x []float32, parts ScoreParts) {
	m := bs.m
	d := m.Dim()
	n := len(x) / d
	scaled := bs.scaled[:n*d]
	h := bs.chain(m.Encoder, bs.networkInput(x), n)
	L := m.LatentDim()
	mu := bs.mu[:n*L]
	layer(&m.Mu, h, mu, n)
	lv := bs.lv[:n*L]
	if m.Score == ScoreELBO {
		layer(&m.LogVar, h, lv, n)
		m.BoundLogVar(lv)
	}
	recon := bs.chain(m.Decoder, mu, n)
	m.setSpikeReconstructions(bs.s.spikeAt, recon)
	dv := m.NetworkDim()
	if parts.Recon != nil {
		copy(parts.Recon, recon)
	}
	for r := 0; r < n; r++ {
		var shares []float32
		if parts.Features != nil {
			shares = parts.Features[r*d : (r+1)*d]
		}
		score, latent := bs.s.scoreFrom(scaled[r*d:(r+1)*d], mu[r*L:(r+1)*L], lv[r*L:(r+1)*L], recon[r*dv:(r+1)*dv], shares)
		parts.Scores[r] = score
		if parts.Latent != nil {
			parts.Latent[r] = latent
		}
	}
}

// encode scales the rows of x (row-major, at most batchRows rows) and runs
// them through the encoder to their posterior means, which it returns
// (n × LatentDim, valid until the next call).
func (bs *batchScorer) encode(x []float32) []float32 {
	m := bs.m
	d := m.Dim()
	n := len(x) / d
	h := bs.chain(m.Encoder, bs.networkInput(x), n)
	mu := bs.mu[:n*m.LatentDim()]
	layer(&m.Mu, h, mu, n)
	return mu
}

// chain runs n rows through layers, ping-ponging between the scratch
// buffers, and returns the output (n × last width).
func (bs *batchScorer) chain(layers []Dense, in []float32, n int) []float32 {
	cur, next := bs.a, bs.b
	for i := range layers {
		l := &layers[i]
		out := cur[:n*l.Out]
		layer(l, in, out, n)
		in = out
		cur, next = next, cur
	}
	return in
}

// layer computes out = act(in·W + b) for n rows.
func layer(l *Dense, in, out []float32, n int) {
	for r := 0; r < n; r++ {
		copy(out[r*l.Out:(r+1)*l.Out], l.B)
	}
	kernel.Gemm(n, l.Out, l.In, in, l.In, 1, l.W, l.Out, out, l.Out)
	switch l.Activation {
	case Identity:
	case ReLU:
		kernel.ReLU(out, out) // as activate: NaN and -0 pass through
	default:
		for i, v := range out {
			out[i] = activate(l.Activation, float64(v))
		}
	}
}
