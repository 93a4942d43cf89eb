package pipeline

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
)

func TestDepartureScale(t *testing.T) {
	tests := []struct {
		c, want float32
	}{
		{0, 0.01},
		{0.5, 0.01},
		{-1, 0.01},
		{250, 2.5},
		{-4000, 40},
	}
	for _, tt := range tests {
		if got := DepartureScale(tt.c); got != tt.want {
			t.Errorf("DepartureScale(%v) = %v, want %v", tt.c, got, tt.want)
		}
	}
}

func TestConstantColumns(t *testing.T) {
	tests := []struct {
		name string
		x    []float32
		d    int
		want []int
	}{
		{"none", []float32{1, 2, 3, 4}, 2, nil},
		{"one", []float32{1, 2, 3, 2, 5, 2}, 2, []int{1}},
		{"all", []float32{1, 2, 1, 2}, 2, []int{0, 1}},
		{"one row", []float32{1, 2}, 2, []int{0, 1}},
		{"no rows", nil, 2, nil},
		{"-0 equals 0", []float32{0, 1, float32(math.Copysign(0, -1)), 2}, 2, []int{0}},
	}
	for _, tt := range tests {
		if got := ConstantColumns(tt.x, tt.d); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ConstantColumns = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// constantModel returns the network tinyModel(3) as the model of five
// features c0 f0 c1 f1 f2, c0 constant at 0 and c1 at 250 on the training
// rows, scored by kind (a Laplace likelihood for "laplace").
func constantModel(t *testing.T, kind string) (*Model, *Model) {
	t.Helper()
	net := tinyModel(3, 5)
	switch kind {
	case "mse":
	case "gaussian":
		net.Score, net.Variance = ScoreNLL, []float32{0.2, 0.5, 1.5}
	case "laplace":
		net.Score, net.LaplaceScale = ScoreNLL, []float32{0.2, 0.5, 1.5}
	case "elbo":
		net.Score, net.Variance, net.LogVarBound = ScoreELBO, []float32{0.2, 0.5, 1.5}, 3
	}
	names := []string{"c0", "f0", "c1", "f1", "f2"}
	m, err := WithConstantFeatures(net, names, []int{0, 2})
	if err != nil {
		t.Fatal(err)
	}
	train := []float32{
		0, 0, 250, 1, 2,
		0, 2, 250, 3, 4,
	}
	if m.Scaler, _, err = FitMinMax(train, 5); err != nil {
		t.Fatal(err)
	}
	// The network's own scaler, on its three features, as tinyModel has it.
	for k, j := range []int{1, 3, 4} {
		m.Scaler.Offset[j], m.Scaler.Scale[j] = net.Scaler.Offset[k], net.Scaler.Scale[k]
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m, net
}

// TestConstantFeatureScore checks that a row holding the constants scores
// what the network alone gives its varying features (MSE: averaged over all
// five features), and that a departure of k departure scales adds k² to the
// squared-error sum, ½k² to a Gaussian score and |k| to a Laplace score, in
// the per-row scorer and the batched one.
func TestConstantFeatureScore(t *testing.T) {
	tests := []struct {
		kind string
		// base turns the network's score of the varying features into the
		// model's; added is the term of one departure of k scales.
		base  func(float64) float64
		added func(k float64) float64
	}{
		{"mse", func(s float64) float64 { return s * 3 / 5 }, func(k float64) float64 { return k * k / 5 }},
		{"gaussian", func(s float64) float64 { return s }, func(k float64) float64 { return k * k / 2 }},
		{"laplace", func(s float64) float64 { return s }, func(k float64) float64 { return math.Abs(k) }},
		{"elbo", func(s float64) float64 { return s }, func(k float64) float64 { return k * k / 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			m, net := constantModel(t, tt.kind)
			varying := []float32{0.5, 2, 3.5}
			base := tt.base(float64(NewScorer(net).Score(varying)))
			s := NewScorer(m)
			for _, k := range []float64{0, 1, -2, 10} {
				for _, c := range []int{0, 2} {
					row := []float32{0, varying[0], 250, varying[1], varying[2]}
					row[c] += float32(k) * DepartureScale(row[c])
					want := base + tt.added(k)
					got := float64(s.Score(row))
					if math.Abs(got-want) > 1e-5*math.Max(1, want) {
						t.Errorf("departure %v scales in column %d: score %v, want %v", k, c, got, want)
					}
					if k == 0 && got != float64(float32(base)) {
						t.Errorf("a row at the constants scores %v, want exactly the network's %v", got, float32(base))
					}
					// The batched scorer, in a block of many rows.
					block := slices.Repeat(row, 300)
					for r, b := range m.ScoreRows(block) {
						if math.Abs(float64(b)-got) > 1e-5*math.Max(1, got) {
							t.Fatalf("ScoreRows row %d = %v, Scorer %v", r, b, got)
						}
					}
				}
			}
		})
	}
}

// TestMissingValues checks that a missing value (NaN, ±Inf, beyond
// ±MaxFeatureMagnitude) makes the score NaN without imputation, takes the
// imputation value with it, and that a value at the bound is no missing
// value: in the per-row and the batched scorer.
func TestMissingValues(t *testing.T) {
	m, _ := constantModel(t, "gaussian")
	inside := math.Nextafter32(MaxFeatureMagnitude, 0)
	tests := []struct {
		name    string
		v       float32
		missing bool
	}{
		{"NaN", float32(math.NaN()), true},
		{"+Inf", float32(math.Inf(1)), true},
		{"float32 max", 3.4e38, true},
		{"-float32 max", -3.4e38, true},
		{"float32(1e30)", 1e30, true},
		{"largest within", inside, false},
		{"-largest within", -inside, false},
	}
	for _, tt := range tests {
		if IsMissing(tt.v) != tt.missing {
			t.Fatalf("%s: IsMissing = %v", tt.name, !tt.missing)
		}
		for _, col := range []int{0, 1} { // a constant and a varying feature
			for _, impute := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/col%d/impute=%v", tt.name, col, impute), func(t *testing.T) {
					mm := *m
					if impute {
						mm.Imputation = []float32{0, 1, 250, 2, 3}
					}
					row := []float32{0, 1, 250, 2, 3}
					row[col] = tt.v
					got := NewScorer(&mm).Score(row)
					batch := mm.ScoreRows(slices.Repeat(row, 3))[2]
					switch {
					case tt.missing && !impute:
						if !math.IsNaN(float64(got)) || !math.IsNaN(float64(batch)) {
							t.Errorf("scores %v and %v, want NaN", got, batch)
						}
					case tt.missing && impute:
						want := NewScorer(&mm).Score(mm.Imputation)
						if got != want || math.Abs(float64(batch-want)) > 1e-5*math.Max(1, float64(want)) {
							t.Errorf("scores %v and %v, want the imputed row's %v", got, batch, want)
						}
					default:
						if math.IsNaN(float64(got)) {
							t.Errorf("a value within the bound scored NaN")
						}
					}
				})
			}
		}
	}
}

func TestWithConstantFeaturesErrors(t *testing.T) {
	net := tinyModel(3, 1)
	tests := []struct {
		name     string
		names    []string
		constant []int
	}{
		{"unsorted", []string{"a", "f0", "b", "f1", "f2"}, []int{2, 0}},
		{"out of range", []string{"f0", "f1", "f2", "a"}, []int{4}},
		{"wrong count", []string{"a", "f0", "f1", "f2", "b"}, []int{0}},
		{"wrong names", []string{"a", "f1", "f0", "f2"}, []int{0}},
	}
	for _, tt := range tests {
		if _, err := WithConstantFeatures(net, tt.names, tt.constant); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	m, err := WithConstantFeatures(net, net.Features, nil)
	if err != nil || m != net {
		t.Errorf("no constant features: %v, %v", m, err)
	}
}

func TestFitMediansEmptyColumn(t *testing.T) {
	nan := float32(math.NaN())
	x := []float32{
		1, nan, 5,
		3, nan, 5,
		2, 3.4e38, 5,
		9, 7, 5, // not a training row
	}
	med, empty := FitMedians(x, 3, []int{0, 1, 2})
	if !slices.Equal(med, []float32{2, 0, 5}) || !slices.Equal(empty, []int{1}) {
		t.Errorf("FitMedians = %v, empty %v; want [2 0 5], [1]", med, empty)
	}
}

// TestConstantTestVector checks that the test vector covers rows at the
// constants and rows that depart from them, and scores them as the scorer.
func TestConstantTestVector(t *testing.T) {
	m, _ := constantModel(t, "mse")
	tv := MakeTestVector(m, rand.New(rand.NewSource(1)), 4)
	for i, row := range tv.Rows {
		at := row[0] == 0 && row[2] == 250
		if at != (i%2 == 0) {
			t.Errorf("row %d %v: at the constants %v", i, row, at)
		}
		if got := NewScorer(m).Score(row); got != tv.Scores[i] {
			t.Errorf("row %d: score %v, test vector %v", i, got, tv.Scores[i])
		}
	}
}
