package main

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/vaejob/vaejob/pipeline"
)

func TestParseCombinations(t *testing.T) {
	tests := []struct {
		list  string
		specs []string
		terms [][]string
		wts   [][]float64
		err   string
	}{
		{list: "vae", specs: []string{"vae"}, terms: [][]string{{"vae"}}, wts: [][]float64{{1}}},
		{list: "vae+0.5*pca-residual, mcd", specs: []string{"vae+0.5*pca-residual", "mcd"},
			terms: [][]string{{"vae", "pca-residual"}, {"mcd"}}, wts: [][]float64{{1, 0.5}, {1}}},
		{list: "vae + 2 * mcd", specs: []string{"vae + 2 * mcd"}, terms: [][]string{{"vae", "mcd"}}, wts: [][]float64{{1, 2}}},
		{list: "vae+nope", err: `unknown term "nope"`},
		{list: "vae++mcd", err: `unknown term ""`},
		{list: "vae+x*mcd", err: `weight "x" is not a positive number`},
		{list: "vae+-1*mcd", err: `weight "-1"`},
		{list: "vae+0*mcd", err: `weight "0"`},
		{list: "vae+NaN*mcd", err: `weight "NaN"`},
		{list: "vae+Inf*mcd", err: `weight "Inf"`},
		{list: " , ", err: "no combinations"},
	}
	for _, tt := range tests {
		got, err := parseCombinations(tt.list)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseCombinations(%q) error = %v, want %q", tt.list, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseCombinations(%q): %v", tt.list, err)
			continue
		}
		if len(got) != len(tt.specs) {
			t.Errorf("parseCombinations(%q): %d combinations, want %d", tt.list, len(got), len(tt.specs))
			continue
		}
		for i, c := range got {
			var names []string
			for _, k := range c.terms {
				names = append(names, terms[k].name)
			}
			if c.spec != tt.specs[i] || !slices.Equal(names, tt.terms[i]) || !slices.Equal(c.weights, tt.wts[i]) {
				t.Errorf("combination %d = %q %v %v, want %q %v %v", i, c.spec, names, c.weights, tt.specs[i], tt.terms[i], tt.wts[i])
			}
		}
	}
	all, err := parseCombinations(defaultCombinations)
	if err != nil || len(all) != 2*len(terms)-1+4 {
		t.Errorf("the default combinations: %d, %v", len(all), err)
	}
}

func TestNormalisations(t *testing.T) {
	upTo1000 := make([]float64, 1001) // median 500, q90 900, mean excess over q90 50.5
	for i := range upTo1000 {
		upTo1000[i] = float64(i)
	}
	// 0…4 and six 5s: median 5 = q90 = max, so the spread falls back past
	// them to 1; ties at the top leave nothing above q90.
	tiedTop := []float64{0, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5}
	tests := []struct {
		name        string
		norm        func(train, test []float64) []float64
		train, test []float64
		want        []float64
	}{
		{"q90", normaliseQ90, upTo1000, []float64{500, 900, 1300}, []float64{0, 1, 2}},
		{"q90 of a constant", normaliseQ90, []float64{2, 2, 2}, []float64{2, 3}, []float64{0, 1}},
		{"q90, tied top", normaliseQ90, tiedTop, []float64{5, 6, 100}, []float64{0, 1, 95}},
		{"q90 falls back to q99", normaliseQ90, append(make([]float64, 95), 1, 2, 3, 4, 5), []float64{0, 4.01}, []float64{0, 1}},
		{"q90 falls back to the max", normaliseQ90, append(make([]float64, 200), 7), []float64{0, 7, 14}, []float64{0, 1, 2}},
		{"tail", normaliseTail, upTo1000, []float64{-5, 0, 899, 1000},
			[]float64{0, 0, -math.Log(102.0 / 1001), math.Log(1001.0/100) + 100/50.5}},
		{"tail, tied top", normaliseTail, tiedTop, []float64{4, 5, 6, 100},
			[]float64{-math.Log(7.0 / 11), math.Log(11.0 / 6), math.Log(11.0/6) + 1, math.Log(11.0/6) + 95}},
	}
	for _, tt := range tests {
		got := tt.norm(tt.train, tt.test)
		for i, w := range tt.want {
			if math.Abs(got[i]-w) > 1e-9 {
				t.Errorf("%s(%g) = %g, want %g", tt.name, tt.test[i], got[i], w)
			}
		}
	}
	tail := normaliseTail(upTo1000, []float64{-5, 0, 100, 500, 899, 900, 901, 1000, 1100, 5000})
	if !slices.IsSorted(tail) {
		t.Errorf("tail is not monotone: %v", tail)
	}
}

func TestCombine(t *testing.T) {
	scores := make([][2][]float64, len(terms))
	train := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10} // median 5, q90 9
	scores[0] = [2][]float64{train, {5, 9, 13}}
	scores[2] = [2][]float64{train, {13, 5, 9}}
	c := combination{spec: "test", terms: []int{0, 2}, weights: []float64{1, 0.5}}
	for i, want := range [][]float32{
		{0 + 1, 1 + 0, 2 + 0.5}, // sum
		{1, 1, 2},               // max
	} {
		got := combine(c, newNormalisedRun(scores), 0, rules[i])
		for k := range want {
			if math.Abs(float64(got[k]-want[k])) > 1e-6 {
				t.Errorf("%s = %v, want %v", rules[i].name, got, want)
				break
			}
		}
	}
}

// gaussianRows draws n rows whose columns are x, 2x + small noise and an
// independent unit column.
func gaussianRows(r *rand.Rand, n int) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		x := r.NormFloat64()
		rows[i] = []float64{x, 2*x + 0.1*r.NormFloat64(), r.NormFloat64()}
	}
	return rows
}

func TestMahalanobisSeesCorrelation(t *testing.T) {
	rows := gaussianRows(rand.New(rand.NewSource(1)), 4000)
	score, err := fitMahalanobis(1e-6, 1, 0)(rows)
	if err != nil {
		t.Fatal(err)
	}
	along := score([]float64{1, 2, 0})    // on the x–2x line: about 1
	against := score([]float64{1, -2, 0}) // breaks the relation: far larger
	if along > 2 || against < 100*along {
		t.Errorf("distance along the correlation %g, against it %g", along, against)
	}
	l2, err := fitRobustNorm(2)(rows)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := l2([]float64{1, 2, 0}), l2([]float64{1, -2, 0}); b > 1.2*a || a > 1.2*b {
		t.Errorf("the robust squared norm sees the correlation: %g along, %g against", a, b)
	}
}

func TestMCDResistsOutliers(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	rows := gaussianRows(r, 3000)
	for i := 0; i < 600; i++ { // 20 % contamination far away
		rows = append(rows, []float64{8 + r.NormFloat64(), -8 + r.NormFloat64(), 8 + r.NormFloat64()})
	}
	plain, err := fitMahalanobis(1e-6, 1, 0)(rows)
	if err != nil {
		t.Fatal(err)
	}
	robust, err := fitMahalanobis(1e-6, mcdKeep, mcdSteps)(rows)
	if err != nil {
		t.Fatal(err)
	}
	outlier, inlier := []float64{8, -8, 8}, []float64{0, 0, 0}
	if robust(outlier) < 10*plain(outlier) || robust(inlier) > 1 {
		t.Errorf("robust fit: outlier %g (plain %g), inlier %g", robust(outlier), plain(outlier), robust(inlier))
	}
}

func TestPCAResidual(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	rows := make([][]float64, 2000)
	for i := range rows { // a line through (1, 1, 1) along (1, 2, 2)/3, and tiny noise
		s := 3 * r.NormFloat64()
		rows[i] = []float64{1 + s/3 + 1e-3*r.NormFloat64(), 1 + 2*s/3, 1 + 2*s/3}
	}
	score, err := fitPCAResidual(0.95)(rows)
	if err != nil {
		t.Fatal(err)
	}
	if on := score([]float64{1 + 1.0/3, 1 + 2.0/3, 1 + 2.0/3}); on > 1e-4 {
		t.Errorf("residual of a point on the line = %g, want about 0", on)
	}
	// (0, 1, -1)/√2 is orthogonal to the line: squared distance 2 for (0, 1, -1).
	if off := score([]float64{1, 2, 0}); math.Abs(off-2) > 1e-3 {
		t.Errorf("residual of a point √2 off the line = %g, want 2", off)
	}
}

func TestMinMaxCentroid(t *testing.T) {
	train := [][]float64{{0, 5, 10}, {10, 5, 20}, {20, 5, 30}} // column 1 constant
	score, err := fitMinMaxCentroid(train)
	if err != nil {
		t.Fatal(err)
	}
	// mean (10, 5, 20), ranges 20 and 20: ((30-10)/20)² + 0 + ((20-20)/20)² = 1.
	if got := score([]float64{30, 99, 20}); math.Abs(got-1) > 1e-12 {
		t.Errorf("centroid score = %g, want 1 (a constant column counts 0)", got)
	}
}

// studied returns a run on dataset whose study gives the term mcd the
// test scores mcd and every other term vae's (training scores 0..10 for
// all), so that the bounds, which prefer the first of equal terms, pick
// between vae and mcd.
func studied(dataset string, vae, mcd []float64, labels []bool) split {
	train := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	s := splitOf(dataset, 0, 0.5, 0.5)
	s.study.terms = make([][2][]float64, len(terms))
	for t := range terms {
		s.study.terms[t] = [2][]float64{train, vae}
	}
	s.study.terms[termNamed("mcd")] = [2][]float64{train, mcd}
	s.study.labels = labels
	return s
}

func TestPrintStudy(t *testing.T) {
	broken := splitOf("glass", 1, 0.5, 0.5)
	broken.study.err = errors.New("covariance not positive definite") // left out, not a panic
	tasks := []split{
		studied("glass", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, []bool{false, false, true, true}),
		studied("WBC", []float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, []bool{false, true, false, true}),
		broken,
	}
	combos, err := parseCombinations("vae,mcd,vae+mcd")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := printStudy(&b, tasks, combos); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		// glass ranks perfectly by vae (floor max(0.556, 1 − 0.05) = 0.95),
		// WBC at 0.75 (floor 0.979: under it, as the model is).
		"| vae |  |  | 1.000 | 0.750 | **0.875** |",
		"| 1 WBC 0.750 |",
		"| mcd |  |  | 0.000 | 1.000 | **0.500** |",
		"| 1 glass 0.000 |",
		"| vae+mcd | q90 | sum |", "| vae+mcd | tail | max |",
		// The bounds pick vae on glass, mcd on WBC.
		"| every term | 1.000 | 1.000 | **1.000** | 0  | 1.000 | 1.000 | **1.000** |",
		"| vae or mcd | 1.000 | 1.000 | **1.000** | 0  | 1.000 | 1.000 | **1.000** |",
		"best ROC-AUC per table among every term: glass vae, WBC mcd\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("study lacks %q:\n%s", want, out)
		}
	}
}

func TestSelectionBounds(t *testing.T) {
	// Labels and scores chosen so that each rule of the bounds matters
	// (figures from the rank formulas of ROC-AUC and average precision):
	labels := []bool{false, true, false, false, true, false, true, false}
	runs := []split{
		// glass: vae ROC 1, PR 1 clears 0.95; mcd ROC 0 does not.
		studied("glass", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, []bool{false, false, true, true}),
		// landsat: vae ROC 0.733, PR 0.589 clears 0.683; mcd ROC 0.600
		// does not, so its better PR 0.643 is not taken.
		studied("landsat", []float64{1, 4, 5, 8, 7, 2, 6, 3}, []float64{1, 2, 3, 6, 5, 4, 8, 7}, labels),
		// Pima: mcd has the better ROC (0.800 against 0.733), vae the
		// better PR (0.810 against 0.639); both clear 0.683: ROC 0.800
		// and PR 0.810, from different terms.
		studied("Pima", []float64{3, 2, 4, 1, 7, 6, 8, 5}, []float64{3, 7, 2, 4, 5, 8, 6, 1}, labels),
		// WBC: vae ROC 0.75 is under 0.979, mcd's 1 clears it.
		studied("WBC", []float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, []bool{false, true, false, true}),
	}
	normalised := make([]*normalisedRun, len(runs))
	for i, r := range runs {
		normalised[i] = newNormalisedRun(r.study.terms)
	}
	floors := map[string]float64{"glass": 0.95, "landsat": 0.683, "Pima": 0.683, "WBC": 0.979}
	var b bytes.Buffer
	if err := printSelectionBounds(&b, runs, normalised, floors); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// ROC: A (1 + 0.733)/2, B (0.8 + 1)/2; PR: A (1 + 0.589)/2, B (0.810 + 1)/2.
	for _, want := range []string{
		"| every term | 0.867 | 0.900 | **0.883** | 0  | 0.794 | 0.905 | **0.850** |",
		"| vae or mcd | 0.867 | 0.900 | **0.883** | 0  | 0.794 | 0.905 | **0.850** |",
		"best ROC-AUC per table among every term: glass vae, landsat vae, Pima mcd, WBC mcd\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("bounds lack %q:\n%s", want, out)
		}
	}
	// Under its floor with every option: the table counts, its PR is the
	// best of all options.
	floors["WBC"] = 1.01
	b.Reset()
	if err := printSelectionBounds(&b, runs, normalised, floors); err != nil {
		t.Fatal(err)
	}
	if want := "| every term | 0.867 | 0.900 | **0.883** | 1 WBC 1.000 | 0.794 | 0.905 | **0.850** |"; !strings.Contains(b.String(), want) {
		t.Errorf("bounds lack %q:\n%s", want, b.String())
	}
}

func TestRankTermsRefuseNonFinite(t *testing.T) {
	for name, fit := range map[string]func([][]float64) (func([]float64) float64, error){"ecdf-tail": fitECDFTail, "copula-l1": fitCopulaL1} {
		if _, err := fit([][]float64{{1, 2}, {math.NaN(), 3}}); err == nil || !strings.Contains(err.Error(), "feature 0 of training row 1 is NaN") {
			t.Errorf("%s on a NaN training value: error %v", name, err)
		}
		score, err := fit([][]float64{{1, 2}, {2, 3}})
		if err != nil {
			t.Fatal(err)
		}
		if got := score([]float64{math.NaN(), 2}); !math.IsNaN(got) {
			t.Errorf("%s of a row with a NaN = %g, want NaN", name, got)
		}
	}
}

func TestECDFTail(t *testing.T) {
	// Column 0 holds 1..4 (n = 4), column 1 is constant at 7.
	score, err := fitECDFTail([][]float64{{1, 7}, {2, 7}, {3, 7}, {4, 7}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		row  []float64
		want float64
	}{
		{[]float64{2.5, 7}, -math.Log(3.0 / 5)},        // 2 values at least, 2 at most, +1 each over n + 1
		{[]float64{1, 7}, -math.Log(2.0 / 5)},          // the minimum: 1 value at most; the constant scores 0
		{[]float64{10, 7}, math.Log(5)},                // beyond the range: log(n + 1), not infinity
		{[]float64{-10, 8}, math.Log(5) + math.Log(5)}, // both columns beyond
	}
	for _, tt := range tests {
		if got := score(tt.row); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("ecdf-tail%v = %g, want %g", tt.row, got, tt.want)
		}
	}
}

func TestCopulaL1(t *testing.T) {
	// Column 0 holds 1..4: mid-rank shares 1/8, 3/8, 5/8, 7/8, normal
	// scores ±1.150349, ±0.318639, mean 0, IQR 3.25 − 1.75 = 1.5. Column 1
	// ties three 0s (share 1.5/4) below one 1 (share 3.5/4); column 2 is
	// constant and scores 0.
	train := [][]float64{{1, 0, 5}, {2, 0, 5}, {3, 0, 5}, {4, 1, 5}}
	score, err := fitCopulaL1(train)
	if err != nil {
		t.Fatal(err)
	}
	const hi, lo = 1.1503493803760079, 0.31863936396437514
	mean1 := (3*-lo + hi) / 4
	tests := []struct {
		row  []float64
		want float64
	}{
		{[]float64{2.5, 0, 5}, 0 + math.Abs(-lo-mean1)},           // halfway between the middle two: 0
		{[]float64{4, 1, 5}, hi + math.Abs(hi-mean1)},             // the top values
		{[]float64{5, 1, 9}, hi + 1.349/1.5 + math.Abs(hi-mean1)}, // one unit past the range at 1.349/IQR
		{[]float64{1, 0.5, 5}, hi + math.Abs((-lo+hi)/2-mean1)},   // between the tied 0s and the 1
		// Below the range: column 0 at 1.349/1.5 per unit, column 1 (IQR
		// 0.25 − 0) at 1.349/0.25.
		{[]float64{0, -1, 5}, hi + 1.349/1.5 + math.Abs(-lo-1.349/0.25-mean1)},
	}
	for _, tt := range tests {
		if got := score(tt.row); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("copula-l1%v = %.9g, want %.9g", tt.row, got, tt.want)
		}
	}
	// Seven 0s and a 1: the IQR is 0, so the range (1) stands in for it.
	quantile := func(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
	spike, err := fitCopulaL1([][]float64{{0}, {0}, {0}, {0}, {0}, {0}, {0}, {1}})
	if err != nil {
		t.Fatal(err)
	}
	zero, one := quantile(3.5/8), quantile(7.5/8)
	mean := (7*zero + one) / 8
	if got, want := spike([]float64{2}), one+1.349-mean; math.Abs(got-want) > 1e-9 {
		t.Errorf("copula-l1 of 2 on a spike at 0 = %.9g, want %.9g", got, want)
	}
}

func TestTangentResidual(t *testing.T) {
	// A model on features a, k, b, k constant (the network sees a and b),
	// whose posterior mean is 0 for every row and whose linear decoder
	// moves a by w per latent unit; scales 1, 0.25, 0.5 by feature (Laplace
	// b, or Gaussian σ). For the row (3, 0.5, 1): k adds 0.5/0.25 = 2;
	// r = (3/1, 1/0.5) = (3, 2), J = (w, 0), c = J·r/(J·J + 1).
	model := func(w float32, gaussian bool) *pipeline.Model {
		zero := func(in, out int) pipeline.Dense {
			return pipeline.Dense{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out)}
		}
		dec := zero(1, 2)
		dec.W[0] = w
		m := &pipeline.Model{
			Features: []string{"a", "k", "b"},
			Scaler:   pipeline.Scaler{Kind: pipeline.ScalerMinMax, Offset: []float32{0, 0, 0}, Scale: []float32{1, 1, 1}, Min: []float32{0, 0, 0}, Max: []float32{1, 0, 1}},
			Constant: []int{1},
			Encoder:  []pipeline.Dense{zero(2, 1)}, Mu: zero(1, 1), LogVar: zero(1, 1),
			Decoder:      []pipeline.Dense{dec},
			LaplaceScale: []float32{1, 0.25, 0.5},
			Score:        pipeline.ScoreELBO,
		}
		if gaussian {
			m.LaplaceScale, m.Variance = nil, []float32{1, 0.0625, 0.25}
		}
		return m
	}
	row := []float64{3, 0.5, 1}
	tests := []struct {
		name string
		w    float32
		want float64
	}{
		{"collapsed decoder: the residual itself", 0, 3 + 2 + 2},
		{"the tangent explains part of a", 2, (3 - 2*6.0/5) + 2 + 2}, // c = 6/5
		{"a steep tangent explains nearly all of a", 100, (3 - 100*300.0/10001) + 2 + 2},
	}
	for _, tt := range tests {
		for _, gaussian := range []bool{false, true} {
			m := model(tt.w, gaussian)
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			score, err := tangentResidual(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := score(row); math.Abs(got-tt.want) > 1e-4 {
				t.Errorf("%s (gaussian %v): vae-tangent = %.6g, want %.6g", tt.name, gaussian, got, tt.want)
			}
			if tt.w == 0 && !gaussian {
				total, latent := pipeline.NewScorer(m).ScoreParts(float32s(row), make([]float32, 3))
				if got := score(row); math.Abs(got-float64(total-latent)) > 1e-4 {
					t.Errorf("collapsed: vae-tangent = %g, the model's score less its latent term %g", got, total-latent)
				}
			}
		}
	}
}

// float32s converts v to float32.
func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
