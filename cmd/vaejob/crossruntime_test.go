package main

import (
	"context"
	"encoding/binary"
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
)

const ortScript = "../../onnx/testdata/ort/score.js"

// requireTool skips the test when a cross-runtime tool is missing, unless
// VAEJOB_REQUIRE_ORT=1 (set by the README's test command) makes it a failure.
func requireTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("VAEJOB_REQUIRE_ORT") == "1" {
		t.Fatalf("%s is not installed (run bash .ci/test, which installs it)", what)
	}
	t.Skipf("%s is not installed; bash .ci/test installs it", what)
}

// ortResult is what score.js prints: each row's score as float32 bits, its
// is_anomaly, and whether the model's embedded test vector checked out.
type ortResult struct {
	ScoreBits  []uint32 `json:"score_bits"`
	IsAnomaly  []bool   `json:"is_anomaly"`
	TestVector *struct {
		OK      bool `json:"ok"`
		FlagsOK bool `json:"flags_ok"`
	} `json:"test_vector"`
	FeatureScoresBits   []uint32 `json:"feature_scores_bits"`
	TailProbabilityBits []uint32 `json:"tail_probability_bits"`
}

// scores returns the scores as float32 values.
func (r ortResult) scores() []float32 {
	s := make([]float32, len(r.ScoreBits))
	for i, b := range r.ScoreBits {
		s[i] = math.Float32frombits(b)
	}
	return s
}

// writeRows writes the row-major matrix x as little-endian float32 values,
// the input score.js reads.
func writeRows(t *testing.T, path string, x []float32) {
	t.Helper()
	buf := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// scoreWithORT scores the rows of rowsFile (d features a row, see
// writeRows) with the model under ONNX Runtime (onnxruntime-node), skipping
// or failing as requireTool says when it is not installed.
func scoreWithORT(t *testing.T, model, rowsFile string, d int) ortResult {
	t.Helper()
	_, err := os.Stat("../../onnx/testdata/ort/node_modules/onnxruntime-node")
	requireTool(t, err == nil, "onnxruntime-node")
	cmd := exec.Command("node", ortScript, model, rowsFile, strconv.Itoa(d))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ONNX Runtime on %s: %v", model, err)
	}
	var res ortResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ONNX Runtime on %s: %s (%v)", model, out, err)
	}
	return res
}

// TestDemoAcrossRuntimes trains each preset on the demo table, then
// scores the whole table with vaejob score, ONNX Runtime (Node) and onnx-go
// (vaejob verify --input), and runs the ONNX checker on the file.
func TestDemoAcrossRuntimes(t *testing.T) {
	for _, preset := range []string{"tutorial", "default"} {
		t.Run(preset, func(t *testing.T) { demoAcrossRuntimes(t, preset) })
	}
}

func demoAcrossRuntimes(t *testing.T, preset string) {
	out := t.TempDir()
	if r := vaejob(t, "train", "--input", demo, "--exclude", "patient_id,diagnosis", "--out", out, "--seed", "0", "--preset", preset); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	model := filepath.Join(out, "latest", "model.onnx")
	scored := filepath.Join(t.TempDir(), "scores.csv")
	if r := vaejob(t, "score", "--model", model, "--input", demo, "--output", scored, "--keep-columns", "patient_id,diagnosis"); r.code != 0 {
		t.Fatalf("score exit %d:\n%s", r.code, r.stderr)
	}
	header, rows := readCSVScores(t, scored)
	if want := []string{"patient_id", "diagnosis", "score", "is_anomaly", "tail_probability"}; !slices.Equal(header, want) {
		t.Fatalf("header %v, want %v", header, want)
	}
	if len(rows) != 569 {
		t.Fatalf("%d score rows, want 569", len(rows))
	}
	goScores := make([]float32, len(rows))
	goFlags := make([]bool, len(rows))
	for i, r := range rows {
		if r[0] != strconv.Itoa(i+1) { // patient_id runs 1..569
			t.Fatalf("row %d: patient_id %s: rows out of input order", i, r[0])
		}
		s, err := strconv.ParseFloat(r[2], 32)
		if err != nil {
			t.Fatal(err)
		}
		goScores[i] = float32(s)
		goFlags[i] = r[3] == "true"
	}

	m, data := readModel(t, model)
	threshold := m.Threshold
	props, err := onnx.ReadMetadataProps(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range props {
		if p.Key != onnx.KeyThreshold {
			continue
		}
		if got, err := strconv.ParseFloat(p.Value, 32); err != nil || float32(got) != threshold {
			t.Errorf("vaejob.threshold %q does not read back to the graph's %v", p.Value, threshold)
		}
	}
	for i, s := range goScores {
		if goFlags[i] != (s > threshold) {
			t.Errorf("row %d: is_anomaly %v but score %v vs threshold %v", i, goFlags[i], s, threshold)
		}
	}

	t.Run("onnxruntime", func(t *testing.T) {
		table, err := parquet.ReadTable(context.Background(), demo, parquet.Selection{Features: m.Features})
		if err != nil {
			t.Fatal(err)
		}
		rowsFile := filepath.Join(t.TempDir(), "rows.f32")
		writeRows(t, rowsFile, table.Data)
		res := scoreWithORT(t, model, rowsFile, len(m.Features))
		if len(res.ScoreBits) != len(goScores) {
			t.Fatalf("ONNX Runtime gave %d scores, want %d", len(res.ScoreBits), len(goScores))
		}
		var maxRel float64
		for i, bits := range res.ScoreBits {
			s := math.Float32frombits(bits)
			rel := math.Abs(float64(s-goScores[i])) / math.Max(1, math.Abs(float64(goScores[i])))
			maxRel = math.Max(maxRel, rel)
			if !onnx.ScoresAgree(s, goScores[i]) {
				t.Errorf("row %d: ONNX Runtime score %v, vaejob score %v", i, s, goScores[i])
			}
			if res.IsAnomaly[i] != (s > threshold) {
				t.Errorf("row %d: ONNX Runtime is_anomaly %v for its score %v and threshold %v", i, res.IsAnomaly[i], s, threshold)
			}
			if res.IsAnomaly[i] != goFlags[i] {
				t.Errorf("row %d: ONNX Runtime is_anomaly %v, vaejob score %v", i, res.IsAnomaly[i], goFlags[i])
			}
		}
		if res.TestVector == nil || !res.TestVector.OK || !res.TestVector.FlagsOK {
			t.Errorf("embedded test vector under ONNX Runtime: %+v", res.TestVector)
		}
		t.Logf("569 rows: max relative score difference ONNX Runtime vs vaejob score %.3g", maxRel)
		checkExplainedAgainstORT(t, m, model, res, goScores)
	})

	t.Run("onnx-go", func(t *testing.T) {
		if r := vaejob(t, "verify", "--model", model); r.code != 0 {
			t.Fatalf("verify exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		r := vaejob(t, "verify", "--model", model, "--input", demo)
		if r.code != 0 {
			t.Fatalf("verify --input exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		t.Logf("verify --input:\n%s", r.stdout)
	})

	t.Run("onnx checker", func(t *testing.T) {
		ok := exec.Command("/usr/bin/python3", "-c", "import onnx").Run() == nil
		requireTool(t, ok, "Debian's python3-onnx")
		cmd := exec.Command("/usr/bin/python3", "-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", model)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("onnx checker rejected the model: %v\n%s", err, out)
		}
	})
}

// TestVerifyCatchesMismatch corrupts the recorded validation scores and
// expects verify to fail loudly with exit code 7.
func TestVerifyCatchesMismatch(t *testing.T) {
	out := t.TempDir()
	if r := vaejob(t, trainArgs(demo, out, "--exclude", "patient_id,diagnosis", "--run-id", "v1")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	dir := filepath.Join(out, "runs", "v1")
	samplePath := filepath.Join(dir, "validation_sample.json")
	b, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	scores := s["scores"].([]any)
	scores[3] = scores[3].(float64)*1.01 + 0.01
	b, _ = json.Marshal(s)
	if err := os.WriteFile(samplePath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := vaejob(t, "verify", "--model", filepath.Join(dir, "model.onnx"))
	if r.code != 7 {
		t.Fatalf("verify exit %d, want 7:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout+r.stderr, "row 3") {
		t.Errorf("verify output does not name row 3:\n%s%s", r.stdout, r.stderr)
	}

	tests := []struct {
		name string
		args []string
		code int
	}{
		{"missing model", []string{"verify", "--model", filepath.Join(out, "nope.onnx")}, 3},
		{"not a model", []string{"verify", "--model", samplePath}, 3},
		{"no model flag", []string{"verify"}, 2},
		{"score without output", []string{"score", "--model", filepath.Join(dir, "model.onnx"), "--input", demo}, 2},
		{"score on a non-model", []string{"score", "--model", samplePath, "--input", demo, "--output", filepath.Join(out, "x.csv")}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := vaejob(t, tc.args...); r.code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, tc.code, r.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "x.csv")); err == nil {
		t.Error("a failed score run left an output file")
	}
}
