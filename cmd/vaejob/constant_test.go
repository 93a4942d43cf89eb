package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// constantTable is a table of n rows ordered by the time column t: two
// varying features a and b, k0 constant at 0 on every row and k1 constant
// at 250 on the first 80% (the training rows under --time-column t) and
// varying on the rest.
func constantTable(n int) []column {
	cols := goodColumns(n)[:2]
	train := n * 8 / 10
	return append(cols,
		column{name: "k0", vals: seq(n, func(int) float64 { return 0 })},
		column{name: "k1", vals: seq(n, func(i int) float64 {
			if i < train {
				return 250
			}
			return 250 + float64(i%7)
		})},
		column{name: "t", vals: seq(n, func(i int) float64 { return float64(i) })})
}

// runRecord is the part of run.json these tests read.
type runRecord struct {
	Schema           int      `json:"schema_version"`
	Features         []string `json:"features"`
	ConstantFeatures []struct {
		Name           string  `json:"name"`
		Value          float32 `json:"value"`
		DepartureScale float32 `json:"departure_scale"`
	} `json:"constant_features"`
	ConstantInTraining []string `json:"constant_in_training"`
	IgnoredFeatures    []string `json:"ignored_features"`
	Missing            struct {
		Values map[string]float32 `json:"imputation_values"`
	} `json:"missing"`
	Config struct {
		ConstantColumns string `json:"constant_columns"`
	} `json:"config"`
}

func readRunRecord(t *testing.T, out string) runRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "latest", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec runRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestConstantColumnsKeep trains each preset on a table with constant
// columns: they stay features, run.json lists them, a row that keeps the
// constants scores as the network alone says, a row that departs scores
// higher, and vaejob score, onnx-go and ONNX Runtime agree on every row
// (±3.4e38 sentinels included: NaN and flagged without imputation).
func TestConstantColumnsKeep(t *testing.T) {
	dir := t.TempDir()
	input := writeParquet(t, dir, "const.parquet", constantTable(400))
	for _, preset := range []string{"default", "tutorial"} {
		t.Run(preset, func(t *testing.T) {
			out := t.TempDir()
			r := vaejob(t, trainArgs(input, out, "--preset", preset, "--time-column", "t")...)
			if r.code != 0 {
				t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "column is constant on the training rows") || !strings.Contains(r.stderr, "k0") {
				t.Errorf("the log does not name the constant columns:\n%s", r.stderr)
			}
			rec := readRunRecord(t, out)
			if rec.Schema != 3 || !slices.Equal(rec.Features, []string{"a", "b", "k0", "k1"}) || rec.Config.ConstantColumns != "keep" {
				t.Errorf("run.json: schema %d, features %v, constant_columns %q", rec.Schema, rec.Features, rec.Config.ConstantColumns)
			}
			if len(rec.ConstantFeatures) != 2 || rec.ConstantFeatures[0].Name != "k0" || rec.ConstantFeatures[0].Value != 0 || rec.ConstantFeatures[0].DepartureScale != 0.01 ||
				rec.ConstantFeatures[1].Name != "k1" || rec.ConstantFeatures[1].Value != 250 || rec.ConstantFeatures[1].DepartureScale != 2.5 {
				t.Errorf("run.json constant_features %+v", rec.ConstantFeatures)
			}
			if !slices.Equal(rec.ConstantInTraining, []string{"k1"}) {
				t.Errorf("run.json constant_in_training %v, want [k1]", rec.ConstantInTraining)
			}

			// Rows to serve: the training rows as they are; the same rows
			// with k0 off by 5 departure scales; sentinels.
			n := 40
			base := constantTable(n)
			depart := constantTable(n)
			depart[2].vals = seq(n, func(int) float64 { return 0.05 })
			sentinel := constantTable(n)
			sentinel[0].vals[1], sentinel[1].vals[2], sentinel[2].vals[3], sentinel[3].vals[4] = 3.4e38, -3.4e38, 3.4e38, -3.4e38
			var all []column
			for j := range base {
				c := column{name: base[j].name}
				for _, part := range [][]column{base, depart, sentinel} {
					c.vals = append(c.vals, part[j].vals...)
				}
				all = append(all, c)
			}
			serve := writeParquet(t, t.TempDir(), "serve.parquet", all)
			scores, flags := threeRuntimes(t, filepath.Join(out, "latest", "model.onnx"), serve)
			for i := 0; i < n; i++ {
				if !(scores[n+i] > scores[i]) {
					t.Errorf("row %d: departing from k0 scores %v, keeping it %v", i, scores[n+i], scores[i])
				}
			}
			for i := 2 * n; i < 3*n; i++ {
				if sentinelRow := i-2*n >= 1 && i-2*n <= 4; sentinelRow != math.IsNaN(float64(scores[i])) || sentinelRow && !flags[i] {
					t.Errorf("sentinel table row %d: score %v, flagged %v", i-2*n, scores[i], flags[i])
				}
			}
		})
	}
}

// readModel reads and decodes the model file at path, and returns the
// model and the file's bytes.
func readModel(t *testing.T, path string) (*pipeline.Model, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := onnx.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

// threeRuntimes scores the table at input with the model at modelPath by
// vaejob score, by onnx-go (onnx.DecodeGraph) and by ONNX Runtime, checks
// that they agree on every row (scores within onnx.ScoresAgree, NaN alike;
// identical is_anomaly), and returns vaejob score's scores and flags.
func threeRuntimes(t *testing.T, modelPath, input string) ([]float32, []bool) {
	t.Helper()
	scored := filepath.Join(t.TempDir(), "scores.csv")
	if r := vaejob(t, "score", "--model", modelPath, "--input", input, "--output", scored); r.code != 0 {
		t.Fatalf("score exit %d:\n%s", r.code, r.stderr)
	}
	header, rows := readCSVScores(t, scored)
	si, fi := slices.Index(header, "score"), slices.Index(header, "is_anomaly")
	goScores, goFlags := make([]float32, len(rows)), make([]bool, len(rows))
	for i, r := range rows {
		s, err := strconv.ParseFloat(r[si], 32)
		if err != nil {
			t.Fatalf("row %d: score %q: %v", i, r[si], err)
		}
		goScores[i], goFlags[i] = float32(s), r[fi] == "true"
	}
	m, data := readModel(t, modelPath)
	table, err := parquet.ReadTable(context.Background(), input, parquet.Selection{Features: m.Features, AllowMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	if table.Rows != len(rows) {
		t.Fatalf("%d rows read, %d scored", table.Rows, len(rows))
	}
	// Flags must agree but for a score within the parity tolerance of the
	// threshold, where float32 rounding may tip either way.
	agree := func(who string, s []float32, f []bool) {
		t.Helper()
		for i := range goScores {
			nan := math.IsNaN(float64(goScores[i]))
			if nan != math.IsNaN(float64(s[i])) || !nan && !onnx.ScoresAgree(s[i], goScores[i]) ||
				f[i] != goFlags[i] && !onnx.ScoresAgree(goScores[i], m.Threshold) {
				t.Errorf("row %d: %s score %v flag %v, vaejob score %v flag %v", i, who, s[i], f[i], goScores[i], goFlags[i])
			}
		}
	}
	g, err := onnx.DecodeGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	ogScores, ogFlags, err := g.Run(table.Data, table.Rows)
	if err != nil {
		t.Fatal(err)
	}
	agree("onnx-go", ogScores, ogFlags)

	rowsFile := filepath.Join(t.TempDir(), "rows.f32")
	writeRows(t, rowsFile, table.Data)
	res := scoreWithORT(t, modelPath, rowsFile, len(m.Features))
	if len(res.ScoreBits) != len(goScores) {
		t.Fatalf("ONNX Runtime gave %d scores, want %d", len(res.ScoreBits), len(goScores))
	}
	ortScores := res.scores()
	agree("ONNX Runtime", ortScores, res.IsAnomaly)
	if res.TestVector == nil || !res.TestVector.OK || !res.TestVector.FlagsOK {
		t.Errorf("embedded test vector under ONNX Runtime: %+v", res.TestVector)
	}
	return goScores, goFlags
}

// TestConstantColumnsPolicies checks --constant-columns drop and fail, the
// environment variable and the config file, and a table whose every feature
// is constant.
func TestConstantColumnsPolicies(t *testing.T) {
	dir := t.TempDir()
	input := writeParquet(t, dir, "const.parquet", constantTable(200))

	t.Run("drop", func(t *testing.T) {
		out := t.TempDir()
		r := vaejob(t, trainArgs(input, out, "--time-column", "t", "--constant-columns", "drop")...)
		if r.code != 0 {
			t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "--constant-columns drop") {
			t.Errorf("no log line for the dropped columns:\n%s", r.stderr)
		}
		rec := readRunRecord(t, out)
		if !slices.Equal(rec.Features, []string{"a", "b"}) || len(rec.ConstantFeatures) != 2 || rec.Config.ConstantColumns != "drop" {
			t.Errorf("run.json: features %v, constant_features %+v, constant_columns %q", rec.Features, rec.ConstantFeatures, rec.Config.ConstantColumns)
		}
	})

	t.Run("drop with imputation", func(t *testing.T) {
		// run.json names no dropped column among the imputation values.
		out := t.TempDir()
		r := vaejob(t, trainArgs(input, out, "--time-column", "t", "--constant-columns", "drop", "--missing", "impute-median")...)
		if r.code != 0 {
			t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
		}
		rec := readRunRecord(t, out)
		if len(rec.Missing.Values) != len(rec.Features) || len(rec.IgnoredFeatures) != 0 {
			t.Errorf("run.json: features %v, imputation values %v, ignored %v", rec.Features, rec.Missing.Values, rec.IgnoredFeatures)
		}
		for _, f := range rec.Features {
			if _, ok := rec.Missing.Values[f]; !ok {
				t.Errorf("no imputation value for feature %q: %v", f, rec.Missing.Values)
			}
		}
	})

	t.Run("fail from the environment", func(t *testing.T) {
		cmd := exec.Command(vaejobBin, trainArgs(input, t.TempDir())...)
		cmd.Env = append(os.Environ(), "VAEJOB_CONSTANT_COLUMNS=fail")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 3 || !strings.Contains(stderr.String(), `"k0"`) {
			t.Errorf("exit %d (%v), want 3 naming k0:\n%s", code, err, stderr.String())
		}
	})

	t.Run("fail from a config file", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "job.yaml")
		os.WriteFile(cfg, []byte("constant-columns: fail\n"), 0o644)
		if r := vaejob(t, trainArgs(input, t.TempDir(), "--config", cfg)...); r.code != 3 || !strings.Contains(r.stderr, `"k0"`) {
			t.Errorf("exit %d, want 3 naming k0:\n%s", r.code, r.stderr)
		}
	})

	t.Run("unknown policy", func(t *testing.T) {
		if r := vaejob(t, trainArgs(input, t.TempDir(), "--constant-columns", "ignore")...); r.code != 2 {
			t.Errorf("exit %d, want 2:\n%s", r.code, r.stderr)
		}
	})

	t.Run("every feature constant", func(t *testing.T) {
		flat := constantTable(200)[2:]
		flat[1].vals = seq(200, func(int) float64 { return 250 })
		in := writeParquet(t, t.TempDir(), "flat.parquet", flat)
		for _, preset := range []string{"default", "tutorial"} {
			out := t.TempDir()
			r := vaejob(t, trainArgs(in, out, "--time-column", "t", "--preset", preset)...)
			if r.code != 0 {
				t.Fatalf("%s: train exit %d:\n%s", preset, r.code, r.stderr)
			}
			serve := writeParquet(t, t.TempDir(), "serve.parquet", []column{
				{name: "k0", vals: []float64{0, 0.05, 0}},
				{name: "k1", vals: []float64{250, 250, 260}},
			})
			// Every validation row scores as row 0, so the threshold sits
			// at (or, placed above the top validation score, just above)
			// its score: its flag is not checked.
			scores, flags := threeRuntimes(t, filepath.Join(out, "latest", "model.onnx"), serve)
			if !(scores[1] > scores[0]) || !(scores[2] > scores[0]) || !flags[1] || !flags[2] {
				t.Errorf("%s: scores %v flags %v: want the departing rows higher than the constant one, and flagged", preset, scores, flags)
			}
		}
	})
}

// TestColumnWithoutValues trains on a table whose column "off" has no value
// at all (a sensor offline all day) under each --missing policy.
func TestColumnWithoutValues(t *testing.T) {
	n := 200
	cols := append(goodColumns(n)[:2], column{name: "off", vals: seq(n, func(int) float64 { return math.NaN() }), null: slices.Repeat([]bool{true}, n)})
	input := writeParquet(t, t.TempDir(), "off.parquet", cols)
	tests := []struct {
		missing string
		code    int
		want    []string
	}{
		{"fail", 3, []string{`"off"`, "200 null"}},
		{"drop-rows", 3, []string{`"off"`, "no value in any", "impute-median"}},
		{"impute-median", 0, []string{"the model ignores it", "off"}},
	}
	for _, tt := range tests {
		t.Run(tt.missing, func(t *testing.T) {
			out := t.TempDir()
			r := vaejob(t, trainArgs(input, out, "--missing", tt.missing)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tt.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
				}
			}
			if tt.code != 0 {
				return
			}
			rec := readRunRecord(t, out)
			if !slices.Equal(rec.Features, []string{"a", "b", "off"}) || !slices.Equal(rec.IgnoredFeatures, []string{"off"}) || len(rec.ConstantFeatures) != 0 {
				t.Errorf("run.json: features %v, ignored %v, constant %+v", rec.Features, rec.IgnoredFeatures, rec.ConstantFeatures)
			}
			// Whatever "off" holds, the score is the same.
			offVals := []float64{math.NaN(), 0, 12345, -3.4e38, 3.4e38}
			var a, b, off []float64
			for _, v := range offVals {
				a, b, off = append(a, 0.5), append(b, 1), append(off, v)
			}
			serve := writeParquet(t, t.TempDir(), "serve.parquet", []column{{name: "a", vals: a}, {name: "b", vals: b}, {name: "off", vals: off}})
			model := filepath.Join(out, "latest", "model.onnx")
			scores, _ := threeRuntimes(t, model, serve)
			data, err := os.ReadFile(model)
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := onnx.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			want := pipeline.NewScorer(m).Score([]float32{0.5, 1, float32(math.NaN())})
			for i, s := range scores {
				if got := pipeline.NewScorer(m).Score([]float32{0.5, 1, float32(offVals[i])}); got != want || !onnx.ScoresAgree(s, want) {
					t.Errorf("off = %v scores %v (vaejob score %v), off = NaN %v", offVals[i], got, s, want)
				}
			}
		})
	}
}

// TestSentinelValues checks that ±3.4e38 in a feature count as missing
// values: exit 3 naming the column under --missing fail, imputed under
// impute-median, where vaejob score, onnx-go and ONNX Runtime impute
// served sentinels alike.
func TestSentinelValuesAcrossRuntimes(t *testing.T) {
	n := 200
	cols := constantTable(n)
	cols[0].vals[5], cols[1].vals[9] = 3.4e38, -3.4e38
	input := writeParquet(t, t.TempDir(), "sentinel.parquet", cols)
	r := vaejob(t, trainArgs(input, t.TempDir(), "--time-column", "t")...)
	if r.code != 3 || !strings.Contains(r.stderr, `"a"`) || !strings.Contains(r.stderr, `"b"`) {
		t.Errorf("--missing fail: exit %d, want 3 naming a and b:\n%s", r.code, r.stderr)
	}
	out := t.TempDir()
	if r := vaejob(t, trainArgs(input, out, "--time-column", "t", "--missing", "impute-median")...); r.code != 0 {
		t.Fatalf("--missing impute-median: exit %d:\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "latest", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := onnx.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	// Each feature in turn holds a sentinel, NaN or float32(1e30), just
	// beyond the bound; the other features hold their imputation values.
	special := []float64{3.4e38, -3.4e38, math.NaN(), 1e30}
	d := len(m.Features)
	var serve []column
	for j, name := range m.Features {
		serve = append(serve, column{name: name, vals: slices.Repeat([]float64{float64(m.Imputation[j])}, len(special)*d)})
	}
	for s, v := range special {
		for k := range d {
			serve[k].vals[s*d+k] = v
		}
	}
	scores, _ := threeRuntimes(t, filepath.Join(out, "latest", "model.onnx"), writeParquet(t, t.TempDir(), "serve.parquet", serve))
	imputedScore := pipeline.NewScorer(m).Score(m.Imputation)
	for i, s := range scores {
		if !onnx.ScoresAgree(s, imputedScore) {
			t.Errorf("row %d (value %v in feature %d): score %v, want the imputed row's %v", i, special[i/d], i%d, s, imputedScore)
		}
	}
}
