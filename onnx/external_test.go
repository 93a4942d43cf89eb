package onnx

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vaejob/vaejob/pipeline"
)

// The ONNX checker and ONNX Runtime tests need tools outside Go. They skip
// when a tool is missing, unless VAEJOB_REQUIRE_ORT=1 (as in CI), when they
// fail instead.

const requireEnv = "VAEJOB_REQUIRE_ORT"

// systemPython is Debian's interpreter, which has python3-onnx; a python3
// earlier on PATH (a virtualenv) may not.
const systemPython = "/usr/bin/python3"

func needTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s, and %s=1", what, requireEnv)
	}
	t.Skipf("%s (set %s=1 to make this a failure)", what, requireEnv)
}

// externalModels returns the models the external tools check, encoded.
func externalModels(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, c := range externalCases {
		m, rows := randomModel(t, 11, c.arch)
		withScore(m, c.score, 11, rows)
		data, err := Encode(m, testMetadata(m, 11))
		if err != nil {
			t.Fatal(err)
		}
		out[c.name] = data
	}
	return out
}

// externalCases are the models ONNX Runtime and the checker see: each
// network shape and each score kind, and models with spike features
// (format version 5).
var externalCases = []struct {
	name  string
	arch  arch
	score pipeline.ScoreKind
}{
	{"tutorial", tutorial, pipeline.ScoreMSE},
	{"tiny", tiny, pipeline.ScoreMSE},
	{"no-encoder", arch{d: 4, latent: 3, decoder: []int{5}}, pipeline.ScoreMSE},
	{"nll", tutorial, pipeline.ScoreNLL},
	{"elbo", tutorial, pipeline.ScoreELBO},
	{"nll-latent", tiny, pipeline.ScoreNLLLatent},
	{"laplace-elbo", tutorial, laplaceELBO},
	{"laplace-mse", tiny, laplaceMSE},
	{"imputed", tutorial, imputed},
	{"constant-mse", constantArch, pipeline.ScoreMSE},
	{"constant-nll", constantArch, pipeline.ScoreNLL},
	{"constant-laplace-elbo-imputed", constantArch, imputed},
	{"spikes-nll", tutorial, spiked(pipeline.ScoreNLL)},
	{"spikes-constant-laplace-elbo-imputed", constantArch, spiked(imputed)},
}

func TestONNXChecker(t *testing.T) {
	_, err := os.Stat(systemPython)
	needTool(t, err == nil, systemPython+" not found")
	probe := exec.Command(systemPython, "-c", "import onnx")
	out, err := probe.CombinedOutput()
	needTool(t, err == nil, "python3-onnx not importable: "+string(bytes.TrimSpace(out)))

	dir := t.TempDir()
	models := externalModels(t)
	golden, err := os.ReadFile(filepath.Join("testdata", "tiny.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	models["golden"] = golden
	for name, data := range models {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".onnx")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(systemPython, "-c",
				"import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)", path)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("onnx.checker.check_model(full_check=True): %v\n%s", err, out)
			}
		})
	}
}

// ortResult is what testdata/ort/score.js prints.
type ortResult struct {
	ScoreBits           []uint32 `json:"score_bits"`
	FeatureScoresBits   []uint32 `json:"feature_scores_bits"`
	LatentScoreBits     []uint32 `json:"latent_score_bits"`
	TailProbabilityBits []uint32 `json:"tail_probability_bits"`
	IsAnomaly           []bool   `json:"is_anomaly"`
	Threshold           string   `json:"threshold"`
	TestVector          *struct {
		Rows      int     `json:"rows"`
		MaxRelErr float64 `json:"max_rel_err"`
		OK        bool    `json:"ok"`
		FlagsOK   bool    `json:"flags_ok"`
		TailOK    *bool   `json:"tail_ok"`
	} `json:"test_vector"`
}

// needORT returns the path of node, skipping the test when node or
// onnxruntime-node is missing.
func needORT(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	needTool(t, err == nil, "node not on PATH")
	_, err = os.Stat(filepath.Join("testdata", "ort", "node_modules", "onnxruntime-node"))
	needTool(t, err == nil, "onnxruntime-node not installed (cd onnx/testdata/ort && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci)")
	return node
}

// runORT scores rows (row-major, d values each) with ONNX Runtime on the
// model data, through testdata/ort/score.js, with its files in dir named
// for name.
func runORT(t *testing.T, node, dir, name string, data []byte, rows []float32, d int) ortResult {
	t.Helper()
	modelPath := filepath.Join(dir, name+".onnx")
	rowsPath := filepath.Join(dir, name+".f32")
	var raw bytes.Buffer
	if err := binary.Write(&raw, binary.LittleEndian, rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(modelPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rowsPath, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "ort", "score.js"), modelPath, rowsPath, strconv.Itoa(d))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("score.js: %v\n%s", err, stderr.Bytes())
	}
	var res ortResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("score.js output: %v\n%s", err, out)
	}
	n := len(rows) / d
	if len(res.ScoreBits) != n || len(res.IsAnomaly) != n {
		t.Fatalf("ONNX Runtime gave %d scores and %d flags for %d rows", len(res.ScoreBits), len(res.IsAnomaly), n)
	}
	return res
}

func TestONNXRuntime(t *testing.T) {
	node := needORT(t)
	dir := t.TempDir()
	for i, a := range externalCases {
		t.Run(a.name, func(t *testing.T) {
			seed := int64(200 + i)
			m, rows := randomModel(t, seed, a.arch)
			withScore(m, a.score, seed, rows)
			data, err := Encode(m, testMetadata(m, seed))
			if err != nil {
				t.Fatal(err)
			}
			all := append(append([]float32(nil), rows...), specialRows(m.Dim())...)
			res := runORT(t, node, dir, a.name, data, all, m.Dim())
			if res.Threshold != FormatThreshold(m.Threshold) {
				t.Errorf("metadata threshold read by node %q, want %q", res.Threshold, FormatThreshold(m.Threshold))
			}
			compareORT(t, m, all, res)
			checkExplained(t, m, all, res.outputs())
			if tv := res.TestVector; tv == nil || tv.Rows == 0 || !tv.OK || !tv.FlagsOK || tv.TailOK == nil || !*tv.TailOK {
				t.Errorf("embedded test vector under ONNX Runtime: %+v", res.TestVector)
			}
		})
	}
}

// outputs returns ONNX Runtime's outputs as Graph.RunAll returns them.
func (res ortResult) outputs() Outputs {
	floats := func(bits []uint32) []float32 {
		if bits == nil {
			return nil
		}
		f := make([]float32, len(bits))
		for i, b := range bits {
			f[i] = math.Float32frombits(b)
		}
		return f
	}
	return Outputs{
		Score: floats(res.ScoreBits), IsAnomaly: res.IsAnomaly,
		FeatureScores: floats(res.FeatureScoresBits), LatentScore: floats(res.LatentScoreBits),
		TailProbability: floats(res.TailProbabilityBits),
	}
}

// compareORT checks ONNX Runtime's outputs against the Go scorer: scores
// within Tolerance (a non-finite score only needs to be non-finite in both:
// runtimes differ in how NaN passes through activations), identical alert
// flags (but for a score within Tolerance of the threshold, where float32
// rounding may tip either way), and ONNX Runtime's flags equal to its own
// score > threshold.
func compareORT(t *testing.T, m *pipeline.Model, rows []float32, res ortResult) {
	t.Helper()
	want := m.ScoreRows(rows)
	var maxRel float64
	for r, bits := range res.ScoreBits {
		got := math.Float32frombits(bits)
		finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
		switch {
		case finite(got) && finite(want[r]):
			maxRel = math.Max(maxRel, math.Abs(float64(got-want[r]))/math.Max(1, math.Abs(float64(want[r]))))
			if !ScoresAgree(got, want[r]) {
				t.Errorf("row %d: ONNX Runtime score %v, Go scorer %v", r, got, want[r])
			}
		case finite(got) != finite(want[r]):
			t.Errorf("row %d: ONNX Runtime score %v, Go scorer %v", r, got, want[r])
		}
		if res.IsAnomaly[r] != pipeline.IsAnomaly(got, m.Threshold) {
			t.Errorf("row %d: ONNX Runtime is_anomaly %v for its score %v, threshold %v", r, res.IsAnomaly[r], got, m.Threshold)
		}
		if res.IsAnomaly[r] != pipeline.IsAnomaly(want[r], m.Threshold) && !ScoresAgree(want[r], m.Threshold) {
			t.Errorf("row %d: ONNX Runtime is_anomaly %v, Go scorer says %v (score %v)", r, res.IsAnomaly[r], !res.IsAnomaly[r], want[r])
		}
	}
	t.Logf("%d rows: max relative score error ONNX Runtime vs Go %.3g", len(res.ScoreBits), maxRel)
}
