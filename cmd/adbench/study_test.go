package main

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

func TestParseCombinations(t *testing.T) {
	tests := []struct {
		list    string
		specs   []string
		weights [][]float64
		err     string
	}{
		{list: "vae", specs: []string{"vae"}, weights: [][]float64{{1}}},
		{list: "vae+0.5*pca-residual, mcd", specs: []string{"vae+0.5*pca-residual", "mcd"}, weights: [][]float64{{1, 0.5}, {1}}},
		{list: "vae+nope", err: `unknown term "nope"`},
		{list: "vae+x*mcd", err: `weight "x" is not a positive number`},
		{list: "vae+-1*mcd", err: `weight "-1"`},
		{list: " , ", err: "no combinations"},
		{list: defaultCombinations},
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
		for i, spec := range tt.specs {
			if got[i].spec != spec || len(got[i].weights) != len(tt.weights[i]) {
				t.Errorf("combination %d = %+v, want %s with weights %v", i, got[i], spec, tt.weights[i])
				continue
			}
			for k, w := range tt.weights[i] {
				if got[i].weights[k] != w {
					t.Errorf("%s: weight %d = %g, want %g", spec, k, got[i].weights[k], w)
				}
			}
		}
	}
}

func TestNormalisations(t *testing.T) {
	train := make([]float64, 1001)
	for i := range train {
		train[i] = float64(i) // median 500, q90 900
	}
	q := normaliseQ90(train, []float64{500, 900, 1300})
	for i, want := range []float64{0, 1, 2} {
		if math.Abs(q[i]-want) > 1e-12 {
			t.Errorf("q90(%v) = %g, want %g", []float64{500, 900, 1300}[i], q[i], want)
		}
	}
	test := []float64{-5, 0, 100, 500, 899, 900, 901, 1000, 1100, 5000}
	tail := normaliseTail(train, test)
	for i := 1; i < len(tail); i++ {
		if tail[i] < tail[i-1] {
			t.Errorf("tail not monotone: %g at %g after %g at %g", tail[i], test[i], tail[i-1], test[i-1])
		}
	}
	if tail[1] != 0 { // every training score is ≥ 0
		t.Errorf("tail(0) = %g, want 0", tail[1])
	}
	// Just below and just above q90 the two pieces meet: −log(0.1) either way.
	if lo, hi := tail[4], tail[6]; math.Abs(lo-math.Log(10)) > 0.03 || math.Abs(hi-math.Log(10)) > 0.03 {
		t.Errorf("tail around q90 = %g, %g, want about %g", lo, hi, math.Log(10))
	}
	// Past the largest training score it keeps growing, linearly.
	if tail[9] <= tail[8] {
		t.Errorf("tail does not extrapolate: %g at 5000, %g at 1100", tail[9], tail[8])
	}
	flat := normaliseQ90([]float64{2, 2, 2}, []float64{2, 3})
	if flat[0] != 0 || flat[1] != 1 {
		t.Errorf("q90 of a constant term = %v, want [0 1] (spread 1)", flat)
	}
}

func TestCombine(t *testing.T) {
	scores := make([][2][]float64, len(terms))
	train := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10} // median 5, q90 9
	scores[0] = [2][]float64{train, {5, 9, 13}}
	scores[2] = [2][]float64{train, {13, 5, 9}}
	c := combination{spec: "test", terms: []int{0, 2}, weights: []float64{1, 0.5}}
	for _, tt := range []struct {
		rule string
		want []float32
	}{
		{"sum", []float32{0 + 1, 1 + 0, 2 + 0.5}},
		{"max", []float32{1, 1, 2}},
	} {
		got := combine(c, scores, normalisations[0], tt.rule)
		for i := range tt.want {
			if math.Abs(float64(got[i]-tt.want[i])) > 1e-6 {
				t.Errorf("%s = %v, want %v", tt.rule, got, tt.want)
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
	l2, _ := fitNorm(2)(rows)
	if l2([]float64{1, 2, 0}) != l2([]float64{1, -2, 0}) {
		t.Error("the squared norm should not see the correlation")
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
