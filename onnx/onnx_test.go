package onnx

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vaejob/vaejob/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// arch names a network shape for randomModel.
type arch struct {
	d       int
	encoder []int // hidden widths
	latent  int
	decoder []int // hidden widths; a last layer of width d is added
	// constant lists features (increasing indices below d) that hold one
	// value on the rows the scaler is fitted on: the network sees the
	// others (see pipeline.Model.Constant).
	constant []int
}

// constantValues are the values of the constant features of randomModel,
// in turn: zero, a small value, a large negative one.
var constantValues = []float32{0, 12.5, -3000}

// tutorial is the seed tutorial's network: 9-32-16, latent 10, 10-16-32-9.
var tutorial = arch{d: 9, encoder: []int{32, 16}, latent: 10, decoder: []int{16, 32}}

// constantArch has constant features at the start, in the middle and at
// the end.
var constantArch = arch{d: 8, encoder: []int{6}, latent: 3, decoder: []int{6}, constant: []int{0, 3, 7}}

// tiny is the network of the golden file.
var tiny = arch{d: 3, encoder: []int{4}, latent: 2, decoder: nil}

// randomModel builds a valid model with weights from a seeded generator, a
// scaler fitted on 200 generated rows (returned too), a populated LogVar head
// and the threshold near the 90th percentile of those rows' scores.
func randomModel(t testing.TB, seed int64, a arch) (*pipeline.Model, []float32) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	const n = 200
	names := make([]string, a.d)
	for j := range names {
		names[j] = fmt.Sprintf("f%d", j)
	}
	rows := make([]float32, n*a.d)
	for i := range rows {
		j := i % a.d
		rows[i] = float32(rng.NormFloat64()*float64(j+1) + float64(10*j))
	}
	for k, j := range a.constant {
		for r := 0; r < n; r++ {
			rows[r*a.d+j] = constantValues[k%len(constantValues)]
		}
	}
	sc, constant, err := pipeline.FitMinMax(rows, a.d)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(constant, a.constant) {
		t.Fatalf("scaler found constant features %v, want %v", constant, a.constant)
	}
	// Every tenth row departs from the constants by up to three departure
	// scales, after the scaler is fitted.
	for k, j := range a.constant {
		for r := 0; r < n; r += 10 {
			c := rows[r*a.d+j]
			rows[r*a.d+j] = c + float32(rng.Float64()*6-3)*pipeline.DepartureScale(c)*float32(k+1)/float32(len(a.constant))
		}
	}
	dense := func(in, out int, act pipeline.Activation) pipeline.Dense {
		l := pipeline.Dense{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out), Activation: act}
		s := math.Sqrt(2 / float64(in))
		for i := range l.W {
			l.W[i] = float32(rng.NormFloat64() * s)
		}
		for i := range l.B {
			l.B[i] = float32(rng.NormFloat64() * 0.1)
		}
		return l
	}
	m := &pipeline.Model{Features: names, Scaler: sc, Score: pipeline.ScoreMSE, ThresholdMethod: "quantile:0.9", Constant: a.constant}
	width := m.NetworkDim()
	for _, w := range a.encoder {
		m.Encoder = append(m.Encoder, dense(width, w, pipeline.ReLU))
		width = w
	}
	m.Mu = dense(width, a.latent, pipeline.Identity)
	m.LogVar = dense(width, a.latent, pipeline.Identity)
	width = a.latent
	for _, w := range a.decoder {
		m.Decoder = append(m.Decoder, dense(width, w, pipeline.ReLU))
		width = w
	}
	m.Decoder = append(m.Decoder, dense(width, m.NetworkDim(), pipeline.Sigmoid))
	setThreshold(m, rows)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m, rows
}

func testMetadata(m *pipeline.Model, seed int64) Metadata {
	return Metadata{
		ProducerVersion:    "v0.0.0-test",
		RunID:              fmt.Sprintf("run-%d", seed),
		TrainingDataSHA256: strings.Repeat("ab", 32),
		TestVector:         pipeline.MakeTestVector(m, rand.New(rand.NewSource(seed)), 4),
		Extra:              map[string]string{"vaejob.note": "test"},
	}
}

// withoutLogVar returns a copy of m as Decode returns it.
func withoutLogVar(m *pipeline.Model) *pipeline.Model {
	c := *m
	c.LogVar = pipeline.Dense{}
	return &c
}

// setThreshold puts m's threshold at the 0.9-quantile of its scores on rows,
// midway between two scores so that no row sits on the threshold, where
// runtimes may legitimately disagree on the flag, and builds its tail table
// from those scores.
func setThreshold(m *pipeline.Model, rows []float32) {
	sorted := m.ScoreRows(rows)
	slices.Sort(sorted)
	n := len(sorted)
	m.Threshold = sorted[n*9/10] + (sorted[n*9/10+1]-sorted[n*9/10])/2
	m.Tail = pipeline.NewTailTable(sorted)
}

// withScore switches m to score kind k, with random per-feature variances
// for the likelihood scores.
// laplaceELBO stands for the negative ELBO with a Laplace likelihood in the
// test tables (withScore knows it).
const laplaceELBO pipeline.ScoreKind = "laplace:" + pipeline.ScoreELBO

// laplaceMSE is a Laplace-trained model scored by mean squared error.
const laplaceMSE pipeline.ScoreKind = "laplace:" + pipeline.ScoreMSE

// imputed is a Laplace ELBO model that imputes missing inputs with
// per-feature values.
const imputed pipeline.ScoreKind = "imputed:" + laplaceELBO

// spiked marks a score kind in the test tables: the model of that kind
// (a likelihood score) with spike features (see withSpikes and
// spikedFeatures).
func spiked(k pipeline.ScoreKind) pipeline.ScoreKind { return spikedPrefix + k }

const spikedPrefix = "spikes:"

func withScore(m *pipeline.Model, k pipeline.ScoreKind, seed int64, rows []float32) {
	if base, ok := strings.CutPrefix(string(k), spikedPrefix); ok {
		withScore(m, pipeline.ScoreKind(base), seed, rows)
		withSpikes(m, rows, spikedFeatures(m))
		return
	}
	if k == imputed {
		m.Imputation = make([]float32, m.Dim())
		for j := range m.Imputation {
			m.Imputation[j] = rows[j] // a real value of each feature
		}
		withScore(m, laplaceELBO, seed, rows)
		return
	}
	if k == laplaceMSE {
		m.Score = pipeline.ScoreMSE
		m.LaplaceScale = make([]float32, m.Dim())
		for j := range m.LaplaceScale {
			m.LaplaceScale[j] = 0.1
		}
		setThreshold(m, rows)
		return
	}
	if k == laplaceELBO {
		withScore(m, pipeline.ScoreELBO, seed, rows)
		m.LaplaceScale, m.Variance = m.Variance, nil
		m.LogVarBound = 2 // tight, so that the tanh bends on these rows
		setThreshold(m, rows)
		return
	}
	m.Score = k
	if k == pipeline.ScoreMSE {
		return
	}
	rng := rand.New(rand.NewSource(seed))
	m.Variance = make([]float32, m.Dim())
	for j := range m.Variance {
		m.Variance[j] = float32(0.001 + rng.Float64()*0.1)
	}
	setThreshold(m, rows)
}

// specialRows returns rows with a missing value (see pipeline.IsMissing):
// a NaN, a +Inf, a -Inf, float32(1e30) (just beyond the bound), the
// sentinels ±3.4e38; the last row holds the largest value within the bound
// in each feature and is no missing value.
func specialRows(d int) []float32 {
	rows := make([]float32, specialMissing*d+d)
	rows[0] = float32(math.NaN())
	rows[d+min(1, d-1)] = float32(math.Inf(1))
	rows[2*d] = float32(math.Inf(-1))
	rows[3*d] = 1e30
	rows[4*d+d-1] = 3.4e38
	rows[5*d] = -3.4e38
	for j := range d {
		rows[specialMissing*d+j] = math.Nextafter32(1e30, 0)
	}
	return rows
}

// specialMissing is the number of rows of specialRows with a missing value.
const specialMissing = 6

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		arch  arch
		score pipeline.ScoreKind
	}{
		{"tutorial", tutorial, pipeline.ScoreMSE},
		{"tiny", tiny, pipeline.ScoreMSE},
		{"no encoder layers", arch{d: 4, latent: 3, decoder: []int{5}}, pipeline.ScoreMSE},
		{"wide", arch{d: 30, encoder: []int{64, 32, 16}, latent: 8, decoder: []int{16, 32, 64}}, pipeline.ScoreMSE},
		{"gaussian nll", tutorial, pipeline.ScoreNLL},
		{"negative elbo", tutorial, pipeline.ScoreELBO},
		{"nll plus latent", tiny, pipeline.ScoreNLLLatent},
		{"laplace elbo", tutorial, laplaceELBO},
		{"laplace mse", tiny, laplaceMSE},
		{"imputed", tutorial, imputed},
		{"constant mse", constantArch, pipeline.ScoreMSE},
		{"constant gaussian elbo", constantArch, pipeline.ScoreELBO},
		{"constant laplace elbo imputed", constantArch, imputed},
		{"constant nll plus latent", arch{d: 5, encoder: []int{4}, latent: 2, constant: []int{4}}, pipeline.ScoreNLLLatent},
		{"spikes gaussian nll", tutorial, spiked(pipeline.ScoreNLL)},
		{"spikes laplace elbo", tutorial, spiked(laplaceELBO)},
		{"spikes constant gaussian elbo", constantArch, spiked(pipeline.ScoreELBO)},
		{"spikes constant laplace elbo imputed", constantArch, spiked(imputed)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := int64(100 + i)
			m, rows := randomModel(t, seed, tt.arch)
			withScore(m, tt.score, seed, rows)
			meta := testMetadata(m, seed)
			data := encodeAndDecode(t, m, meta)

			g, err := DecodeGraph(data)
			if err != nil {
				t.Fatal(err)
			}
			d := m.Dim()
			all := append(append([]float32(nil), rows...), specialRows(d)...)
			n := len(all) / d
			score, flags, err := g.Run(all, n)
			if err != nil {
				t.Fatal(err)
			}
			want := m.ScoreRows(all)
			var anomalies int
			for r := 0; r < n; r++ {
				if !ScoresAgree(score[r], want[r]) {
					t.Errorf("row %d: onnx-go score %v, go scorer %v", r, score[r], want[r])
				}
				if flags[r] != pipeline.IsAnomaly(score[r], m.Threshold) {
					t.Errorf("row %d: is_anomaly %v for score %v, threshold %v", r, flags[r], score[r], m.Threshold)
				}
				if flags[r] {
					anomalies++
				}
			}
			special := flags[len(rows)/d:]
			for r, f := range special {
				s := score[len(rows)/d+r]
				switch {
				case r == specialMissing:
					// Huge but within the bound: scored as it is.
				case m.Imputation != nil:
					// A missing value takes the imputed value: a finite score.
					if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
						t.Errorf("special row %d: imputed model scored %v", r, s)
					}
				case !math.IsNaN(float64(s)) || !f:
					t.Errorf("special row %d (a missing value) scored %v, flagged %v: want NaN, flagged", r, s, f)
				}
			}
			if anomalies == 0 || anomalies == n {
				t.Errorf("%d of %d rows flagged: threshold semantics not exercised", anomalies, n)
			}

			rep, err := Verify(data, all, n, want)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if rep.Failed != 0 || rep.Checks == 0 || rep.TestVectorRows != len(meta.TestVector.Rows) {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func TestRunZeroRows(t *testing.T) {
	m, _ := randomModel(t, 1, tiny)
	data, err := Encode(m, Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := DecodeGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	score, flags, err := g.Run(nil, 0)
	if err != nil || len(score) != 0 || len(flags) != 0 {
		t.Errorf("Run(nil, 0) = %v, %v, %v", score, flags, err)
	}
	if _, _, err := g.Run(make([]float32, 5), 2); err == nil {
		t.Error("Run with 5 values for 2 rows of 3: no error")
	}
}

func TestEncodeDeterministic(t *testing.T) {
	m, _ := randomModel(t, 7, tutorial)
	meta := testMetadata(m, 7)
	meta.Extra = map[string]string{"vaejob.z": "1", "vaejob.a": "2", "vaejob.m": "3"}
	first, err := Encode(m, meta)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		again, err := Encode(m, meta)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("encoding %d differs from the first", i+2)
		}
	}
	props, err := ReadMetadataProps(first)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range props {
		keys = append(keys, p.Key)
	}
	if got := strings.Join(keys[len(keys)-3:], ","); got != "vaejob.a,vaejob.m,vaejob.z" {
		t.Errorf("extra keys in order %s", got)
	}
}

// tinyModel is the model of the golden file testdata/tiny.onnx.
func tinyModel(t testing.TB) (*pipeline.Model, Metadata) {
	m, _ := randomModel(t, 42, tiny)
	meta := testMetadata(m, 42)
	meta.ProducerVersion = "golden"
	meta.Extra = nil
	return m, meta
}

func TestGolden(t *testing.T) {
	m, meta := tinyModel(t)
	data, err := Encode(m, meta)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "tiny.onnx")
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./onnx -update to create it)", err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("Encode differs from %s (%d bytes, want %d); if the change is intended, run go test ./onnx -update", path, len(data), len(want))
	}
	// The golden file itself decodes back to the model.
	got, gotMeta, err := Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, withoutLogVar(m)) || !reflect.DeepEqual(gotMeta, meta) {
		t.Error("golden file does not decode to the tiny model")
	}
}

func TestProps(t *testing.T) {
	m, _ := randomModel(t, 3, tiny)
	m.Threshold = 0.1 // not exact in binary: the text must read back to the same float32
	tests := []struct {
		name    string
		extra   map[string]string
		wantErr string
	}{
		{"no extra", nil, ""},
		{"extra", map[string]string{"vaejob.git_sha": "abc"}, ""},
		{"unprefixed", map[string]string{"owner": "me"}, `must start with "vaejob."`},
		{"empty suffix", map[string]string{"vaejob.": "x"}, `must start with "vaejob."`},
		{"reserved", map[string]string{KeyThreshold: "9"}, "written by the encoder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Encode(m, Metadata{Extra: tt.extra})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			props, err := ReadMetadataProps(data)
			if err != nil {
				t.Fatal(err)
			}
			kv := map[string]string{}
			for _, p := range props {
				if !strings.HasPrefix(p.Key, "vaejob.") {
					t.Errorf("key %q lacks the vaejob. prefix", p.Key)
				}
				kv[p.Key] = p.Value
			}
			if kv[KeyThreshold] != "0.1" || kv[KeyScoreKind] != "mse_mu" || kv[KeyFeatureNames] != `["f0","f1","f2"]` {
				t.Errorf("props %v", kv)
			}
			for k, v := range tt.extra {
				if kv[k] != v {
					t.Errorf("extra %s = %q, want %q", k, kv[k], v)
				}
			}
			got, _, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if got.Threshold != m.Threshold {
				t.Errorf("threshold %v, want %v", got.Threshold, m.Threshold)
			}
		})
	}
}

func TestEncodeInvalidModel(t *testing.T) {
	m, _ := randomModel(t, 3, tiny)
	bad := *m
	bad.Threshold = float32(math.NaN())
	tests := []struct {
		name string
		m    *pipeline.Model
	}{
		{"nil", nil},
		{"nan threshold", &bad},
		{"no features", &pipeline.Model{Score: pipeline.ScoreMSE}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Encode(tt.m, Metadata{}); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestVerifyMismatch(t *testing.T) {
	m, rows := randomModel(t, 5, tiny)
	meta := testMetadata(m, 5)
	data, err := Encode(m, meta)
	if err != nil {
		t.Fatal(err)
	}
	n := len(rows) / m.Dim()
	want := m.ScoreRows(rows)

	wrong := append([]float32(nil), want...)
	wrong[3] += 0.5
	rep, err := Verify(data, rows, n, wrong)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong recorded score: err = %v, want ErrMismatch", err)
	}
	if rep.Failed != 2 || len(rep.Mismatches) != 2 || rep.Mismatches[0].Row != 3 || rep.MaxAbsErr < 0.4 {
		t.Errorf("report %+v", rep)
	}

	// A test vector whose scores do not match the model.
	bad := meta
	bad.TestVector.Scores = append([]float32(nil), meta.TestVector.Scores...)
	bad.TestVector.Scores[0] *= 2
	data2, err := Encode(m, bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(data2, nil, 0, nil); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "test vector") {
		t.Errorf("bad test vector: err = %v", err)
	}

	// A test vector whose tail probabilities do not match the model.
	bad = meta
	bad.TestVector.TailProbability = append([]float32(nil), meta.TestVector.TailProbability...)
	bad.TestVector.TailProbability[1] = 1 - bad.TestVector.TailProbability[1]/2
	data3, err := Encode(m, bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(data3, nil, 0, nil); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "recorded tail_probability") {
		t.Errorf("bad test vector tail probabilities: err = %v", err)
	}

	// Bad arguments are errors, not mismatches.
	if _, err := Verify(data, rows[:5], 2, nil); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("bad rows: err = %v", err)
	}
	if _, err := Verify(data, rows, n, want[:1]); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("bad recorded scores: err = %v", err)
	}
}

func TestScoresAgree(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		a, b float32
		want bool
	}{
		{1, 1, true},
		{0.5, 0.50009, true},
		{0.5, 0.5002, false},
		{1000, 1000.09, true},
		{1000, 1000.2, false},
		{nan, nan, true},
		{nan, 1, false},
		{1, nan, false},
		{inf, inf, true},
		{inf, 1e30, false},
	}
	for _, tt := range tests {
		if got := ScoresAgree(tt.a, tt.b); got != tt.want {
			t.Errorf("ScoresAgree(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// decodeEarlier decodes testdata/file, the golden file as an earlier format
// version wrote it, and checks that it decodes to the tiny model without a
// tail table, as edit makes it; it returns the model and the graph.
func decodeEarlier(t *testing.T, file string, edit func(want *pipeline.Model)) (*pipeline.Model, *Graph) {
	t.Helper()
	m, meta := tinyModel(t)
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	want := withoutLogVar(m)
	want.Tail = nil
	meta.TestVector.TailProbability = nil
	edit(want)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("%s does not decode to the tiny model", file)
	}
	g, err := DecodeGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	return got, g
}

// TestDecodeFormatV2 reads the golden file as format version 2 wrote it
// (before constant features and the missing-value bound): files published
// by earlier versions still decode, to the same model.
func TestDecodeFormatV2(t *testing.T) {
	got, g := decodeEarlier(t, "tiny_v2.onnx", func(want *pipeline.Model) { want.LegacyMissing = true })
	if slices.Contains(g.Ops(), "Abs") {
		t.Errorf("version 2 graph ops %v", g.Ops())
	}
	// The Go scorer follows the file's own rules for missing values: values
	// beyond ±1e30 are values, ±Inf goes through the arithmetic.
	d := len(got.Features)
	special := []float32{1e31, -1e31, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	var rows []float32
	for _, v := range special {
		for j := range d {
			row := make([]float32, d)
			copy(row, got.Scaler.Min)
			row[j] = v
			rows = append(rows, row...)
		}
	}
	scores, flags, err := g.Run(rows, len(rows)/d)
	if err != nil {
		t.Fatal(err)
	}
	sc := pipeline.NewScorer(got)
	for i := range scores {
		s := sc.Score(rows[i*d : (i+1)*d])
		nan := math.IsNaN(float64(s))
		if nan != math.IsNaN(float64(scores[i])) || !nan && !ScoresAgree(s, scores[i]) {
			t.Errorf("row %d: Go scorer %v, graph %v", i, s, scores[i])
		}
		if f := nan || s > got.Threshold; f != flags[i] {
			t.Errorf("row %d: Go flag %v, graph %v (score %v)", i, f, flags[i], s)
		}
	}
}

// TestDecodeFormatV3 reads the golden file as format version 3 wrote it
// (before feature_scores, latent_score and tail_probability): it decodes to
// the same model without a tail table, its graph has the outputs score and
// is_anomaly only, and they agree with the Go scorer.
func TestDecodeFormatV3(t *testing.T) {
	got, g := decodeEarlier(t, "tiny_v3.onnx", func(*pipeline.Model) {})
	if !slices.Equal(g.Outputs(), []string{ScoreName, IsAnomalyName}) {
		t.Errorf("version 3 graph outputs %q", g.Outputs())
	}
	rows := append(slices.Clone(got.Scaler.Min), got.Scaler.Max...)
	out, err := g.RunAll(rows, 2)
	if err != nil {
		t.Fatal(err)
	}
	if out.FeatureScores != nil || out.LatentScore != nil || out.TailProbability != nil {
		t.Errorf("version 3 graph gave explained outputs %+v", out)
	}
	for i, s := range got.ScoreRows(rows) {
		if !ScoresAgree(out.Score[i], s) {
			t.Errorf("row %d: graph %v, Go scorer %v", i, out.Score[i], s)
		}
	}
}

func TestLargestFloat32NotAbove(t *testing.T) {
	for _, b := range []float64{1e30, 1, 0.1, 3, 16777217, -1e30, -0.1} {
		x := largestFloat32NotAbove(b)
		if float64(x) > b || float64(math.Nextafter32(x, float32(math.Inf(1)))) <= b {
			t.Errorf("largestFloat32NotAbove(%v) = %v", b, x)
		}
	}
}

// encodeAndDecode encodes m with meta, checks that Decode gives them back
// (the model without its log-variance head unless its score uses it), and
// returns the file's bytes.
func encodeAndDecode(t *testing.T, m *pipeline.Model, meta Metadata) []byte {
	t.Helper()
	data, err := Encode(m, meta)
	if err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	want := withoutLogVar(m)
	if m.Score == pipeline.ScoreELBO {
		want = m
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded model differs:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("decoded metadata differs:\n got %+v\nwant %+v", gotMeta, meta)
	}
	return data
}
