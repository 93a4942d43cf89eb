package pipeline

import (
	"fmt"
	"math"
	"runtime"
)

// Scorer computes anomaly scores with a Model. It owns its scratch buffers,
// so one Scorer must not be used by two goroutines at once; make one per
// goroutine with NewScorer.
type Scorer struct {
	m              *Model
	scaled, mu, lv []float32
	a, b           []float32
	// varying lists the features the network sees (all when the model has
	// no constant feature); netIn holds them, scaled, for one row.
	varying []int
	netIn   []float32
	// spikeAt maps each feature the network sees to its spike's index in
	// the model's Spikes, or -1; nil when the model has no spike.
	spikeAt []int
	// weight[j] = 1 / (2 σ²_j), or 1 / b_j, for the likelihood scores.
	weight []float64
	// logits holds the output layer's pre-activation for Loss.
	logits []float64
}

// NewScorer returns a Scorer for m. m must be valid (see Model.Validate).
func NewScorer(m *Model) *Scorer {
	width := m.widest()
	s := &Scorer{
		m:       m,
		scaled:  make([]float32, m.Dim()),
		mu:      make([]float32, m.Mu.Out),
		lv:      make([]float32, m.LogVar.Out),
		a:       make([]float32, width),
		b:       make([]float32, width),
		varying: Varying(m.Dim(), m.Constant),
		spikeAt: m.SpikesByNetworkFeature(),
	}
	if len(m.Constant) > 0 {
		s.netIn = make([]float32, m.NetworkDim())
	}
	if m.Variance != nil {
		s.weight = make([]float64, len(m.Variance))
		for j, v := range m.Variance {
			s.weight[j] = 0.5 / float64(v)
		}
	}
	if m.LaplaceScale != nil {
		s.weight = make([]float64, len(m.LaplaceScale))
		for j, b := range m.LaplaceScale {
			s.weight[j] = 1 / float64(b)
		}
	}
	return s
}

// Reconstruct scales x and runs it through the encoder to the posterior mean
// and back through the decoder. It returns the scaled row (all features), the
// latent mean and the reconstruction of the features the network sees (see
// Model.Constant); all three are views of the Scorer's buffers, valid until
// the next call.
func (s *Scorer) Reconstruct(x []float32) (scaled, mu, recon []float32) {
	mu = s.encode(x)
	recon = s.chain(s.m.Decoder, mu)
	s.m.setSpikeReconstructions(s.spikeAt, recon)
	return s.scaled, mu, recon
}

// ScaleRow scales the raw row x into dst (both of m.Dim() values): a
// missing value (see IsMissing) takes the imputation value when the model
// has one, and is NaN otherwise, so that the row scores NaN. (A model with
// LegacyMissing takes only NaN and ±Inf for missing, and without
// imputation scales them like any value.)
func (m *Model) ScaleRow(x, dst []float32) {
	m.Scaler.Transform(x, dst)
	missing := IsMissing
	if m.LegacyMissing {
		missing = isNonFinite
	}
	for j, v := range x {
		if !missing(v) {
			continue
		}
		switch {
		case m.Imputation != nil:
			dst[j] = (m.Imputation[j] - m.Scaler.Offset[j]) * m.Scaler.Scale[j]
		case !m.LegacyMissing:
			dst[j] = float32(math.NaN())
		}
	}
}

// encode scales x into s.scaled and runs the encoder to the posterior mean,
// which it returns (s.mu). When the score needs it, it also leaves the
// bounded log-variance in s.lv, computed from the same hidden layer.
func (s *Scorer) encode(x []float32) []float32 {
	m := s.m
	m.ScaleRow(x, s.scaled)
	in := s.scaled
	if s.netIn != nil {
		for k, j := range s.varying {
			s.netIn[k] = s.scaled[j]
		}
		in = s.netIn
	}
	h := s.chain(m.Encoder, in)
	m.Mu.Apply(h, s.mu)
	if m.Score == ScoreELBO {
		m.LogVar.Apply(h, s.lv)
		m.BoundLogVar(s.lv)
	}
	return s.mu
}

// chain applies layers in turn, ping-ponging between the two scratch buffers.
func (s *Scorer) chain(layers []Dense, in []float32) []float32 {
	cur, next := s.a, s.b
	for i := range layers {
		l := &layers[i]
		out := cur[:l.Out]
		l.Apply(in, out)
		in = out
		cur, next = next, cur
	}
	return in
}

// Score returns the anomaly score of one raw row (see ScoreKind).
func (s *Scorer) Score(x []float32) float32 {
	scaled, mu, recon := s.Reconstruct(x)
	score, _ := s.scoreFrom(scaled, mu, s.lv, recon, nil)
	return score
}

// ScoreParts returns the anomaly score of one raw row, as Score does, and
// splits it into its additive parts: it writes each feature's share of the
// score to shares (Model.Dim values, in the order of Model.Features) and
// returns the latent term, so that the shares and the latent term sum to
// the score within float32 rounding. A feature's share is its weighted
// deviation from its reconstruction: (x - x̂)²/d for ScoreMSE, ½(x - x̂)²/σ²
// or |x - x̂|/b for the likelihood scores; a constant feature's share is its
// departure term. The latent term is KL(N(mu, exp(lv)) ‖ N(0, I)) for
// ScoreELBO, ½‖mu‖² for ScoreNLLLatent and 0 for the other kinds. A row
// that scores NaN has NaN shares.
func (s *Scorer) ScoreParts(x, shares []float32) (score, latent float32) {
	if len(shares) != s.m.Dim() {
		panic(fmt.Sprintf("ScoreParts: %d shares for %d features", len(shares), s.m.Dim()))
	}
	scaled, mu, recon := s.Reconstruct(x)
	return s.scoreFrom(scaled, mu, s.lv, recon, shares)
}

// scoreFrom computes the score of a row from its scaled values (all
// features), latent mean and log-variance (for ScoreELBO) and the
// reconstruction of the varying features, and returns it with its latent
// term. It is the one place the score's arithmetic is written. Each
// feature's term is computed in float64; shares, when not nil, receives
// them rounded to float32 (see ScoreParts). The terms are summed first for
// the varying features, in feature order, then for the constant features
// (their scaled value, whose reconstruction is 0), as the ONNX graph lays
// them out; the score is that sum (its mean for ScoreMSE) plus the latent
// term, rounded once.
func (s *Scorer) scoreFrom(scaled, mu, lv, recon, shares []float32) (score, latent float32) {
	div := 1.0 // the mean's divisor for ScoreMSE
	if s.m.Score == ScoreMSE {
		div = float64(len(scaled))
	}
	var sum float64
	add := func(j int, term float64) {
		sum += term
		if shares != nil {
			shares[j] = float32(term / div)
		}
	}
	for k, j := range s.varying {
		diff := scaled[j] - recon[k]
		term := s.term(j, float64(diff))
		if s.spikeAt != nil && s.spikeAt[k] >= 0 && diff != 0 {
			term += float64(s.m.Spikes[s.spikeAt[k]].Cost)
		}
		add(j, term)
	}
	for _, j := range s.m.Constant {
		add(j, s.term(j, float64(scaled[j])))
	}
	var lat float64
	switch s.m.Score {
	case ScoreMSE:
		return float32(sum / div), 0
	case ScoreELBO:
		lat = KL(mu, lv)
		sum += lat
	case ScoreNLLLatent:
		for _, m := range mu {
			t := 0.5 * float64(m) * float64(m)
			lat += t
			sum += t
		}
	}
	return float32(sum), float32(lat)
}

// term returns feature j's term of the score for the deviation diff of its
// scaled value from its reconstruction: diff² for ScoreMSE (before the
// mean), |diff|/b for a Laplace likelihood and ½ diff²/σ² for a Gaussian.
func (s *Scorer) term(j int, diff float64) float64 {
	switch {
	case s.m.Score == ScoreMSE:
		return diff * diff
	case s.m.LaplaceScale != nil:
		return math.Abs(diff) * s.weight[j]
	}
	return diff * diff * s.weight[j]
}

// IsAnomaly is the alert rule of every runtime: a score strictly above the
// threshold, or a NaN score (a row with a missing or non-finite value is
// never silently normal).
func IsAnomaly(score, threshold float32) bool {
	return score > threshold || score != score
}

// BoundLogVar applies the model's LogVarBound to the log-variances lv in
// place; without a bound it leaves them alone.
func (m *Model) BoundLogVar(lv []float32) {
	if b := m.LogVarBound; b > 0 {
		for i, v := range lv {
			lv[i] = b * float32(math.Tanh(float64(v/b)))
		}
	}
}

// KL returns KL(N(mu, exp(lv)) ‖ N(0, I)) = ½ Σ (mu² + exp(lv) - lv - 1).
func KL(mu, lv []float32) float64 {
	var kl float64
	for j := range mu {
		m, l := float64(mu[j]), float64(lv[j])
		kl += 0.5 * (m*m + math.Exp(l) - l - 1)
	}
	return kl
}

// ScoreRows scores the rows of x (row-major, m.Dim() values each) into a new
// slice.
func (m *Model) ScoreRows(x []float32) []float32 {
	out := make([]float32, len(x)/m.Dim())
	m.ScoreRowsTo(out, x)
	return out
}

// ScoreRowsTo scores the rows of x (row-major, m.Dim() values each) into
// out, which must have one entry per row.
func (m *Model) ScoreRowsTo(out, x []float32) {
	if len(out) != len(x)/m.Dim() {
		panic(fmt.Sprintf("ScoreRowsTo: %d scores for %d rows", len(out), len(x)/m.Dim()))
	}
	m.scoreParts(x, ScoreParts{Scores: out})
}

// ScoreParts holds the scores of rows split into their additive parts (see
// Scorer.ScoreParts): row i's Features[i·d : (i+1)·d] and Latent[i] sum to
// Scores[i] within float32 rounding.
type ScoreParts struct {
	Scores   []float32 // one per row
	Features []float32 // row-major, Model.Dim() per row, in the order of Model.Features
	Latent   []float32 // one per row; 0 for score kinds without a latent term
	// Recon, when not nil, receives each row's reconstruction mean in
	// scaled units, Model.NetworkDim() per row (the features the network
	// sees; see Scorer.Reconstruct), so that explaining a row needs no
	// second pass through the network.
	Recon []float32
}

// ScoreParts scores the rows of x (row-major, m.Dim() values each) and
// splits each score into its features' shares and its latent term, as
// Scorer.ScoreParts does, a block of rows at a time (as ScoreRows).
func (m *Model) ScoreParts(x []float32) ScoreParts {
	n := len(x) / m.Dim()
	p := ScoreParts{Scores: make([]float32, n), Features: make([]float32, n*m.Dim()), Latent: make([]float32, n)}
	m.scoreParts(x, p)
	return p
}

// ExplainParts is ScoreParts with each row's reconstruction in Recon.
func (m *Model) ExplainParts(x []float32) ScoreParts {
	n := len(x) / m.Dim()
	p := ScoreParts{Scores: make([]float32, n), Features: make([]float32, n*m.Dim()), Latent: make([]float32, n),
		Recon: make([]float32, n*m.NetworkDim())}
	m.scoreParts(x, p)
	return p
}

// scoreParts fills p (Scores always; Features and Latent when not nil) for
// the rows of x, a block at a time.
func (m *Model) scoreParts(x []float32, p ScoreParts) {
	d := m.Dim()
	EachPiece(len(p.Scores), scoreRows, func(_, lo, hi int) {
		bs := newBatchScorer(m)
		for r := lo; r < hi; r += batchRows {
			end := min(hi, r+batchRows)
			block := ScoreParts{Scores: p.Scores[r:end]}
			if p.Features != nil {
				block.Features = p.Features[r*d : end*d]
			}
			if p.Latent != nil {
				block.Latent = p.Latent[r:end]
			}
			if p.Recon != nil {
				dv := m.NetworkDim()
				block.Recon = p.Recon[r*dv : end*dv]
			}
			bs.score(x[r*d:end*d], block)
		}
	})
}

// EachColumn runs work(j) for every column j < d of a matrix of rows
// rows, on several cores when the matrix is large (see Each). Work on one
// column must not touch another's results.
func EachColumn(d, rows int, work func(j int)) {
	if rows*d < 1<<16 {
		for j := range d {
			work(j)
		}
		return
	}
	Each(d, work)
}

// EachColumnOf runs work(j, col) for every column j of the row-major
// matrix x of d columns, col holding the column's values in row order, a
// copy that work may reorder. Columns are copied out a group at a time
// (one pass over the rows fills a group), and on a large matrix the
// groups run at once (see Each). Work on one column must not touch
// another's results; what it computes does not depend on the grouping.
func EachColumnOf(x []float32, d int, work func(j int, col []float32)) {
	n := len(x) / d
	group := 1
	if n*d >= 1<<16 {
		group = min(maxColumnGroup, (d+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0))
	}
	Each((d+group-1)/group, func(g int) {
		lo, hi := g*group, min(d, (g+1)*group)
		cols := make([][]float32, hi-lo)
		for k := range cols {
			cols[k] = make([]float32, n)
		}
		for r := range n {
			for k, v := range x[r*d+lo : r*d+hi] {
				cols[k][r] = v
			}
		}
		for k, col := range cols {
			work(lo+k, col)
		}
	})
}

// maxColumnGroup bounds the columns EachColumnOf copies out in one pass.
const maxColumnGroup = 8

// scoreRows is the fewest rows a piece of a scoring pass holds.
const scoreRows = 2048
