package pipeline

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
)

// likelihoods are the likelihoods a model's score can use: a Bernoulli
// one (no per-feature scale; the squared-error score only), a Gaussian and
// a Laplace one.
var likelihoods = []string{"bernoulli", "gaussian", "laplace"}

// explainModel returns a model of five features with the score kind and
// likelihood given, two of its features constant when constant is set, and
// imputation values when impute is set; ok is false for a score kind the
// likelihood cannot give (a likelihood score without per-feature scales).
func explainModel(t *testing.T, kind ScoreKind, likelihood string, constant, impute bool) (m *Model, ok bool) {
	t.Helper()
	if likelihood == "bernoulli" && kind != ScoreMSE {
		return nil, false
	}
	d := 5
	if constant {
		d = 3
	}
	m = tinyModel(d, 7)
	m.Score = kind
	scales := []float32{0.2, 0.5, 1.5, 0.8, 2}[:d]
	switch likelihood {
	case "gaussian":
		m.Variance = scales
	case "laplace":
		m.LaplaceScale = scales
	}
	if kind == ScoreELBO {
		m.LogVarBound = 3
	}
	if constant {
		net := m
		var err error
		if m, err = WithConstantFeatures(net, []string{"c0", "f0", "c1", "f1", "f2"}, []int{0, 2}); err != nil {
			t.Fatal(err)
		}
		if m.Scaler, _, err = FitMinMax([]float32{0, 0, 250, 1, 2, 0, 2, 250, 3, 4}, 5); err != nil {
			t.Fatal(err)
		}
	}
	if impute {
		m.Imputation = []float32{0, 1, 250, 2, 3}
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m, true
}

// explainRows returns 300 rows of five features around the models' ranges,
// with a missing value (NaN, +Inf, a huge sentinel) in a few rows, and the
// constant features at their constant in half the rows.
func explainRows() []float32 {
	rng := rand.New(rand.NewSource(9))
	x := make([]float32, 300*5)
	for i := range x {
		x[i] = float32(rng.NormFloat64()*2 + 1)
		if r := i / 5; r%2 == 0 && (i%5 == 0 || i%5 == 2) {
			x[i] = []float32{0, 250}[i%5/2] // the constants of the constant features
		}
	}
	x[7], x[5*40+3], x[5*41+1] = float32(math.NaN()), float32(math.Inf(1)), 3e38
	return x
}

// closeTo reports whether got is within tol·max(1, |want|) of want, or both
// are NaN.
func closeTo(got, want float32, tol float64) bool {
	if got != got || want != want {
		return got != got && want != want
	}
	return math.Abs(float64(got)-float64(want)) <= tol*math.Max(1, math.Abs(float64(want)))
}

// TestScorePartsSumToScore checks, for every score kind and likelihood,
// with and without constant features and imputation, on rows with missing
// values: the per-row ScoreParts gives the very score Score gives; the
// features' shares and the latent term sum to it within float32 rounding;
// the latent term is 0 for the kinds without one; a row that scores NaN
// has NaN shares; and the batched Model.ScoreParts agrees with the per-row
// one within float32 rounding of its layers, and gives ScoreRows' scores.
func TestScorePartsSumToScore(t *testing.T) {
	x := explainRows()
	for _, kind := range ScoreKinds {
		for _, lik := range likelihoods {
			for _, constant := range []bool{false, true} {
				for _, impute := range []bool{false, true} {
					m, ok := explainModel(t, kind, lik, constant, impute)
					if !ok {
						continue
					}
					name := fmt.Sprintf("%s/%s/constant=%v/impute=%v", kind, lik, constant, impute)
					t.Run(name, func(t *testing.T) { checkScoreParts(t, m, x) })
				}
			}
		}
	}
}

func checkScoreParts(t *testing.T, m *Model, x []float32) {
	d := m.Dim()
	n := len(x) / d
	s := NewScorer(m)
	batch := m.ScoreParts(x)
	if !slices.EqualFunc(batch.Scores, m.ScoreRows(x), func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
		t.Fatal("ScoreParts' scores differ from ScoreRows'")
	}
	explained := m.ExplainParts(x)
	bitsEqual := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
	if !slices.EqualFunc(explained.Scores, batch.Scores, bitsEqual) || !slices.EqualFunc(explained.Features, batch.Features, bitsEqual) {
		t.Fatal("ExplainParts' scores or shares differ from ScoreParts'")
	}
	dv := m.NetworkDim()
	shares := make([]float32, d)
	nans := 0
	for r := 0; r < n; r++ {
		row := x[r*d : (r+1)*d]
		_, _, recon := s.Reconstruct(row)
		for k, v := range recon {
			if got := explained.Recon[r*dv+k]; !(got != got && v != v) && !closeTo(got, v, 1e-4) {
				t.Fatalf("row %d: batched reconstruction %d is %v, per-row %v", r, k, got, v)
			}
		}
		score, latent := s.ScoreParts(row, shares)
		if want := s.Score(row); math.Float32bits(score) != math.Float32bits(want) {
			t.Fatalf("row %d: ScoreParts' score %v, Score %v", r, score, want)
		}
		if score != score {
			nans++
			if !slices.ContainsFunc(shares, func(v float32) bool { return v != v }) {
				t.Fatalf("row %d scores NaN but its shares %v are not", r, shares)
			}
			continue
		}
		sum := float64(latent)
		for _, v := range shares {
			sum += float64(v)
		}
		if !closeTo(float32(sum), score, 1e-5) {
			t.Fatalf("row %d: shares %v + latent %v sum to %v, score %v", r, shares, latent, sum, score)
		}
		if (m.Score == ScoreMSE || m.Score == ScoreNLL) && latent != 0 {
			t.Fatalf("row %d: latent term %v for score kind %s", r, latent, m.Score)
		}
		for j, v := range shares {
			if !closeTo(batch.Features[r*d+j], v, 1e-4) {
				t.Fatalf("row %d feature %d: batched share %v, per-row %v", r, j, batch.Features[r*d+j], v)
			}
		}
		if !closeTo(batch.Latent[r], latent, 1e-4) {
			t.Fatalf("row %d: batched latent %v, per-row %v", r, batch.Latent[r], latent)
		}
	}
	if wantNaN := m.Imputation == nil; (nans > 0) != wantNaN {
		t.Errorf("%d rows score NaN; want some exactly when the model does not impute", nans)
	}
}

// TestScorePartsOfConstantFeature checks that a constant feature's share is
// its departure term: 0 at the constant, and for a Gaussian score ½k² at a
// departure of k departure scales.
func TestScorePartsOfConstantFeature(t *testing.T) {
	m, _ := explainModel(t, ScoreNLL, "gaussian", true, false)
	row := []float32{0, 1, 250, 2, 3}
	shares := make([]float32, 5)
	NewScorer(m).ScoreParts(row, shares)
	if shares[0] != 0 || shares[2] != 0 {
		t.Errorf("shares %v: want 0 for the constant features at their constant", shares)
	}
	row[2] = 250 + 3*DepartureScale(250)
	NewScorer(m).ScoreParts(row, shares)
	if !closeTo(shares[2], 4.5, 1e-4) {
		t.Errorf("share of a constant feature 3 departure scales off: %v, want 4.5", shares[2])
	}
}

// TestTailTable builds tail tables of several sets of validation scores
// and checks what a service relies on: the probability lies in [0, 1], is
// 1 at and below the smallest validation score, never rises with the
// score, is the exact share of rows scoring at least as high at each
// validation score among the TailRows highest that no other score crowds
// (and never below that share anywhere), is 1/(n+1) beyond the largest
// validation score and 0 for NaN; the table stays within its size bound
// and is valid.
func TestTailTable(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	lognormal := make([]float32, 5000)
	for i := range lognormal {
		lognormal[i] = float32(math.Exp(rng.NormFloat64()))
	}
	tests := []struct {
		name   string
		scores []float32
	}{
		{"ten distinct", spread(1, 0.5, 10)},
		{"one row", []float32{2}},
		{"ties", concat(repeat(0, 40), repeat(1, 30), repeat(2.5, 1), spread(3, 1, 5))},
		{"crowded", concat(spread(1, 1e-6, 20), spread(5, 1, 3))},
		{"five thousand lognormal", lognormal},
		{"with NaN and Inf", append(spread(0.1, 0.1, 50), float32(math.NaN()), float32(math.Inf(1)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkTailTable(t, tc.scores) })
	}
}

func checkTailTable(t *testing.T, scores []float32) {
	tab := NewTailTable(scores)
	if err := tab.validate(); err != nil {
		t.Fatal(err)
	}
	if len(tab.Upper) > TailRows+TailBodyKnots+1 {
		t.Errorf("%d entries, want at most %d", len(tab.Upper), TailRows+TailBodyKnots+1)
	}
	var sorted []float32
	for _, v := range scores {
		if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			sorted = append(sorted, v)
		}
	}
	slices.Sort(sorted)
	n := len(sorted)
	if tab.Rows != n {
		t.Fatalf("table of %d rows, want %d", tab.Rows, n)
	}
	share := func(s float32) float32 {
		i, _ := slices.BinarySearch(sorted, s) // first ≥ s
		return float32(float64(n-i) / float64(n))
	}
	lo, hi := sorted[0], sorted[n-1]
	probes := []float32{lo - 1, lo, hi, hi + 1e-3*hi + 1, float32(math.Inf(1))}
	for _, v := range sorted {
		probes = append(probes, v, edgeAbove(v), math.Nextafter32(edgeAbove(v), float32(math.Inf(1))))
	}
	probes = append(probes, tab.Upper...)
	slices.Sort(probes)
	prev := float32(1)
	for _, s := range probes {
		p := tab.Probability(s)
		if !(p >= 0 && p <= 1) || p > prev {
			t.Fatalf("p(%v) = %v after %v: want in [0, 1] and not rising", s, p, prev)
		}
		prev = p
	}
	for _, s := range []float32{lo - 1, lo} {
		if p := tab.Probability(s); p != 1 {
			t.Errorf("p(%v) = %v at or below the smallest validation score %v, want 1", s, p, lo)
		}
	}
	if p, want := tab.Probability(hi+1e-3*hi+1), float32(1/float64(n+1)); p != want {
		t.Errorf("p beyond the largest validation score = %v, want 1/(n+1) = %v", p, want)
	}
	if p := tab.Probability(float32(math.NaN())); p != 0 {
		t.Errorf("p(NaN) = %v, want 0", p)
	}
	for i, e := range tab.Upper {
		if p, want := tab.Probability(e), float32(float64(tab.AtLeast[i])/float64(n)); p != want {
			t.Errorf("p at edge %d (%v) = %v, want its step's %v", i, e, p, want)
		}
	}
	for i, v := range sorted {
		p, want := tab.Probability(v), share(v)
		if p < want {
			t.Fatalf("p(%v) = %v, below the share %v of rows scoring at least as high", v, p, want)
		}
		isolated := (i == 0 || clearGap(sorted[i-1], v)) && (i == n-1 || clearGap(v, sorted[i+1]) || sorted[i+1] == v)
		if i >= n-TailRows && isolated && p != want {
			t.Fatalf("p(%v) = %v in the tail, want the share %v", v, p, want)
		}
	}
}

// TestTailTableEmpty checks a table without validation rows, and a nil
// one (a model from a file of an earlier format): 1 for every score, 0 for
// NaN.
func TestTailTableEmpty(t *testing.T) {
	for _, tab := range []*TailTable{nil, NewTailTable(nil)} {
		for _, s := range []float32{-1, 0, 1e30, float32(math.Inf(1))} {
			if p := tab.Probability(s); p != 1 {
				t.Errorf("%v: p(%v) = %v, want 1", tab, s, p)
			}
		}
		if p := tab.Probability(float32(math.NaN())); p != 0 {
			t.Errorf("%v: p(NaN) = %v, want 0", tab, p)
		}
	}
}

// TestTailTableValidate checks that Model.Validate refuses a damaged tail
// table.
func TestTailTableValidate(t *testing.T) {
	good := func() *TailTable { return NewTailTable(spread(1, 1, 10)) }
	tests := []struct {
		name   string
		damage func(*TailTable)
	}{
		{"fewer counts", func(tab *TailTable) { tab.AtLeast = tab.AtLeast[1:] }},
		{"first count", func(tab *TailTable) { tab.AtLeast[0]-- }},
		{"edges fall", func(tab *TailTable) { tab.Upper[3], tab.Upper[4] = tab.Upper[4], tab.Upper[3] }},
		{"counts rise", func(tab *TailTable) { tab.AtLeast[4] = tab.AtLeast[3] }},
		{"NaN edge", func(tab *TailTable) { tab.Upper[9] = float32(math.NaN()) }},
		{"rows without edges", func(tab *TailTable) { tab.Upper, tab.AtLeast = nil, nil }},
		{"last count 0", func(tab *TailTable) { tab.AtLeast[9] = 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel(3, 1)
			m.Tail = good()
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			tc.damage(m.Tail)
			if err := m.Validate(); err == nil {
				t.Error("Validate accepted the damaged table")
			}
		})
	}
}

func ExampleNewTailTable() {
	// Ten validation rows scored 1, 2, ..., 10.
	tab := NewTailTable([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	for _, s := range []float32{0.5, 1, 7, 9.5, 10, 40, float32(math.NaN())} {
		fmt.Printf("score %v: tail probability %.3g\n", s, tab.Probability(s))
	}
	// Output:
	// score 0.5: tail probability 1
	// score 1: tail probability 1
	// score 7: tail probability 0.4
	// score 9.5: tail probability 0.1
	// score 10: tail probability 0.1
	// score 40: tail probability 0.0909
	// score NaN: tail probability 0
}
