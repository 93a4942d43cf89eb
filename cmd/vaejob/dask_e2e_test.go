package main

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// daskRecipe is the README's recipe for scoring a partitioned dataset on
// Dask (see "Scoring at scale").
const daskRecipe = "testdata/dask/score_partitions.py"

// requireDask skips the test when Python's Dask distributed is missing,
// unless VAEJOB_REQUIRE_DASK=1 (set by .ci/test, which installs Debian's
// python3-distributed) makes it a failure.
func requireDask(t *testing.T) {
	t.Helper()
	check := exec.Command("/usr/bin/python3", "-c", "import distributed")
	check.Dir = "/"
	if check.Run() == nil {
		return
	}
	if os.Getenv("VAEJOB_REQUIRE_DASK") == "1" {
		t.Fatal("python3-distributed is not installed (run bash .ci/test, which installs it)")
	}
	t.Skip("python3-distributed is not installed; bash .ci/test installs it")
}

// partitionedDataset writes a hive-partitioned dataset of several Parquet
// files of several row groups each (1024 rows per group), with a _SUCCESS
// marker vaejob skips, and returns its folder. dt=2026-12-01-late sorts
// after dt=2026-12-01 in a walk of the folders but before its files in a
// plain sort of the paths ('-' < '/'): the recipe must follow the walk.
func partitionedDataset(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := []struct {
		dir  string
		rows int
	}{
		{"dt=2026-12-01", 2500}, {"dt=2026-12-01", 1100}, {"dt=2026-12-01-late", 1500}, {"dt=2026-12-02", 3000}, {"dt=2026-12-02", 0},
	}
	start := 0
	for k, f := range files {
		dir := filepath.Join(root, f.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cols := []column{
			{name: "a", vals: seq(f.rows, func(i int) float64 { return math.Sin(float64(start + i)) })},
			{name: "b", vals: seq(f.rows, func(i int) float64 { return math.Cos(float64(start+i)) * 3 })},
			{name: "c", vals: seq(f.rows, func(i int) float64 { return math.Sin(float64(start+i)/7) + float64((start+i)%5) })},
			{name: "id", label: func() []string {
				s := make([]string, f.rows)
				for i := range s {
					s[i] = "row" + strconv.Itoa(start+i)
				}
				return s
			}()},
		}
		writeParquet(t, dir, fmt.Sprintf("part-%d.parquet", k), cols)
		start += f.rows
	}
	if err := os.WriteFile(filepath.Join(root, "_SUCCESS"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// runRecipe runs the Dask recipe with a LocalCluster of two worker
// processes on 127.0.0.1 and returns its exit code and stderr.
func runRecipe(t *testing.T, model, input, output string, extra ...string) (int, string) {
	t.Helper()
	script, err := filepath.Abs(daskRecipe)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{script, "--vaejob", vaejobBin, "--model", model, "--input", input, "--output", output,
		"--local-workers", "2", "--"}, extra...)
	cmd := exec.Command("/usr/bin/python3", args...)
	cmd.Dir = "/" // not the checkout, whose onnx/ folder Python would take for a module
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err = cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), errb.String()
	}
	if err != nil {
		t.Fatalf("run the recipe: %v", err)
	}
	return 0, errb.String()
}

// TestDaskRecipe: the recipe scores each file of a partitioned dataset
// with `vaejob score` on a Dask LocalCluster of two worker processes, and
// its parts, read in name order, equal one `vaejob score --input FOLDER`
// run row for row: scores bit for bit, flags, tail probabilities, the
// kept column and the explanation. A corrupt partition fails the recipe
// with vaejob's exit code (3), naming the file, and no _SUCCESS.
func TestDaskRecipe(t *testing.T) {
	requireDask(t)
	data := partitionedDataset(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if r := vaejob(t, trainArgs(data, out, "--epochs", "3")...); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	model := filepath.Join(out, "latest", "model.onnx")
	scoreArgs := []string{"--keep-columns", "id", "--explain", "2"}

	single := filepath.Join(dir, "single.parquet")
	if r := vaejob(t, append([]string{"score", "--model", model, "--input", data, "--output", single}, scoreArgs...)...); r.code != 0 {
		t.Fatalf("score: exit %d\n%s", r.code, r.stderr)
	}
	parts := filepath.Join(dir, "parts")
	if code, stderr := runRecipe(t, model, data, parts, scoreArgs...); code != 0 {
		t.Fatalf("the recipe exited %d:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(parts, "_SUCCESS")); err != nil {
		t.Errorf("no _SUCCESS after a good run: %v", err)
	}
	names, err := filepath.Glob(filepath.Join(parts, "part-*.parquet"))
	if err != nil || len(names) != 5 {
		t.Fatalf("parts %v (%v), want 5", names, err)
	}
	want := readInteropParquet(t, single)
	got := map[string][]arrow.Array{}
	for _, name := range names { // Glob sorts: part-00000, part-00001, ...
		for col, arr := range readInteropParquet(t, name) {
			got[col] = append(got[col], arr)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the parts hold columns %v, the single run %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for col, w := range want {
		g, err := array.Concatenate(got[col], memory.NewGoAllocator())
		if err != nil {
			t.Fatalf("column %s: %v", col, err)
		}
		if err := sameValues(g, w); err != nil {
			t.Errorf("column %s: %v", col, err)
		}
	}

	t.Run("a corrupt partition", func(t *testing.T) {
		bad := filepath.Join(data, "dt=2026-12-02", "part-9.parquet")
		if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
			t.Fatal(err)
		}
		parts := filepath.Join(dir, "parts-bad")
		code, stderr := runRecipe(t, model, data, parts, scoreArgs...)
		if code != exitBadInput || !strings.Contains(stderr, bad) {
			t.Errorf("exit %d, want %d naming %s:\n%s", code, exitBadInput, bad, stderr)
		}
		if _, err := os.Stat(filepath.Join(parts, "_SUCCESS")); !os.IsNotExist(err) {
			t.Errorf("a failed run left _SUCCESS (%v)", err)
		}
	})
}

// sameValues compares two columns row for row: floats bit for bit, other
// values by their text.
func sameValues(got, want arrow.Array) error {
	if got.Len() != want.Len() {
		return fmt.Errorf("%d rows, want %d", got.Len(), want.Len())
	}
	g32, ok1 := got.(*array.Float32)
	w32, ok2 := want.(*array.Float32)
	for i := range want.Len() {
		switch {
		case ok1 && ok2:
			if math.Float32bits(g32.Value(i)) != math.Float32bits(w32.Value(i)) || g32.IsNull(i) != w32.IsNull(i) {
				return fmt.Errorf("row %d: %v, want %v", i, g32.Value(i), w32.Value(i))
			}
		case got.ValueStr(i) != want.ValueStr(i):
			return fmt.Errorf("row %d: %s, want %s", i, got.ValueStr(i), want.ValueStr(i))
		}
	}
	return nil
}
