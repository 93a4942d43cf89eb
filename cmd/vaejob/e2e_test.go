package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// vaejobBin is the vaejob binary built once for the end-to-end tests.
var vaejobBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vaejob-e2e-")
	if err != nil {
		panic(err)
	}
	vaejobBin = filepath.Join(dir, "vaejob")
	build := exec.Command("go", "build", "-o", vaejobBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build vaejob: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type runResult struct {
	code           int
	stdout, stderr string
}

// vaejob runs the binary with args and returns its exit code and output;
// a run still going after ten minutes is killed and fails the test.
func vaejob(t *testing.T, args ...string) runResult {
	t.Helper()
	return vaejobWithin(t, 10*time.Minute, args...)
}

// vaejobWithin runs the binary like vaejob, but kills it after limit, so
// that a run blocked (on a FIFO, say) fails the test instead of hanging it.
func vaejobWithin(t *testing.T, limit time.Duration, args ...string) runResult {
	t.Helper()
	return vaejobWith(t, limit, runWith{}, args...)
}

// vaejobPiped runs the binary like vaejob, with stdin on its standard
// input.
func vaejobPiped(t *testing.T, stdin []byte, args ...string) runResult {
	t.Helper()
	return vaejobWith(t, 10*time.Minute, runWith{stdin: bytes.NewReader(stdin)}, args...)
}

// runWith is what a run of the binary gets besides its arguments.
type runWith struct {
	stdin io.Reader // its standard input; nil: none
	env   []string  // added to the test's environment
}

// vaejobWith runs the binary like vaejobWithin, with w's standard input
// and environment.
func vaejobWith(t *testing.T, limit time.Duration, w runWith, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(vaejobBin, args...)
	if w.env != nil {
		cmd.Env = append(os.Environ(), w.env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = w.stdin, &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("run vaejob: %v", err)
	}
	killed := false
	timer := time.AfterFunc(limit, func() { killed = true; cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	if killed {
		t.Fatalf("vaejob %s still running after %v: killed", strings.Join(args, " "), limit)
	}
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run vaejob: %v", err)
	}
	return runResult{code, out.String(), errb.String()}
}

const demo = "../../testdata/breast_cancer_wisconsin.parquet"

func trainArgs(input, out string, extra ...string) []string {
	return append([]string{"train", "--input", input, "--out", out, "--seed", "0", "--epochs", "5"}, extra...)
}

// column is one column of a fixture table.
type column struct {
	name  string
	vals  []float64 // NaN where null is true
	null  []bool
	label []string // a string column instead of numbers
}

// writeParquet writes the columns to dir/name and returns its path.
func writeParquet(t *testing.T, dir, name string, cols []column) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := writeParquetTo(f, cols); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeParquetTo writes the columns as one Parquet table to w.
func writeParquetTo(w io.Writer, cols []column) error {
	var fields []arrow.Field
	var arrs []arrow.Array
	mem := memory.NewGoAllocator()
	for _, c := range cols {
		if c.label != nil {
			b := array.NewStringBuilder(mem)
			b.AppendValues(c.label, nil)
			fields = append(fields, arrow.Field{Name: c.name, Type: arrow.BinaryTypes.String, Nullable: true})
			arrs = append(arrs, b.NewArray())
			continue
		}
		b := array.NewFloat64Builder(mem)
		valid := make([]bool, len(c.vals))
		for i := range valid {
			valid[i] = c.null == nil || !c.null[i]
		}
		b.AppendValues(c.vals, valid)
		fields = append(fields, arrow.Field{Name: c.name, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		arrs = append(arrs, b.NewArray())
	}
	schema := arrow.NewSchema(fields, nil)
	rows := 0
	if len(arrs) > 0 {
		rows = arrs[0].Len()
	}
	rec := array.NewRecord(schema, arrs, int64(rows))
	return pqarrow.WriteTable(array.NewTableFromRecords(schema, []arrow.Record{rec}), w, 1024, nil, pqarrow.DefaultWriterProps())
}

func seq(n int, f func(i int) float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = f(i)
	}
	return v
}

// goodColumns is a small learnable table: two features plus a string id.
func goodColumns(n int) []column {
	return []column{
		{name: "a", vals: seq(n, func(i int) float64 { return math.Sin(float64(i)) })},
		{name: "b", vals: seq(n, func(i int) float64 { return math.Cos(float64(i)) * 3 })},
		{name: "tag", label: func() []string {
			s := make([]string, n)
			for i := range s {
				s[i] = "row" + strconv.Itoa(i)
			}
			return s
		}()},
	}
}

// listTree returns every path below dir, so a test can tell that a failed
// run wrote nothing.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	return paths
}

// TestTrainBadInput: bad input data is exit 3, naming what is wrong, and
// leaves --out and its latest as they were. (Mistakes in the job
// definition, exit 2, are testdata/script/usage_errors.txtar.)
func TestTrainBadInput(t *testing.T) {
	dir := t.TempDir()
	withNaN := goodColumns(50)
	withNaN[0].vals[3] = math.NaN()
	withNaN[0].vals[7] = math.Inf(1)
	withNaN[1].null = make([]bool, 50)
	withNaN[1].null[1] = true
	constant := goodColumns(50)
	constant[1].vals = seq(50, func(int) float64 { return 7 })
	notParquet := filepath.Join(dir, "table.csv")
	os.WriteFile(notParquet, []byte("a,b\n1,2\n"), 0o644)

	tests := []struct {
		name  string
		input string
		extra []string
		code  int
		want  []string // substrings of stderr
	}{
		{"missing file", filepath.Join(dir, "nope.parquet"), nil, 3, []string{"nope.parquet", "does not exist"}},
		{"directory", dir, nil, 3, []string{"table.csv", "not a Parquet file"}},
		{"not parquet", notParquet, nil, 3, []string{"not a Parquet file"}},
		{"missing column", writeParquet(t, dir, "good1.parquet", goodColumns(50)), []string{"--features", "a,zzz"}, 3, []string{"zzz"}},
		{"non-numeric column", writeParquet(t, dir, "good2.parquet", goodColumns(50)), []string{"--features", "a,tag"}, 3, []string{"tag", "string"}},
		{"no rows", writeParquet(t, dir, "empty.parquet", goodColumns(0)), nil, 3, []string{"no rows"}},
		{"nulls and NaN", writeParquet(t, dir, "nan.parquet", withNaN), nil, 3, []string{`"a"`, "2 NaN/Inf", `"b"`, "1 null"}},
		{"constant column, --constant-columns fail", writeParquet(t, dir, "const.parquet", constant), []string{"--constant-columns", "fail"}, 3, []string{`"b"`, "constant", "--constant-columns keep"}},
		{"too few rows", writeParquet(t, dir, "two.parquet", goodColumns(2)), nil, 3, []string{"too few rows"}},
		{"one row", writeParquet(t, dir, "one.parquet", goodColumns(1)), nil, 3, []string{"too few rows"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			os.MkdirAll(out, 0o755)
			// A previous good run's latest must survive the failure.
			os.WriteFile(filepath.Join(out, "sentinel"), []byte("keep"), 0o644)
			os.Symlink("runs/earlier", filepath.Join(out, "latest"))
			before := listTree(t, out)
			r := vaejob(t, trainArgs(tc.input, out, tc.extra...)...)
			if r.code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
				}
			}
			if after := listTree(t, out); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("--out changed:\nbefore %v\nafter  %v", before, after)
			}
			if target, _ := os.Readlink(filepath.Join(out, "latest")); target != "runs/earlier" {
				t.Errorf("latest now points at %q", target)
			}
		})
	}
}

// TestTrainDemoDeterministic trains the tutorial preset on the demo table
// twice with the same seed and run id, and checks the published files.
func TestTrainDemoDeterministic(t *testing.T) {
	var models, records [2][]byte
	for i := range models {
		out := t.TempDir()
		r := vaejob(t, "train", "--input", demo, "--exclude", "patient_id,diagnosis", "--out", out, "--seed", "0", "--preset", "tutorial", "--run-id", "r1")
		if r.code != 0 {
			t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
		}
		latest := filepath.Join(out, "latest")
		var err error
		if models[i], err = os.ReadFile(filepath.Join(latest, "model.onnx")); err != nil {
			t.Fatal(err)
		}
		recBytes, err := os.ReadFile(filepath.Join(latest, "run.json"))
		if err != nil {
			t.Fatal(err)
		}
		records[i] = withoutTimes(t, recBytes)
		var rec struct {
			RunID    string                  `json:"run_id"`
			Features []string                `json:"features"`
			Skipped  []struct{ Name string } `json:"skipped_columns"`
			Rows     struct{ Train, Validation int }
			Latent   struct {
				Active int `json:"active_units"`
			}
			Training  struct{ Epochs []json.RawMessage }
			Artifacts []struct{ Name, SHA256 string }
		}
		if err := json.Unmarshal(recBytes, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.RunID != "r1" || len(rec.Features) != 30 || rec.Rows.Train+rec.Rows.Validation != 569 || len(rec.Training.Epochs) != 100 {
			t.Errorf("run.json: run %q, %d features, %d+%d rows, %d epochs", rec.RunID, len(rec.Features), rec.Rows.Train, rec.Rows.Validation, len(rec.Training.Epochs))
		}
		if rec.Latent.Active != 0 {
			t.Errorf("tutorial preset: %d active latent units, want 0 (its posterior collapses)", rec.Latent.Active)
		}
		if matches, _ := filepath.Glob(filepath.Join(out, ".tmp-*")); len(matches) > 0 {
			t.Errorf("temporary directories left behind: %v", matches)
		}
	}
	if !bytes.Equal(models[0], models[1]) {
		t.Error("same seed and run id gave different model.onnx bytes")
	}
	if !bytes.Equal(records[0], records[1]) {
		t.Errorf("same seed and run id gave different run.json (timings aside):\n%s\n%s", records[0], records[1])
	}
}

// withoutTimes returns run.json without its wall-clock fields (and the
// digest of report.html, which shows them), the only ones that may differ
// between two identical runs.
func withoutTimes(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "started_at")
	delete(m, "finished_at")
	delete(m, "timings_seconds")
	delete(m, "machine") // GOMAXPROCS, cores, memory limit
	// report.html shows the times, so its digest is one of them.
	arts, _ := m["artifacts"].([]any)
	for _, a := range arts {
		if a, ok := a.(map[string]any); ok && a["name"] == "report.html" {
			delete(a, "sha256")
			delete(a, "size_bytes")
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readCSVScores reads the score output of vaejob score.
func readCSVScores(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return all[0], all[1:]
}

// TestScoreMissingValues scores rows with a null and a NaN feature: they
// score NaN and are flagged, the other rows are scored as usual.
func TestScoreMissingValues(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	train := writeParquet(t, dir, "train.parquet", goodColumns(200))
	if r := vaejob(t, trainArgs(train, out, "--exclude", "tag")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	cols := goodColumns(4)
	cols[0].vals[1] = math.NaN()
	cols[1].null = []bool{false, false, true, false}
	input := writeParquet(t, dir, "score.parquet", cols)
	model := filepath.Join(out, "latest", "model.onnx")
	scored := filepath.Join(dir, "scores.csv")
	r := vaejob(t, "score", "--model", model, "--input", input, "--output", scored, "--keep-columns", "tag")
	if r.code != 0 {
		t.Fatalf("score exit %d:\n%s", r.code, r.stderr)
	}
	_, rows := readCSVScores(t, scored)
	for i, row := range rows {
		missing := i == 1 || i == 2
		if got := row[1] == "NaN"; got != missing {
			t.Errorf("row %d: score %s, want NaN only for the rows with a missing value", i, row[1])
		}
		if missing && row[2] != "true" {
			t.Errorf("row %d has a missing value but is_anomaly = %s", i, row[2])
		}
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"output directory missing", []string{"score", "--model", model, "--input", input, "--output", filepath.Join(dir, "no", "x.csv")}, 2, "does not exist"},
		{"output is the input", []string{"score", "--model", model, "--input", input, "--output", input}, 2, "is the input"},
		{"input missing a model feature", []string{"score", "--model", model, "--input", writeParquet(t, dir, "short.parquet", goodColumns(3)[1:]), "--output", filepath.Join(dir, "y.csv")}, 3, `"a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := vaejob(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d mentioning %q:\n%s", r.code, tc.code, tc.want, r.stderr)
			}
		})
	}
}

// TestTrainOnPartitionedFolder trains on a hive-partitioned folder of
// Parquet parts (with Spark's _SUCCESS marker) and checks that run.json
// lists every file with its digest.
func TestTrainOnPartitionedFolder(t *testing.T) {
	dir := t.TempDir()
	for _, day := range []string{"2026-11-23", "2026-11-24"} {
		part := filepath.Join(dir, "export", "dt="+day)
		os.MkdirAll(part, 0o755)
		writeParquet(t, part, "part-0.parquet", goodColumns(60))
	}
	os.WriteFile(filepath.Join(dir, "export", "_SUCCESS"), nil, 0o644)
	out := filepath.Join(dir, "out")
	r := vaejob(t, "train", "--input", filepath.Join(dir, "export"), "--out", out, "--preset", "tutorial", "--epochs", "2", "--run-id", "p")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "runs", "p", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Inputs []struct {
			Path   string
			SHA256 string
		}
		Rows     struct{ Read int }
		Features []string
		Skipped  []struct{ Name string } `json:"skipped_columns"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Inputs) != 2 || !strings.Contains(rec.Inputs[1].Path, "dt=2026-11-24") || len(rec.Inputs[0].SHA256) != 64 {
		t.Errorf("inputs %+v", rec.Inputs)
	}
	if rec.Rows.Read != 120 || strings.Join(rec.Features, ",") != "a,b" {
		t.Errorf("rows %d features %v (the partition key dt must not be a feature)", rec.Rows.Read, rec.Features)
	}
}

// TestMissingPolicies trains on a table with nulls, NaN and Inf under each
// --missing policy and checks run.json's counts; the imputing model scores
// a served row with a missing value like the row with its training median.
func TestMissingPolicies(t *testing.T) {
	dir := t.TempDir()
	cols := goodColumns(200)
	cols[0].vals[3], cols[0].vals[9] = math.NaN(), math.Inf(1)
	cols[1].null = make([]bool, 200)
	cols[1].null[5], cols[1].null[9] = true, true
	train := writeParquet(t, dir, "train.parquet", cols)
	type record struct {
		Rows    struct{ Read, Used int }
		Missing struct {
			Policy          string
			PerColumn       map[string]int     `json:"per_column"`
			RowsWithMissing int                `json:"rows_with_missing"`
			RowsDropped     int                `json:"rows_dropped"`
			Values          map[string]float32 `json:"imputation_values"`
		}
	}
	for _, tc := range []struct {
		policy  string
		code    int
		used    int
		dropped int
		imputed bool
	}{
		{"fail", 3, 0, 0, false},
		{"drop-rows", 0, 197, 3, false},
		{"impute-median", 0, 200, 0, true},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := vaejob(t, trainArgs(train, out, "--exclude", "tag", "--missing", tc.policy, "--run-id", "m")...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tc.code, r.stderr)
			}
			if tc.code != 0 {
				if !strings.Contains(r.stderr, `"a": 1 null`) && !strings.Contains(r.stderr, "2 NaN/Inf") {
					t.Errorf("the refusal does not count the missing values:\n%s", r.stderr)
				}
				return
			}
			b, _ := os.ReadFile(filepath.Join(out, "runs", "m", "run.json"))
			var rec record
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			m := rec.Missing
			if m.Policy != tc.policy || m.PerColumn["a"] != 2 || m.PerColumn["b"] != 2 || m.RowsWithMissing != 3 || m.RowsDropped != tc.dropped || rec.Rows.Used != tc.used || (m.Values != nil) != tc.imputed {
				t.Errorf("run.json rows %+v missing %+v", rec.Rows, m)
			}
			if !tc.imputed {
				return
			}
			// A served row with a missing value gets the score of the row
			// with the training median in its place, and verify agrees.
			model := filepath.Join(out, "latest", "model.onnx")
			serve := goodColumns(2)
			serve[0].vals[0] = math.NaN()
			serve[0].vals[1] = float64(m.Values["a"])
			serve[1].vals[1] = serve[1].vals[0]
			scored := filepath.Join(t.TempDir(), "s.csv")
			if r := vaejob(t, "score", "--model", model, "--input", writeParquet(t, t.TempDir(), "serve.parquet", serve), "--output", scored); r.code != 0 {
				t.Fatalf("score: %s", r.stderr)
			}
			_, rows := readCSVScores(t, scored)
			if rows[0][0] == "NaN" || rows[0][0] != rows[1][0] {
				t.Errorf("scores %v and %v: the NaN row should score like the row with the median", rows[0], rows[1])
			}
			if r := vaejob(t, "verify", "--model", model); r.code != 0 {
				t.Errorf("verify: %s%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestFilterSampleAndTimeSplit trains on the rows a --filter keeps, sampled
// by --max-rows, validated on the most recent rows by --time-column, with
// cheap footer digests, and checks what run.json says.
func TestFilterSampleAndTimeSplit(t *testing.T) {
	dir := t.TempDir()
	n := 3000
	cols := goodColumns(n)
	cols[0].vals = seq(n, func(i int) float64 { return float64(i) + math.Sin(float64(i)) }) // grows with time
	cols[2] = column{name: "status", label: func() []string {
		s := make([]string, n)
		for i := range s {
			s[i] = map[bool]string{true: "ok", false: "test"}[i%4 != 0]
		}
		return s
	}()}
	cols = append(cols, column{name: "at", vals: seq(n, func(i int) float64 { return float64(i) })})
	input := writeParquet(t, dir, "events.parquet", cols)
	out := filepath.Join(dir, "out")
	r := vaejob(t, "train", "--input", input, "--out", out, "--preset", "tutorial", "--epochs", "2", "--run-id", "f",
		"--exclude", "status", "--filter", "status = 'ok' AND at >= 100", "--max-rows", "1000", "--time-column", "at", "--digest", "size+footer")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	runDir := filepath.Join(out, "runs", "f")
	b, _ := os.ReadFile(filepath.Join(runDir, "run.json"))
	var rec struct {
		Rows     struct{ Read, Matched, Kept, Train, Validation int }
		Features []string
		Inputs   []struct {
			DigestKind string `json:"digest_kind"`
		}
		Scaler struct{ Max []float32 }
		Config struct {
			Filter     string
			MaxRows    int    `json:"max_rows"`
			TimeColumn string `json:"time_column"`
		}
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Rows.Read != 3000 || rec.Rows.Matched != 2175 || rec.Rows.Kept != 1000 || rec.Rows.Train != 800 || rec.Rows.Validation != 200 {
		t.Errorf("rows %+v", rec.Rows)
	}
	if strings.Join(rec.Features, ",") != "a,b" || rec.Inputs[0].DigestKind != "size+footer" || rec.Config.TimeColumn != "at" || rec.Config.MaxRows != 1000 {
		t.Errorf("features %v inputs %+v config %+v", rec.Features, rec.Inputs, rec.Config)
	}
	// Validation rows are the newest: each is later than every training row.
	sb, _ := os.ReadFile(filepath.Join(runDir, "validation_sample.json"))
	var sample struct{ Rows [][]float32 }
	json.Unmarshal(sb, &sample)
	for _, row := range sample.Rows {
		if row[0] < rec.Scaler.Max[0] {
			t.Fatalf("validation row with a = %v, below the training rows' maximum %v: not a time split", row[0], rec.Scaler.Max[0])
		}
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--filter", "status = "}, "--filter"},
		{[]string{"--filter", "nope = 1"}, `column "nope"`},
		{[]string{"--time-column", "nope"}, "nope"},
		{[]string{"--max-rows", "-5"}, "--max-rows"},
		{[]string{"--digest", "md5"}, "--digest"},
	} {
		args := append([]string{"train", "--input", input, "--out", filepath.Join(dir, "bad"), "--exclude", "status"}, bad.args...)
		if r := vaejob(t, args...); (r.code != 2 && r.code != 3) || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v: exit %d:\n%s", bad.args, r.code, r.stderr)
		}
	}
}

// TestFeaturePatternNeverTakesTheLabel trains with --features '*' and a
// numeric label column: the label stays out of the features.
func TestFeaturePatternNeverTakesTheLabel(t *testing.T) {
	dir := t.TempDir()
	cols := goodColumns(100)
	cols[2] = column{name: "label", vals: seq(100, func(i int) float64 { return float64(i % 2) })}
	input := writeParquet(t, dir, "l.parquet", cols)
	out := filepath.Join(dir, "out")
	r := vaejob(t, "train", "--input", input, "--out", out, "--preset", "tutorial", "--epochs", "1", "--run-id", "p", "--features", "*", "--label-column", "label")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(out, "runs", "p", "run.json"))
	var rec struct{ Features []string }
	json.Unmarshal(b, &rec)
	if strings.Join(rec.Features, ",") != "a,b" {
		t.Errorf("features %v, want a,b (never the label)", rec.Features)
	}
}

// runJSON is the part of a run's run.json the tests read.
type runJSON struct {
	RunID     string
	Status    string
	Features  []string
	Artifacts []struct{ Name, SHA256 string }
	Gate      struct {
		Decision string
		Baseline string `json:"baseline_run_id"`
		Reasons  []string
	}
}

// readRunJSON reads dir/run.json.
func readRunJSON(t *testing.T, dir string) runJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec runJSON
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}
