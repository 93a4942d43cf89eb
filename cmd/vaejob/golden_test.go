package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden run records in testdata/golden/")

// goldenCase is one train command whose model and run.json are pinned.
type goldenCase struct {
	name   string
	env    []string // VAEJOB_* settings
	config string   // YAML for --config, if any
	// runs are the train commands, in order, into one --out; the last
	// run's model and record are compared.
	runs [][]string
}

// goldenCases spread over the settings: each preset, every model knob
// set on the command line, labels and the gate, the environment and a
// config file, and a second night judged against the first.
var goldenCases = []goldenCase{
	{name: "demo-default", runs: [][]string{{"--exclude", "patient_id,diagnosis", "--seed", "0"}}},
	{name: "tutorial", runs: [][]string{{"--exclude", "patient_id,diagnosis", "--seed", "3", "--preset", "tutorial", "--epochs", "4"}}},
	{name: "model-knobs", runs: [][]string{{"--exclude", "patient_id,diagnosis", "--seed", "5",
		"--hidden", "16,8", "--latent-dim", "4", "--beta", "0.5", "--warmup-steps", "0", "--trim", "0", "--trim-from", "0",
		"--steps", "300", "--trainer", "graph", "--scaler", "minmax", "--likelihood", "laplace", "--objective", "elbo",
		"--score", "elbo_mu", "--init", "glorot", "--threshold", "mad:3", "--validation-fraction", "0.3",
		"--batch-size", "64", "--learning-rate", "0.002"}}},
	{name: "labels-and-data", runs: [][]string{{"--exclude", "patient_id", "--seed", "9", "--label-column", "diagnosis",
		"--normal-value", "benign", "--threshold", "f1", "--train-on", "normal", "--missing", "impute-median",
		"--constant-columns", "drop", "--digest", "size+footer", "--max-rows", "400", "--steps", "200",
		"--filter", "mean_radius > 8", "--time-column", "patient_id"}}},
	{name: "env-and-config", env: []string{"VAEJOB_EPOCHS=7", "VAEJOB_SEED=11", "VAEJOB_GATE_MAX_ALERT_RATE=0.5"},
		config: "exclude: patient_id,diagnosis\nlatent-dim: 3\nthreshold: contamination:0.05\nsteps: 150\nbeta: 0\n",
		runs:   [][]string{{"--latent-dim", "5"}}},
	{name: "second-night-gated", runs: [][]string{
		{"--exclude", "patient_id,diagnosis", "--seed", "1", "--steps", "300"},
		{"--exclude", "patient_id,diagnosis", "--seed", "2", "--steps", "300", "--gate-max-score-drift", "0.9",
			"--gate-max-alert-rate", "0.3", "--gate-min-rows-fraction", "0.5", "--keep", "5"},
	}},
}

// kernelEnvs are the kernels this machine can run: the default one, and
// the plain-Go loops forced with GODEBUG (x/sys/cpu honours cpu.avx2=off).
var kernelEnvs = [][]string{nil, {"GODEBUG=cpu.avx2=off,cpu.fma=off"}}

// TestSameModelAndRecordAsGolden pins what a train command produces: the
// model's graph and weights (model.onnx without its metadata_props and
// producer_version) and run.json apart from times, run ids, versions and
// paths, for each kernel path this machine has. A refactoring that
// changes a setting's default, a check or the trainer's arithmetic fails
// it. Regenerate with
//
//	go test ./cmd/vaejob -run TestSameModelAndRecordAsGolden -update
//
// which writes testdata/golden/<GOARCH>-<kernel>/; on an amd64 machine
// without AVX2 and FMA only amd64-go/ is written (and checked), and on
// another architecture (arm64) its own <GOARCH>-go/ is.
func TestSameModelAndRecordAsGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, kenv := range kernelEnvs {
		for _, tc := range goldenCases {
			got, kernel := runGoldenCase(t, tc, kenv)
			if seen[kernel+"/"+tc.name] {
				continue // this machine has one kernel only
			}
			seen[kernel+"/"+tc.name] = true
			t.Run(kernel+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join("testdata", "golden", goldenDir(kernel), tc.name+".json")
				if *updateGolden {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if os.IsNotExist(err) {
					t.Skipf("no golden for kernel %s yet: run with -update on this machine and commit %s", kernel, path)
				}
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: model or run.json differs from the golden; diff it with\n  go test ./cmd/vaejob -run %s -update && git diff %s\ngot:\n%s",
						tc.name, t.Name(), path, firstDifference(got, want))
				}
			})
		}
	}
}

// goldenDir names the folder of a kernel's goldens. The architecture is
// part of it: the plain-Go loops round differently where the compiler
// fuses multiply-adds (arm64 does, amd64 does not).
func goldenDir(kernel string) string {
	return runtime.GOARCH + "-" + strings.ReplaceAll(kernel, "+", "")
}

// runGoldenCase runs tc's commands and returns the normalised outcome of
// the last one and the kernel it ran on.
func runGoldenCase(t *testing.T, tc goldenCase, kernelEnv []string) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	input, err := filepath.Abs(filepath.Join("..", "..", "testdata", "breast_cancer_wisconsin.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var runID string
	for i, extra := range tc.runs {
		runID = "golden-" + string(rune('a'+i))
		args := append([]string{"train", "--input", input, "--out", out, "--run-id", runID}, extra...)
		if tc.config != "" {
			cfg := filepath.Join(dir, "job.yaml")
			if err := os.WriteFile(cfg, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, "--config", cfg)
		}
		cmd := exec.Command(vaejobBin, args...)
		cmd.Env = append(append(os.Environ(), tc.env...), kernelEnv...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: vaejob %s: %v\n%s", tc.name, strings.Join(args, " "), err, b)
		}
	}
	runDir := filepath.Join(out, "runs", runID)
	model, err := os.ReadFile(filepath.Join(runDir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := os.ReadFile(filepath.Join(runDir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var record map[string]any
	if err := json.Unmarshal(rec, &record); err != nil {
		t.Fatal(err)
	}
	kernel, _ := record["versions"].(map[string]any)["kernel"].(string)
	if kernel == "" {
		t.Fatalf("%s: run.json names no kernel in versions", tc.name)
	}
	normaliseRecord(record)
	golden := map[string]any{
		"model_sha256_without_metadata": modelDigestWithoutMetadata(t, model),
		"run":                           record,
	}
	b, err := json.MarshalIndent(golden, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n'), kernel
}

// normaliseRecord drops from a run.json what may differ between two runs
// of the same binary on the same input: times, versions, paths, and the
// digests of the model (its metadata holds the run id and times) and of
// the report (it shows them too).
func normaliseRecord(r map[string]any) {
	for _, k := range []string{"run_id", "started_at", "finished_at", "timings_seconds", "versions", "machine"} {
		delete(r, k)
	}
	for _, in := range asList(r["inputs"]) {
		delete(in, "path")
	}
	if cfg, ok := r["config_file"].(map[string]any); ok {
		delete(cfg, "path")
	}
	if c, ok := r["config"].(map[string]any); ok {
		if cf, ok := c["config_file"].(map[string]any); ok {
			delete(cf, "path")
		}
	}
	for _, a := range asList(r["artifacts"]) {
		if a["name"] == "model.onnx" || a["name"] == "report.html" {
			delete(a, "sha256")
			delete(a, "size_bytes")
		}
	}
}

func asList(v any) []map[string]any {
	var out []map[string]any
	list, _ := v.([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// modelDigestWithoutMetadata hashes a ModelProto's top-level fields but
// producer_version (3) and metadata_props (14): the graph, the weights,
// the opsets and the IR version.
func modelDigestWithoutMetadata(t *testing.T, b []byte) string {
	t.Helper()
	h := sha256.New()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("model.onnx: bad tag: %v", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			t.Fatalf("model.onnx: bad field %d: %v", num, protowire.ParseError(m))
		}
		if num != 3 && num != 14 {
			h.Write(b[:n+m])
		}
		b = b[n+m:]
	}
	return hex.EncodeToString(h.Sum(nil))
}

// firstDifference shows the lines around where got and want first differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range g {
		if i >= len(w) || g[i] != w[i] {
			lo := max(0, i-3)
			hi := min(len(g), i+4)
			wl := "(end of golden)"
			if i < len(w) {
				wl = w[i]
			}
			return strings.Join(g[lo:hi], "\n") + "\nwant at line " + strconv.Itoa(i+1) + ":\n" + wl
		}
	}
	return "(golden has more lines)"
}
