package pipeline

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
)

func TestROCAUCAndAveragePrecision(t *testing.T) {
	tests := []struct {
		name    string
		scores  []float32
		labels  []bool
		roc, ap float64
	}{
		// Values checked against scikit-learn's roc_auc_score and
		// average_precision_score.
		{"sklearn doc example", []float32{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75, 0.8333333333},
		{"perfect", []float32{1, 2, 3, 4}, []bool{false, false, true, true}, 1, 1},
		{"reversed", []float32{4, 3, 2, 1}, []bool{false, false, true, true}, 0, 0.4166666667},
		{"ties count half", []float32{1, 1, 2}, []bool{false, true, true}, 0.75, 0.8333333333},
		{"all tied", []float32{5, 5, 5, 5}, []bool{true, false, false, false}, 0.5, 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			roc, err := ROCAUC(tc.scores, tc.labels)
			if err != nil || math.Abs(roc-tc.roc) > 1e-9 {
				t.Errorf("ROCAUC = %v, %v; want %v", roc, err, tc.roc)
			}
			ap, err := AveragePrecision(tc.scores, tc.labels)
			if err != nil || math.Abs(ap-tc.ap) > 1e-9 {
				t.Errorf("AveragePrecision = %v, %v; want %v", ap, err, tc.ap)
			}
		})
	}
	if _, err := ROCAUC([]float32{1, 2}, []bool{true, true}); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: err = %v", err)
	}
	if _, err := AveragePrecision([]float32{1, 2}, []bool{false, false}); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: err = %v", err)
	}
	nan := float32(math.NaN())
	for _, bad := range []struct {
		scores []float32
		labels []bool
	}{{[]float32{0.1, nan, 0.3}, []bool{false, true, true}}, {[]float32{1, 2}, []bool{true}}} {
		if _, err := ROCAUC(bad.scores, bad.labels); err == nil {
			t.Errorf("ROCAUC accepted %v %v", bad.scores, bad.labels)
		}
		if _, err := AveragePrecision(bad.scores, bad.labels); err == nil {
			t.Errorf("AveragePrecision accepted %v %v", bad.scores, bad.labels)
		}
	}
}

func TestQuantile(t *testing.T) {
	v := []float32{4, 1, 3, 2}
	tests := []struct {
		q    float64
		want float32
	}{{0, 1}, {0.5, 2.5}, {0.99, 3.97}, {1, 4}, {1.0 / 3, 2}}
	for _, tc := range tests {
		if got := Quantile(v, tc.q); math.Abs(float64(got-tc.want)) > 1e-6 {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if !slices.Equal(v, []float32{4, 1, 3, 2}) {
		t.Error("Quantile modified its input")
	}
}

func TestParseThresholdMethod(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = error
	}{
		{"quantile:0.99", "quantile:0.99"},
		{" quantile:0.5 ", "quantile:0.5"},
		{"quantile:1", ""},
		{"quantile:0", ""},
		{"quantile:x", ""},
		{"quantile", ""},
		{"contamination:0.05", "contamination:0.05"},
		{"contamination:1", ""},
		{"mad:3", "mad:3"},
		{"mad:0", ""},
		{"mad:-1", ""},
		{"f1", "f1"},
		{"f1:2", ""},
		{"recall:0.9", "recall:0.9"},
		{"recall:1", "recall:1"},
		{"recall:1.5", ""},
		{"precision:0.8", "precision:0.8"},
		{"precision:0", ""},
		{"top:5", ""},
		{"", ""},
	}
	for _, tc := range tests {
		m, err := ParseThresholdMethod(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q: accepted as %v", tc.in, m)
		case tc.want != "" && (err != nil || m.String() != tc.want):
			t.Errorf("%q: got %v, %v; want %s", tc.in, m, err, tc.want)
		}
	}
}

func FuzzParseThresholdMethod(f *testing.F) {
	for _, s := range []string{"quantile:0.99", "quantile:", ":", "quantile:NaN", "quantile:1e-300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseThresholdMethod(s)
		if err != nil {
			return
		}
		if m.Kind != ThresholdF1 && !(m.Param > 0) {
			t.Fatalf("%q parsed to out-of-range %v", s, m)
		}
		again, err := ParseThresholdMethod(m.String())
		if err != nil || again != m {
			t.Fatalf("%q: String() %q does not parse back: %v %v", s, m.String(), again, err)
		}
	})
}

func TestThresholdChoose(t *testing.T) {
	// Ten validation rows; the three highest scores are the anomalies but
	// one anomaly (0.5) ranks below a normal row (0.6).
	scores := []float32{0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.9, 1.0}
	labels := []bool{false, false, false, false, false, false, true, false, true, true}
	tests := []struct {
		method string
		want   float32
		err    error
	}{
		{"quantile:0.5", 0.425, nil},
		{"contamination:0.2", 0.66, nil}, // the 0.8-quantile 0.66 lies well between 0.6 and 0.9: it stands
		{"mad:2", 0.725, nil},            // median 0.425, MAD 0.15: 0.725, between 0.6 and 0.9
		{"f1", 0.475, nil},               // top 4: P 3/4, R 1, F1 0.857 beats top 2 (F1 0.8)
		{"recall:1", 0.475, nil},         // must include 0.5
		{"recall:0.6", 0.75, nil},
		{"precision:1", 0.75, nil},
		{"precision:0.75", 0.475, nil}, // 3 of 4 above 0.475 are anomalies
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			m, err := ParseThresholdMethod(tc.method)
			if err != nil {
				t.Fatal(err)
			}
			th, err := m.Choose(scores, labels)
			got := th.Value
			if err != nil || math.Abs(float64(got-tc.want)) > 1e-6 {
				t.Fatalf("Choose = %v, %v; want %v", got, err, tc.want)
			}
			if m.NeedsLabels() {
				c := AtThreshold(scores, labels, got)
				switch m.Kind {
				case ThresholdRecall:
					if c.Recall < m.Param {
						t.Errorf("recall %v below target %v", c.Recall, m.Param)
					}
				case ThresholdPrecision:
					if c.Precision < m.Param {
						t.Errorf("precision %v below target %v", c.Precision, m.Param)
					}
				}
			}
		})
	}
	f1, _ := ParseThresholdMethod("f1")
	if _, err := f1.Choose(scores, nil); err == nil {
		t.Error("f1 without labels accepted")
	}
	if _, err := f1.Choose(scores, make([]bool, len(scores))); !errors.Is(err, ErrOneClass) {
		t.Errorf("f1 with no anomalies: err = %v", err)
	}
	p, _ := ParseThresholdMethod("precision:1")
	noisy := []bool{false, false, false, false, false, false, false, false, false, true}
	noisy[9], noisy[0] = false, true // the only anomaly has the lowest score
	if _, err := p.Choose(scores, noisy); !errors.Is(err, ErrNoThreshold) {
		t.Errorf("unreachable precision: err = %v", err)
	}
	if got := AtThreshold(scores, labels, 0.75); got.TP != 2 || got.FP != 0 || got.FN != 1 || got.TN != 7 || math.Abs(got.F1-0.8) > 1e-12 {
		t.Errorf("AtThreshold = %+v", got)
	}
}

func TestRandomSplit(t *testing.T) {
	tests := []struct {
		n          int
		frac       float64
		train, val int
		err        bool
	}{
		{100, 0.2, 80, 20, false},
		{569, 0.2, 455, 114, false},
		{3, 0.2, 2, 1, false},
		{2, 0.2, 0, 0, true}, // 0 validation rows
		{2, 0.5, 0, 0, true}, // 1 training row
		{0, 0.2, 0, 0, true},
		{10, 0, 0, 0, true},
		{10, 1, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("n=%d,f=%g", tc.n, tc.frac), func(t *testing.T) {
			s, err := RandomSplit(tc.n, tc.frac, rand.New(rand.NewSource(1)))
			if tc.err {
				if err == nil {
					t.Fatalf("accepted: %d/%d", len(s.Train), len(s.Validation))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Train) != tc.train || len(s.Validation) != tc.val {
				t.Fatalf("split %d/%d, want %d/%d", len(s.Train), len(s.Validation), tc.train, tc.val)
			}
			all := slices.Sorted(slices.Values(append(slices.Clone(s.Train), s.Validation...)))
			for i, v := range all {
				if v != i {
					t.Fatalf("indices are not a permutation of 0..%d", tc.n-1)
				}
			}
			again, _ := RandomSplit(tc.n, tc.frac, rand.New(rand.NewSource(1)))
			if !slices.Equal(again.Train, s.Train) {
				t.Fatal("same seed gave a different split")
			}
		})
	}
}

func TestScaler(t *testing.T) {
	x := []float32{
		1, 10, 5,
		3, 20, 5,
		2, 30, 5,
	}
	s, constant, err := FitMinMax(x, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(constant, []int{2}) {
		t.Errorf("constant columns %v, want [2]", constant)
	}
	out := make([]float32, 3)
	s.Transform([]float32{3, 15, 6}, out)
	// The constant column measures departures from 5 in units of 0.05.
	if want := []float32{1, 0.25, 1 * (1 / DepartureScale(5))}; !slices.Equal(out, want) {
		t.Errorf("Transform = %v, want %v", out, want)
	}
	err = CheckConstant(x, []string{"a", "b", "c"})
	var ce *ConstantColumnError
	if !errors.As(err, &ce) || !slices.Equal(ce.Columns, []string{"c"}) {
		t.Errorf("CheckConstant = %v", err)
	}
	if err := CheckConstant(x[:6], []string{"a", "b", "c"}); err == nil {
		t.Error("CheckConstant missed column c on two rows")
	}
}

// tinyModel returns a valid model with random weights: d inputs, one hidden
// layer of 4, latent 2.
func tinyModel(d int, seed int64) *Model {
	rng := rand.New(rand.NewSource(seed))
	dense := func(in, out int, act Activation) Dense {
		l := Dense{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out), Activation: act}
		for i := range l.W {
			l.W[i] = float32(rng.NormFloat64())
		}
		for i := range l.B {
			l.B[i] = float32(rng.NormFloat64())
		}
		return l
	}
	m := &Model{Score: ScoreMSE, Threshold: 0.1}
	m.Scaler = Scaler{Kind: ScalerMinMax}
	for j := 0; j < d; j++ {
		m.Features = append(m.Features, fmt.Sprintf("f%d", j))
		m.Scaler.Min = append(m.Scaler.Min, float32(j))
		m.Scaler.Offset = append(m.Scaler.Offset, float32(j))
		m.Scaler.Max = append(m.Scaler.Max, float32(j+2))
		m.Scaler.Scale = append(m.Scaler.Scale, 0.5)
	}
	m.Encoder = []Dense{dense(d, 4, ReLU)}
	m.Mu = dense(4, 2, Identity)
	m.LogVar = dense(4, 2, Identity)
	m.Decoder = []Dense{dense(2, 4, ReLU), dense(4, d, Sigmoid)}
	return m
}

func TestScorerMatchesDirectComputation(t *testing.T) {
	m := tinyModel(3, 1)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	x := []float32{0.5, 2, 3.5}
	// The same computation written out without the scorer's buffers.
	layer := func(l Dense, in []float32) []float32 {
		out := make([]float32, l.Out)
		l.Apply(in, out)
		return out
	}
	scaled := make([]float32, 3)
	m.Scaler.Transform(x, scaled)
	mu := layer(m.Mu, layer(m.Encoder[0], scaled))
	recon := layer(m.Decoder[1], layer(m.Decoder[0], mu))
	var want float64
	for j := range scaled {
		diff := float64(scaled[j] - recon[j])
		want += diff * diff / 3
	}
	got := NewScorer(m).Score(x)
	if math.Abs(float64(got)-want) > 1e-7 {
		t.Errorf("Score = %v, want %v", got, want)
	}
	// ScoreRows multiplies in float32 blocks: equal up to float32 rounding.
	if rows := m.ScoreRows(append(slices.Clone(x), x...)); math.Abs(float64(rows[0]-got)) > 1e-6*math.Abs(float64(got)) || rows[0] != rows[1] {
		t.Errorf("ScoreRows = %v, want [%v %v]", rows, got, got)
	}
}

// TestScoreRowsMatchesScorer scores 1,000 rows (with missing values) with
// the batched ScoreRows and row by row with Scorer, for every score kind,
// with and without imputation: the scores agree within float32 rounding
// (1e-5 relative), NaN where a row has a missing value and no imputation.
func TestScoreRowsMatchesScorer(t *testing.T) {
	for _, kind := range ScoreKinds {
		for _, impute := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/impute=%v", kind, impute), func(t *testing.T) {
				m := tinyModel(5, 11)
				m.Score = kind
				rng := rand.New(rand.NewSource(2))
				if kind != ScoreMSE {
					m.Variance = make([]float32, 5)
					for j := range m.Variance {
						m.Variance[j] = 0.05 + rng.Float32()
					}
				}
				if kind == ScoreELBO {
					m.LogVarBound = 3
				}
				if impute {
					m.Imputation = []float32{1, 2, 3, 4, 5}
				}
				x := make([]float32, 1000*5)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 3)
				}
				x[7], x[333] = float32(math.NaN()), float32(math.Inf(1))
				got := m.ScoreRows(x)
				s := NewScorer(m)
				for r := range got {
					want := s.Score(x[r*5 : (r+1)*5])
					if math.IsNaN(float64(want)) != math.IsNaN(float64(got[r])) ||
						math.Abs(float64(got[r]-want)) > 1e-5*math.Max(1, math.Abs(float64(want))) {
						t.Fatalf("row %d: ScoreRows %v, Scorer %v", r, got[r], want)
					}
				}
			})
		}
	}
}

func TestLikelihoodScores(t *testing.T) {
	m := tinyModel(3, 4)
	m.Variance = []float32{0.5, 2, 0.25}
	x := []float32{0.5, 2, 3.5}
	s := NewScorer(m)
	scaled, mu, recon := s.Reconstruct(x)
	var nll float64
	for j := range scaled {
		diff := float64(scaled[j] - recon[j])
		nll += 0.5 * diff * diff / float64(m.Variance[j])
	}
	var mu2 float64
	for _, v := range mu {
		mu2 += 0.5 * float64(v) * float64(v)
	}
	h := make([]float32, 4)
	m.Encoder[0].Apply(append([]float32(nil), scaled...), h)
	lv := make([]float32, 2)
	m.LogVar.Apply(h, lv)
	kl := KL(append([]float32(nil), mu...), lv)
	for _, tc := range []struct {
		kind ScoreKind
		want float64
	}{{ScoreNLL, nll}, {ScoreNLLLatent, nll + mu2}, {ScoreELBO, nll + kl}} {
		m.Score = tc.kind
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := NewScorer(m).Score(x); math.Abs(float64(got)-tc.want) > 1e-5*math.Max(1, tc.want) {
			t.Errorf("%s: score %v, want %v", tc.kind, got, tc.want)
		}
	}
}

func TestLaplaceScore(t *testing.T) {
	m := tinyModel(3, 5)
	m.Score, m.LaplaceScale = ScoreNLL, []float32{0.5, 2, 0.25}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	x := []float32{0.5, 2, 3.5}
	scaled, _, recon := NewScorer(m).Reconstruct(x)
	var want float64
	for j := range scaled {
		want += math.Abs(float64(scaled[j]-recon[j])) / float64(m.LaplaceScale[j])
	}
	if got := NewScorer(m).Score(x); math.Abs(float64(got)-want) > 1e-5*math.Max(1, want) {
		t.Errorf("score %v, want %v", got, want)
	}
	m.Variance = []float32{1, 1, 1}
	if err := m.Validate(); err == nil {
		t.Error("a model with both variances and Laplace scales was accepted")
	}
}

func TestModelValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Model)
	}{
		{"no features", func(m *Model) { m.Features = nil }},
		{"wrong decoder width", func(m *Model) { m.Decoder[1].Out = 2 }},
		{"short weights", func(m *Model) { m.Encoder[0].W = m.Encoder[0].W[:3] }},
		{"NaN weight", func(m *Model) { m.Mu.W[0] = float32(math.NaN()) }},
		{"scaler size", func(m *Model) { m.Scaler.Min = m.Scaler.Min[:1] }},
		{"unknown score", func(m *Model) { m.Score = "other" }},
		{"NaN threshold", func(m *Model) { m.Threshold = float32(math.NaN()) }},
		{"nll without variances", func(m *Model) { m.Score = ScoreNLL }},
		{"short variances", func(m *Model) { m.Score, m.Variance = ScoreNLL, []float32{1} }},
		{"zero variance", func(m *Model) { m.Score, m.Variance = ScoreNLL, []float32{1, 0, 1} }},
		{"elbo without logvar", func(m *Model) { m.Score, m.Variance, m.LogVar = ScoreELBO, []float32{1, 1, 1}, Dense{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel(3, 2)
			tc.modify(m)
			if err := m.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
}

func TestLatentAndTestVector(t *testing.T) {
	m := tinyModel(3, 3)
	rng := rand.New(rand.NewSource(4))
	x := make([]float32, 300)
	for i := range x {
		x[i] = float32(rng.Float64() * 4)
	}
	st := m.Latent(x)
	if len(st.MeanVariance) != 2 || st.Active != 2 {
		t.Errorf("Latent = %+v, want 2 active units for random weights", st)
	}
	tv := MakeTestVector(m, rand.New(rand.NewSource(5)), 3)
	tv2 := MakeTestVector(m, rand.New(rand.NewSource(5)), 3)
	if len(tv.Rows) != 3 || !slices.Equal(tv.Scores, tv2.Scores) {
		t.Fatalf("test vector not reproducible: %v vs %v", tv.Scores, tv2.Scores)
	}
	for _, row := range tv.Rows {
		for j, v := range row {
			if v < m.Scaler.Min[j] || v > m.Scaler.Max[j] {
				t.Errorf("test vector value %v outside [%v, %v]", v, m.Scaler.Min[j], m.Scaler.Max[j])
			}
		}
	}
}

func ExampleQuantile() {
	scores := []float32{0.1, 0.2, 0.3, 0.4, 5}
	fmt.Println(Quantile(scores, 0.5), Quantile(scores, 0.9))
	// Output: 0.3 3.16
}

func TestFitRobust(t *testing.T) {
	// Three columns: a spread with an outlier, a spike (IQR 0), a constant.
	x := []float32{
		1, 0, 7,
		2, 0, 7,
		3, 0, 7,
		4, 0, 7,
		100, 5, 7,
	}
	s, constant, err := Fit(ScalerRobust, x, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{3, 0, 7}; !slices.Equal(s.Offset, want) {
		t.Errorf("offset %v, want the medians %v", s.Offset, want)
	}
	// IQR 2 → 1/8; IQR 0 → standard deviation 2 → 1/8; constant 7 → 1/0.07.
	if want := []float32{0.125, 0.125, 1 / DepartureScale(7)}; !slices.Equal(s.Scale, want) {
		t.Errorf("scale %v, want %v", s.Scale, want)
	}
	if !slices.Equal(constant, []int{2}) || !slices.Equal(s.Min, []float32{1, 0, 7}) || !slices.Equal(s.Max, []float32{100, 5, 7}) {
		t.Errorf("constant %v, range %v..%v", constant, s.Min, s.Max)
	}
	if _, _, err := Fit("zscore", x, 3); err == nil {
		t.Error("unknown scaler accepted")
	}
}

func TestLogVarBoundKeepsScoresFinite(t *testing.T) {
	m := tinyModel(3, 6)
	m.Score, m.LaplaceScale = ScoreELBO, []float32{0.5, 0.5, 0.5}
	for i := range m.LogVar.W {
		m.LogVar.W[i] = 50 // a far-away row drives the raw log-variance past exp's range
	}
	far := []float32{1e4, 1e4, 1e4}
	if s := NewScorer(m).Score(far); !math.IsInf(float64(s), 1) {
		t.Fatalf("without a bound the score is %v; the test needs it to overflow", s)
	}
	m.LogVarBound = 10
	if s := NewScorer(m).Score(far); math.IsInf(float64(s), 0) || s != s {
		t.Errorf("with a bound the score is %v, want finite", s)
	}
	lv := []float32{-100, 0, 5, 100}
	m.BoundLogVar(lv)
	if lv[0] < -10 || lv[3] > 10 || lv[1] != 0 || math.Abs(float64(lv[2])-10*math.Tanh(0.5)) > 1e-6 {
		t.Errorf("bounded log-variances %v", lv)
	}
}

func TestKSStatistic(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name string
		a, b []float32
		want float64
	}{
		{"same", []float32{1, 2, 3}, []float32{3, 2, 1}, 0},
		{"disjoint", []float32{1, 2}, []float32{3, 4, 5}, 1},
		{"shifted by one of four", []float32{1, 2, 3, 4}, []float32{2, 3, 4, 5}, 0.25},
		{"ties across samples", []float32{1, 1, 2}, []float32{1, 2, 2}, 1.0 / 3},
		{"NaN sorts last", []float32{1, 2}, []float32{1, nan}, 0.5},
		{"empty", nil, []float32{1}, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := KSStatistic(tc.a, tc.b)
			if !(math.Abs(got-tc.want) < 1e-12 || math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Errorf("KSStatistic = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAlertRate(t *testing.T) {
	got := AlertRate([]float32{1, 2, 3, float32(math.NaN())}, 2)
	if got != 0.5 {
		t.Errorf("AlertRate = %v, want 0.5 (3 and NaN alert)", got)
	}
}

// TestDenseApplyOrder checks Apply against the textbook loop (output by
// output, the same float64 summation order): the results must be equal bit
// for bit, so that scores do not change with the loop order.
func TestDenseApplyOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, shape := range [][2]int{{9, 32}, {32, 16}, {100, 300}, {1, 1}} {
		l := Dense{In: shape[0], Out: shape[1], W: make([]float32, shape[0]*shape[1]), B: make([]float32, shape[1]), Activation: ReLU}
		for i := range l.W {
			l.W[i] = float32(rng.NormFloat64())
		}
		for i := range l.B {
			l.B[i] = float32(rng.NormFloat64())
		}
		x := make([]float32, l.In)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 100)
		}
		got := make([]float32, l.Out)
		l.Apply(x, got)
		for j := 0; j < l.Out; j++ {
			s := float64(l.B[j])
			for i := 0; i < l.In; i++ {
				s += float64(x[i]) * float64(l.W[i*l.Out+j])
			}
			if want := activate(l.Activation, s); math.Float32bits(got[j]) != math.Float32bits(want) {
				t.Fatalf("%v: output %d = %v, want %v", shape, j, got[j], want)
			}
		}
	}
}
