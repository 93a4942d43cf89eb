package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/vaejob/vaejob/pipeline"
)

// A term is a candidate anomaly score beside the model's own, for the
// --study table: fitted on a run's training rows, evaluated on its training
// and test rows. Terms see one of three views of a row: its raw features,
// the model's scaled features, or the model's latent posterior mean.
type term struct {
	name, about string
	view        view
	// fit returns the term's scorer, fitted on the training rows of its
	// view. A scorer may reuse buffers between calls: one goroutine each.
	fit func(train [][]float64) (func(row []float64) float64, error)
	// ofModel, set instead of fit for a term that reads the trained model
	// rather than fitting on its view, returns the term's scorer.
	ofModel func(m *pipeline.Model) (func(row []float64) float64, error)
}

// view names what a term is computed on.
type view int

const (
	viewModel  view = iota // the model's own score and its latent term
	viewRaw                // raw feature values
	viewScaled             // the model's scaled features
	viewLatent             // the posterior mean of the model's encoder
)

// Study settings: the ridge added to the covariance of scaled features and
// of latent means, relative to its mean variance; the share of rows an
// MCD-like fit keeps and its concentration steps; the variance a PCA
// subspace keeps.
const (
	featureRidge = 0.01
	latentRidge  = 0.001
	mcdKeep      = 0.75
	mcdSteps     = 3
	pcaVariance  = 0.95
)

// Names of the terms that are the model's own score and its latent term.
const (
	modelScore  = "vae"
	modelLatent = "vae-latent"
)

// terms lists the study's candidate terms; the first two are the model's
// score and the latent term of its sum rule (ScoreParts.Latent).
var terms = []term{
	{name: modelScore, about: "the model's score", view: viewModel},
	{name: modelLatent, about: "the latent term of the model's score", view: viewModel},
	{name: "centroid-minmax", about: "squared distance to the training mean, min-max scaled (the reference centroid)", view: viewRaw, fit: fitMinMaxCentroid},
	{name: "centroid-robust", about: "squared distance to the training median, robust scaled (vaejob's robust scaler, fitted here whatever the model's)", view: viewRaw, fit: fitRobustNorm(2)},
	{name: "l1-robust", about: "L1 distance to the training median, robust scaled", view: viewRaw, fit: fitRobustNorm(1)},
	{name: "mahalanobis", about: "squared Mahalanobis distance of the model's scaled row, ridge 1 %", view: viewScaled, fit: fitMahalanobis(featureRidge, 1, 0)},
	{name: "mcd", about: "squared Mahalanobis distance of the model's scaled row under a trimmed fit (75 % of rows, 3 concentration steps), ridge 1 %", view: viewScaled, fit: fitMahalanobis(featureRidge, mcdKeep, mcdSteps)},
	{name: "pca-residual", about: "squared distance of the model's scaled row from the principal subspace keeping 95 % of the variance", view: viewScaled, fit: fitPCAResidual(pcaVariance)},
	{name: "latent-mahalanobis", about: "squared Mahalanobis distance of the posterior mean, ridge 0.1 %", view: viewLatent, fit: fitMahalanobis(latentRidge, 1, 0)},
	{name: "ecdf-tail", about: "sum over features of −log of the smaller empirical tail share of the raw value x, (#{≥ x} + 1)/(n + 1) or (#{≤ x} + 1)/(n + 1) over the n training rows (ECOD without its skewness rule)", view: viewRaw, fit: fitECDFTail},
	{name: "vae-tangent", about: "L1 norm of the model's reconstruction residual less the part a first-order latent shift explains (ridge 1, the prior's scale) along the decoder's tangent space at the posterior mean (central differences), in likelihood-scale units (constant features: their scaled value, reconstructed as 0)", view: viewRaw, ofModel: tangentResidual},
	{name: "copula-l1", about: "L1 distance to the training mean after each raw feature is mapped to normal scores by its training ranks (mid-ranks for ties, linear in between, past the range at 1.349/IQR per unit, the range standing in for an IQR of 0)", view: viewRaw, fit: fitCopulaL1},
}

// termNamed returns the index of the term with the given name, or -1.
func termNamed(name string) int {
	return slices.IndexFunc(terms, func(t term) bool { return t.name == name })
}

// fitMinMaxCentroid scores the squared distance to the training mean of a
// row min-max scaled on the training rows; constant features count zero.
func fitMinMaxCentroid(train [][]float64) (func([]float64) float64, error) {
	d := len(train[0])
	lo, hi, mean := make([]float64, d), make([]float64, d), columnMeans(train)
	for j := range d {
		lo[j], hi[j] = math.Inf(1), math.Inf(-1)
	}
	for _, r := range train {
		for j, v := range r {
			lo[j], hi[j] = min(lo[j], v), max(hi[j], v)
		}
	}
	return func(r []float64) float64 {
		s := 0.0
		for j, v := range r {
			if hi[j] > lo[j] {
				u := (v - mean[j]) / (hi[j] - lo[j])
				s += u * u
			}
		}
		return s
	}, nil
}

// fitRobustNorm fits vaejob's robust scaler (pipeline.FitRobust: median,
// 4 × IQR) on the training rows and scores the p-norm (p = 1) or squared
// norm (p = 2) of a scaled row: its distance to the median.
func fitRobustNorm(p int) func([][]float64) (func([]float64) float64, error) {
	return func(train [][]float64) (func([]float64) float64, error) {
		d := len(train[0])
		flat := make([]float32, 0, len(train)*d)
		for _, r := range train {
			for _, v := range r {
				flat = append(flat, float32(v))
			}
		}
		scaler, _, err := pipeline.FitRobust(flat, d)
		if err != nil {
			return nil, err
		}
		in, out := make([]float32, d), make([]float32, d)
		return func(r []float64) float64 {
			for j, v := range r {
				in[j] = float32(v)
			}
			scaler.Transform(in, out)
			s := 0.0
			for _, v := range out {
				if p == 1 {
					s += math.Abs(float64(v))
				} else {
					s += float64(v) * float64(v)
				}
			}
			return s
		}, nil
	}
}

// gaussian is a mean and a precision matrix.
type gaussian struct {
	mean []float64
	prec *mat.SymDense
	diff *mat.VecDense // distance's buffer
}

// fitGaussian fits the mean and covariance of rows, adds rel × the mean
// variance to the diagonal and inverts it.
func fitGaussian(rows [][]float64, rel float64) (gaussian, error) {
	d := len(rows[0])
	mean := columnMeans(rows)
	cov := covariance(rows, mean)
	trace := 0.0
	for j := range d {
		trace += cov.At(j, j)
	}
	eps := rel*trace/float64(d) + 1e-9
	for j := range d {
		cov.SetSym(j, j, cov.At(j, j)+eps)
	}
	var ch mat.Cholesky
	if !ch.Factorize(cov) {
		return gaussian{}, fmt.Errorf("covariance of %d rows × %d features is not positive definite", len(rows), d)
	}
	prec := mat.NewSymDense(d, nil)
	if err := ch.InverseTo(prec); err != nil {
		return gaussian{}, err
	}
	return gaussian{mean: mean, prec: prec, diff: mat.NewVecDense(d, nil)}, nil
}

// distance is the squared Mahalanobis distance of r. It uses g's buffer:
// one goroutine per gaussian.
func (g gaussian) distance(r []float64) float64 {
	for j, v := range r {
		g.diff.SetVec(j, v-g.mean[j])
	}
	return mat.Inner(g.diff, g.prec, g.diff)
}

// fitMahalanobis scores the squared Mahalanobis distance under a Gaussian
// fitted on the rows with relative ridge rel; with steps > 0 the fit is
// refitted steps times on the keep share of rows closest to the previous
// fit (MCD's concentration step).
func fitMahalanobis(rel, keep float64, steps int) func([][]float64) (func([]float64) float64, error) {
	return func(train [][]float64) (func([]float64) float64, error) {
		g, err := fitGaussian(train, rel)
		if err != nil {
			return nil, err
		}
		k := max(int(keep*float64(len(train))), len(train[0])+1)
		for range steps {
			order := make([]int, len(train))
			dist := make([]float64, len(train))
			for i, r := range train {
				order[i], dist[i] = i, g.distance(r)
			}
			slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(dist[a], dist[b]) })
			subset := make([][]float64, min(k, len(train)))
			for i := range subset {
				subset[i] = train[order[i]]
			}
			if g, err = fitGaussian(subset, rel); err != nil {
				return nil, err
			}
		}
		return g.distance, nil
	}
}

// fitPCAResidual scores the squared distance of a row from the subspace of
// the principal components that keep the given share of the variance.
func fitPCAResidual(share float64) func([][]float64) (func([]float64) float64, error) {
	return func(train [][]float64) (func([]float64) float64, error) {
		d := len(train[0])
		mean := columnMeans(train)
		cov := covariance(train, mean)
		var eig mat.EigenSym
		if !eig.Factorize(cov, true) {
			return nil, fmt.Errorf("eigendecomposition of a %d × %d covariance failed", d, d)
		}
		values := eig.Values(nil) // ascending
		var vectors mat.Dense
		eig.VectorsTo(&vectors)
		total := 0.0
		for _, v := range values {
			total += max(v, 0)
		}
		var basis [][]float64
		kept := 0.0
		for c := d - 1; c >= 0 && (kept < share*total || len(basis) == 0); c-- {
			kept += max(values[c], 0)
			basis = append(basis, mat.Col(nil, c, &vectors))
		}
		dev := make([]float64, d)
		return func(r []float64) float64 {
			s := 0.0
			for j, v := range r {
				dev[j] = v - mean[j]
				s += dev[j] * dev[j]
			}
			for _, b := range basis {
				p := 0.0
				for j, v := range dev {
					p += v * b[j]
				}
				s -= p * p
			}
			return max(s, 0)
		}, nil
	}
}

// sortedColumns returns each column of rows, sorted, or an error naming a
// column with a value that is not finite (no order to rank it by).
func sortedColumns(rows [][]float64) ([][]float64, error) {
	cols := make([][]float64, len(rows[0]))
	for j := range cols {
		cols[j] = make([]float64, len(rows))
		for i, r := range rows {
			if math.IsNaN(r[j]) || math.IsInf(r[j], 0) {
				return nil, fmt.Errorf("feature %d of training row %d is %g: ranks need finite values", j, i, r[j])
			}
			cols[j][i] = r[j]
		}
		slices.Sort(cols[j])
	}
	return cols, nil
}

// fitECDFTail scores a row by how far into either tail of its training
// column each feature lies: Σ_j −log min(P̂(X_j ≥ x_j), P̂(X_j ≤ x_j)), the
// shares counted on the n training rows with one added to count and n, so
// that a value beyond the training range scores log(n + 1), not infinity.
// A row with a NaN scores NaN.
func fitECDFTail(train [][]float64) (func([]float64) float64, error) {
	cols, err := sortedColumns(train)
	if err != nil {
		return nil, err
	}
	n := float64(len(train))
	return func(r []float64) float64 {
		s := 0.0
		for j, v := range r {
			if math.IsNaN(v) {
				return math.NaN()
			}
			below := float64(sortSearch(cols[j], v, false)) // values < v
			atMost := float64(sortSearch(cols[j], v, true)) // values ≤ v
			share := min(n-below+1, atMost+1) / (n + 1)
			s -= math.Log(share)
		}
		return s
	}, nil
}

// normalScores maps a training column's distinct values to the normal
// quantiles of their mid-ranks; between values it interpolates linearly,
// past the range it continues at the slope of a normal whose IQR is the
// column's (1.349/IQR; the range stands in for an IQR of 0, and a constant
// column maps every value to 0).
type normalScores struct {
	values, scores []float64
	slope          float64
}

// fitNormalScores fits the map on a sorted column of finite values. The
// mid-rank share of a value held by rows i..k−1 is (i + k)/(2n), strictly
// between 0 and 1, so every quantile is finite.
func fitNormalScores(sorted []float64) normalScores {
	n := float64(len(sorted))
	var ns normalScores
	for i := 0; i < len(sorted); {
		k := i + 1
		for k < len(sorted) && sorted[k] == sorted[i] {
			k++
		}
		p := (float64(i) + float64(k-i)/2) / n
		ns.values = append(ns.values, sorted[i])
		ns.scores = append(ns.scores, math.Sqrt2*math.Erfinv(2*p-1))
		i = k
	}
	iqr := pipeline.QuantileSorted(sorted, 0.75) - pipeline.QuantileSorted(sorted, 0.25)
	if iqr <= 0 {
		iqr = sorted[len(sorted)-1] - sorted[0]
	}
	if iqr > 0 {
		ns.slope = 1.349 / iqr
	}
	return ns
}

// at returns the normal score of v; NaN for NaN.
func (ns normalScores) at(v float64) float64 {
	last := len(ns.values) - 1
	switch {
	case math.IsNaN(v):
		return v
	case v <= ns.values[0]:
		return ns.scores[0] + (v-ns.values[0])*ns.slope
	case v >= ns.values[last]:
		return ns.scores[last] + (v-ns.values[last])*ns.slope
	}
	i := sortSearch(ns.values, v, true) // first value above v; i ≥ 1
	lo, hi := ns.values[i-1], ns.values[i]
	return ns.scores[i-1] + (ns.scores[i]-ns.scores[i-1])*(v-lo)/(hi-lo)
}

// fitCopulaL1 maps each raw feature to normal scores (fitNormalScores) and
// scores the L1 distance to the training mean of the mapped rows.
func fitCopulaL1(train [][]float64) (func([]float64) float64, error) {
	cols, err := sortedColumns(train)
	if err != nil {
		return nil, err
	}
	maps := make([]normalScores, len(cols))
	for j, c := range cols {
		maps[j] = fitNormalScores(c)
	}
	mean := make([]float64, len(cols))
	for _, r := range train {
		for j, v := range r {
			mean[j] += maps[j].at(v) / float64(len(train))
		}
	}
	return func(r []float64) float64 {
		s := 0.0
		for j, v := range r {
			s += math.Abs(maps[j].at(v) - mean[j])
		}
		return s
	}, nil
}

// tangentStep is the latent step of the decoder's central differences.
const tangentStep = 1e-2

// tangentResidual scores a raw row by what the decoder's tangent space at
// the row's posterior mean cannot explain of its reconstruction residual:
// with r the residual of the network's features and J the decoder's
// Jacobian, both divided feature by feature by the likelihood's scale (the
// Laplace scale, the Gaussian standard deviation, 1 for Bernoulli), the L1
// norm of r − J c, where c = (JᵀJ + I)⁻¹ Jᵀr is the latent shift that best
// explains r to first order under the prior's unit scale. A decoder that
// ignores its latent (a collapsed model) has J ≈ 0, c ≈ 0, and the term is
// the residual itself. A constant feature, which the model reconstructs as
// 0, adds its scaled value's magnitude times its weight (for the default's
// Laplace likelihood, its term of the model's score).
func tangentResidual(m *pipeline.Model) (func([]float64) float64, error) {
	varying := make([]int, 0, m.NetworkDim())
	for j := range m.Dim() {
		if !slices.Contains(m.Constant, j) {
			varying = append(varying, j)
		}
	}
	dv, k := len(varying), m.LatentDim()
	weight := make([]float64, m.Dim()) // by feature, as the scales
	for j := range weight {
		switch {
		case m.LaplaceScale != nil:
			weight[j] = 1 / float64(m.LaplaceScale[j])
		case m.Variance != nil:
			weight[j] = 1 / math.Sqrt(float64(m.Variance[j]))
		default:
			weight[j] = 1
		}
	}
	scorer := pipeline.NewScorer(m)
	in := make([]float32, m.Dim())
	z, up := make([]float32, k), make([]float32, dv)
	width := k
	for _, l := range m.Decoder {
		width = max(width, l.Out)
	}
	bufs := [2][]float32{make([]float32, width), make([]float32, width)}
	decode := func(latent []float32) []float32 {
		cur := latent
		for i, l := range m.Decoder {
			out := bufs[i%2][:l.Out]
			l.Apply(cur, out)
			cur = out
		}
		return cur
	}
	jac := mat.NewDense(dv, k, nil)
	r := mat.NewVecDense(dv, nil)
	var gram mat.SymDense
	var proj, c, fitted mat.VecDense
	return func(row []float64) float64 {
		for j, v := range row {
			in[j] = float32(v)
		}
		scaled, mu, recon := scorer.Reconstruct(in)
		s := 0.0
		for _, j := range m.Constant {
			s += math.Abs(float64(scaled[j])) * weight[j] // reconstructed as 0
		}
		for a, j := range varying {
			r.SetVec(a, (float64(scaled[j])-float64(recon[a]))*weight[j])
		}
		for q := range k {
			copy(z, mu)
			z[q] = mu[q] + tangentStep
			copy(up, decode(z))
			z[q] = mu[q] - tangentStep
			down := decode(z)
			for a, j := range varying {
				jac.Set(a, q, (float64(up[a])-float64(down[a]))/(2*tangentStep)*weight[j])
			}
		}
		gram.SymOuterK(1, jac.T())
		for q := range k {
			gram.SetSym(q, q, gram.At(q, q)+1)
		}
		proj.MulVec(jac.T(), r)
		var ch mat.Cholesky
		if ch.Factorize(&gram) && ch.SolveVecTo(&c, &proj) == nil {
			fitted.MulVec(jac, &c)
			for a := range dv {
				s += math.Abs(r.AtVec(a) - fitted.AtVec(a))
			}
			return s
		}
		for a := range dv {
			s += math.Abs(r.AtVec(a))
		}
		return s
	}, nil
}

// columnMeans returns the mean of each column of rows.
func columnMeans(rows [][]float64) []float64 {
	mean := make([]float64, len(rows[0]))
	for _, r := range rows {
		for j, v := range r {
			mean[j] += v / float64(len(rows))
		}
	}
	return mean
}

// covariance returns the covariance matrix of rows about mean (divided by
// the number of rows).
func covariance(rows [][]float64, mean []float64) *mat.SymDense {
	d := len(mean)
	cov := mat.NewSymDense(d, nil)
	diff := make([]float64, d)
	for _, r := range rows {
		for j, v := range r {
			diff[j] = v - mean[j]
		}
		cov.SymRankOne(cov, 1/float64(len(rows)), mat.NewVecDense(d, diff))
	}
	return cov
}

// termScores computes every term on the training rows and test rows of a
// run (raw, row-major) with its trained model: scores[t] holds term t's
// training scores and test scores.
func termScores(m *pipeline.Model, train, test []float32) (scores [][2][]float64, err error) {
	views := func(x []float32) (raw, scaled, latent [][]float64, parts pipeline.ScoreParts) {
		d := m.Dim()
		n := len(x) / d
		scorer := pipeline.NewScorer(m)
		for i := range n {
			row := x[i*d : (i+1)*d]
			raw = append(raw, float64s(row))
			// The encoder pass scales the row on the way (Model.ScaleRow).
			scaledRow, mu, _ := scorer.Reconstruct(row)
			scaled = append(scaled, float64s(scaledRow))
			latent = append(latent, float64s(mu))
		}
		return raw, scaled, latent, m.ScoreParts(x)
	}
	var byView [2][4][][]float64
	var parts [2]pipeline.ScoreParts
	for k, x := range [2][]float32{train, test} {
		byView[k][viewRaw], byView[k][viewScaled], byView[k][viewLatent], parts[k] = views(x)
	}
	scores = make([][2][]float64, len(terms))
	for t, tm := range terms {
		if tm.view == viewModel {
			for k := range 2 {
				src := parts[k].Scores
				if tm.name == modelLatent {
					src = parts[k].Latent
				}
				scores[t][k] = float64s(src)
			}
			continue
		}
		var score func([]float64) float64
		if tm.ofModel != nil {
			score, err = tm.ofModel(m)
		} else {
			score, err = tm.fit(byView[0][tm.view])
		}
		if err != nil {
			return nil, fmt.Errorf("term %s: %w", tm.name, err)
		}
		for k := range 2 {
			rows := byView[k][tm.view]
			scores[t][k] = make([]float64, len(rows))
			for i, r := range rows {
				scores[t][k][i] = score(r)
			}
		}
	}
	return scores, nil
}

// float64s converts v to float64.
func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
