package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// coresTable is a deterministic table big enough that every stage of a
// train run that can run on several cores does: 2 files (their digests),
// rowsPerFile rows each of d correlated features with a few nulls (the
// medians of impute-median), so that the training rows (rows × d at least
// 2^16: the scaler's and the Laplace scales' columns at once), the
// validation rows (at least 2 × 2048: two pieces of each scoring pass)
// and the latent statistics' rows (at least 2 × 2048) all split.
func coresTable(t *testing.T, dir string) {
	const files, rowsPerFile, d = 2, 12000, 8
	rng := rand.New(rand.NewSource(16))
	for f := range files {
		var cols []column
		base := make([]float64, rowsPerFile)
		for i := range base {
			base[i] = rng.NormFloat64()
		}
		for j := range d {
			c := column{name: "f" + string(rune('a'+j)), null: make([]bool, rowsPerFile)}
			c.vals = seq(rowsPerFile, func(i int) float64 {
				if rng.Intn(500) == 0 {
					c.null[i] = true
					return math.NaN()
				}
				return base[i]*float64(j+1) + math.Sin(float64(i*(j+1))) + 0.1*rng.NormFloat64()
			})
			cols = append(cols, c)
		}
		writeParquet(t, dir, "part-"+string(rune('0'+f))+".parquet", cols)
	}
}

// TestSameBytesOnAnyCoreCount trains the same run with GOMAXPROCS 1, 2, 4
// and 16 on a table that takes every parallel path, and requires the same
// model.onnx, byte for byte, and the same run.json apart from its times:
// work is split in pieces fixed by its size, never by the number of cores.
func TestSameBytesOnAnyCoreCount(t *testing.T) {
	in := t.TempDir()
	coresTable(t, in)
	var firstModel, firstRecord []byte
	for _, procs := range []string{"1", "2", "4", "16"} {
		out := t.TempDir()
		cmd := exec.Command(vaejobBin, "train", "--input", in, "--out", out, "--run-id", "cores", "--seed", "7",
			"--steps", "300", "--missing", "impute-median")
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("GOMAXPROCS=%s: %v\n%s", procs, err, b)
		}
		model, err := os.ReadFile(filepath.Join(out, "latest", "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := os.ReadFile(filepath.Join(out, "latest", "run.json"))
		if err != nil {
			t.Fatal(err)
		}
		record := withoutTimes(t, rec)
		var r struct {
			Rows struct{ Train, Validation int }
		}
		if err := json.Unmarshal(rec, &r); err != nil {
			t.Fatal(err)
		}
		if r.Rows.Train*8 < 1<<16 || r.Rows.Validation < 2*2048 {
			t.Fatalf("%d training and %d validation rows: too few to split every stage", r.Rows.Train, r.Rows.Validation)
		}
		if firstModel == nil {
			firstModel, firstRecord = model, record
			continue
		}
		if !bytes.Equal(model, firstModel) {
			t.Errorf("model.onnx differs between GOMAXPROCS=1 and %s", procs)
		}
		if !bytes.Equal(record, firstRecord) {
			t.Errorf("run.json (times aside) differs between GOMAXPROCS=1 and %s:\n%s\n%s", procs, firstRecord, record)
		}
	}
}
