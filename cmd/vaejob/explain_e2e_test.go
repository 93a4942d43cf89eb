package main

import (
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/pipeline"
)

// correlatedTable returns the columns of n rows of six features driven by
// two latent factors plus a little noise, and the standard deviation of
// each; in every row i with shifted[i] the column shift is moved by
// sigmas of its standard deviations.
func correlatedTable(seed int64, n int, shift string, sigmas float64, shifted []bool) []column {
	rng := rand.New(rand.NewSource(seed))
	mix := [][2]float64{{1, 0}, {0, 1}, {1, 1}, {1, -1}, {0.5, 2}, {2, 0.5}}
	cols := make([]column, len(mix))
	for j := range cols {
		cols[j] = column{name: fmt.Sprintf("c%d", j), vals: make([]float64, n)}
	}
	for i := range n {
		z1, z2 := rng.NormFloat64(), rng.NormFloat64()
		for j, w := range mix {
			cols[j].vals[i] = 10 + w[0]*z1 + w[1]*z2 + 0.05*rng.NormFloat64()
		}
	}
	for j, w := range mix {
		if cols[j].name != shift {
			continue
		}
		sd := math.Hypot(w[0], w[1])
		for i := range n {
			if shifted != nil && shifted[i] {
				cols[j].vals[i] += sigmas * sd
			}
		}
	}
	return cols
}

// TestExplainFindsShiftedColumn is issue 15's done-when test: on a table
// whose anomalies were made by shifting one known column by several
// standard deviations in about 5% of the rows, that column is the top
// feature of most of the shifted rows that alert in score --explain 3.
func TestExplainFindsShiftedColumn(t *testing.T) {
	cases := []struct {
		shift string
		train []string
	}{
		{"c2", nil},
		{"c4", []string{"--likelihood", "gaussian", "--score", "elbo_mu"}},
		{"c0", []string{"--likelihood", "laplace", "--score", "nll_mu_latent"}},
	}
	for _, c := range cases {
		t.Run(c.shift, func(t *testing.T) {
			dir := t.TempDir()
			train := writeParquet(t, dir, "train.parquet", correlatedTable(1, 2000, "", 0, nil))
			args := append([]string{"train", "--input", train, "--out", filepath.Join(dir, "out"), "--seed", "0", "--epochs", "60"}, c.train...)
			if res := vaejob(t, args...); res.code != 0 {
				t.Fatalf("train: exit %d: %s", res.code, res.stderr)
			}
			const n = 2000
			rng := rand.New(rand.NewSource(2))
			shifted := make([]bool, n)
			for i := range shifted {
				shifted[i] = rng.Float64() < 0.05
			}
			input := writeParquet(t, dir, "score.parquet", correlatedTable(3, n, c.shift, 6, shifted))
			out := filepath.Join(dir, "scores.csv")
			model := filepath.Join(dir, "out", "latest", "model.onnx")
			if res := vaejob(t, "score", "--model", model, "--input", input, "--output", out, "--explain", "3"); res.code != 0 {
				t.Fatalf("score: exit %d: %s", res.code, res.stderr)
			}
			header, rows := readCSVScores(t, out)
			col := map[string]int{}
			for i, name := range header {
				col[name] = i
			}
			var shiftedRows, alerts, top int
			for i, r := range rows {
				if !shifted[i] {
					continue
				}
				shiftedRows++
				if r[col["is_anomaly"]] != "true" {
					continue
				}
				alerts++
				if first, _, _ := strings.Cut(r[col["explain"]], "="); first == c.shift {
					top++
				}
			}
			share := float64(top) / float64(alerts)
			t.Logf("%s shifted by 6 sd in %d rows: %d alert, %s is the top feature of %d (%.1f%%)", c.shift, shiftedRows, alerts, c.shift, top, 100*share)
			if alerts < 10 || share < 0.8 {
				t.Errorf("%d of %d shifted rows alert, %s tops %.1f%% of them; want at least 10 alerting and 80%% topped", alerts, shiftedRows, c.shift, 100*share)
			}
		})
	}
}

// checkExplainedAgainstORT scores the demo table with vaejob score
// --explain 3 into Parquet and compares its new columns with ONNX
// Runtime's outputs res for the same rows: tail_probability equals the
// graph's (except where the two runtimes' scores, within their tolerance,
// fall on either side of an edge of the tail table), and each explained
// share agrees with the graph's feature_scores entry of that feature. The
// scores are those of vaejob score without --explain, plain, bit for bit.
func checkExplainedAgainstORT(t *testing.T, m *pipeline.Model, model string, res ortResult, plain []float32) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "explained.parquet")
	if r := vaejob(t, "score", "--model", model, "--input", demo, "--output", out, "--explain", "3"); r.code != 0 {
		t.Fatalf("score --explain 3: exit %d: %s", r.code, r.stderr)
	}
	cols := readInteropParquet(t, out)
	scores := cols["score"].(*array.Float32)
	tails := cols["tail_probability"].(*array.Float32)
	names := cols["explain_feature"].(*array.List)
	shares := cols["explain_share"].(*array.List)
	if len(res.TailProbabilityBits) != scores.Len() || len(res.FeatureScoresBits) != scores.Len()*m.Dim() {
		t.Fatalf("ONNX Runtime gave %d tail probabilities and %d feature scores for %d rows", len(res.TailProbabilityBits), len(res.FeatureScoresBits), scores.Len())
	}
	straddle := 0
	for i := range scores.Len() {
		ort := math.Float32frombits(res.TailProbabilityBits[i])
		goScore, ortScore := scores.Value(i), math.Float32frombits(res.ScoreBits[i])
		if math.Float32bits(goScore) != math.Float32bits(plain[i]) {
			t.Errorf("row %d: score %v with --explain, %v without", i, goScore, plain[i])
		}
		if got := tails.Value(i); got != ort {
			if m.Tail.Probability(goScore) == m.Tail.Probability(ortScore) {
				t.Errorf("row %d: tail_probability %v, ONNX Runtime %v", i, got, ort)
			}
			straddle++
		}
		lo, hi := names.ValueOffsets(i)
		if hi-lo != 3 {
			t.Fatalf("row %d: %d explained features, want 3", i, hi-lo)
		}
		for k := lo; k < hi; k++ {
			j := slices.Index(m.Features, names.ListValues().(*array.String).Value(int(k)))
			share := shares.ListValues().(*array.Float32).Value(int(k))
			if want := math.Float32frombits(res.FeatureScoresBits[i*m.Dim()+j]); !onnx.ScoresAgree(share, want) {
				t.Errorf("row %d: %s's share %v, ONNX Runtime's feature_scores %v", i, m.Features[j], share, want)
			}
		}
	}
	t.Logf("%d rows: tail_probability equal to ONNX Runtime's but for %d rows whose scores straddle a table edge; the 3 explained shares agree with feature_scores", scores.Len(), straddle)
}

// TestScoreOldModelWarns scores with a model of format version 3, which
// has no tail table: vaejob score says so once on stderr and leaves
// tail_probability empty, never a made-up 1.
func TestScoreOldModelWarns(t *testing.T) {
	dir := t.TempDir()
	cols := []column{{name: "f0", vals: []float64{0, 1}}, {name: "f1", vals: []float64{0, 2}}, {name: "f2", vals: []float64{0, 3}}}
	input := writeParquet(t, dir, "in.parquet", cols)
	out := filepath.Join(dir, "scores.csv")
	res := vaejob(t, "score", "--model", "../../onnx/testdata/tiny_v3.onnx", "--input", input, "--output", out)
	if res.code != 0 {
		t.Fatalf("score: exit %d: %s", res.code, res.stderr)
	}
	if n := strings.Count(res.stderr, "predates tail tables"); n != 1 {
		t.Errorf("stderr says %d times that the model predates tail tables, want once:\n%s", n, res.stderr)
	}
	header, rows := readCSVScores(t, out)
	if !slices.Equal(header, []string{"score", "is_anomaly", "tail_probability"}) || len(rows) != 2 {
		t.Fatalf("header %q and %d rows", header, len(rows))
	}
	for i, r := range rows {
		if r[2] != "" {
			t.Errorf("row %d: tail_probability %q, want empty", i, r[2])
		}
	}
}

// TestTailProbabilityCalibrated shows what tail_probability promises a
// service: on fresh rows from the training distribution, the share of
// rows with tail_probability ≤ q is q, whichever night's model scores
// them, so a fixed alert level survives retraining. Two models (other
// seeds, other samples, other score scales) score the same fresh rows;
// each share must be within four standard errors of q (the validation
// rows' sampling error and the fresh rows').
func TestTailProbabilityCalibrated(t *testing.T) {
	const nTrain, nFresh = 4000, 4000
	dir := t.TempDir()
	fresh := writeParquet(t, dir, "fresh.parquet", correlatedTable(99, nFresh, "", 0, nil))
	for night, seed := range []string{"1", "2"} {
		train := writeParquet(t, dir, "night"+seed+".parquet", correlatedTable(int64(10+night), nTrain, "", 0, nil))
		out := filepath.Join(dir, "out"+seed)
		if res := vaejob(t, "train", "--input", train, "--out", out, "--seed", seed, "--epochs", "30"); res.code != 0 {
			t.Fatalf("train: exit %d: %s", res.code, res.stderr)
		}
		scores := filepath.Join(dir, "scores"+seed+".csv")
		if res := vaejob(t, "score", "--model", filepath.Join(out, "latest", "model.onnx"), "--input", fresh, "--output", scores); res.code != 0 {
			t.Fatalf("score: exit %d: %s", res.code, res.stderr)
		}
		header, rows := readCSVScores(t, scores)
		col := slices.Index(header, "tail_probability")
		if col < 0 {
			t.Fatalf("no tail_probability column in %v", header)
		}
		nVal := 0.2 * nTrain
		for _, q := range []float64{0.5, 0.2, 0.1, 0.05, 0.01} {
			below := 0
			for _, r := range rows {
				p, err := strconv.ParseFloat(r[col], 64)
				if err != nil {
					t.Fatalf("tail_probability %q: %v", r[col], err)
				}
				if p <= q {
					below++
				}
			}
			share := float64(below) / float64(len(rows))
			se := math.Sqrt(q * (1 - q) * (1/nVal + 1/float64(len(rows))))
			t.Logf("night %s: %.4f of fresh rows have tail_probability ≤ %.2f", seed, share, q)
			if math.Abs(share-q) > 4*se {
				t.Errorf("night %s: %.4f of fresh rows have tail_probability ≤ %g; want %g ± %.4f", seed, share, q, q, 4*se)
			}
		}
	}
}
