package jobs

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestTrainSameModelOnAnyCoreCount trains in-process with GOMAXPROCS 1, 3
// and 8 on three files of uneven sizes sampled down by --max-rows (the
// reservoir across files), with the fused trainer splitting each
// minibatch into 8 shards and the epoch ending on a part-filled
// minibatch, on a table with a spike feature (whose missing values are
// imputed onto the spike), and requires the same model.onnx byte for byte.
func TestTrainSameModelOnAnyCoreCount(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	in := t.TempDir()
	rng := rand.New(rand.NewSource(16))
	const d = 8
	names := make([]string, d)
	for j := range names {
		names[j] = fmt.Sprintf("f%d", j)
	}
	for f, n := range []int{7001, 5003, 6007} {
		rows := make([][]float64, n)
		for i := range rows {
			base := rng.NormFloat64()
			rows[i] = make([]float64, d)
			for j := range rows[i] {
				rows[i][j] = base*float64(j+1) + 0.1*rng.NormFloat64()
				if rng.Intn(500) == 0 {
					rows[i][j] = math.NaN()
				}
			}
			if i%4 != 0 && !math.IsNaN(rows[i][d-1]) {
				rows[i][d-1] = 0 // a spike feature: 0 on about three rows in four
			}
		}
		writeColumns(t, filepath.Join(in, fmt.Sprintf("part-%d.parquet", f)), names, rows)
	}
	var first []byte
	for _, procs := range []int{1, 3, 8} {
		runtime.GOMAXPROCS(procs)
		out := t.TempDir()
		o := TrainOptions{Inputs: []string{in}, Out: out, RunID: "cores", Seed: 7, Missing: MissingImputeMedian, MaxRows: 15001}
		o.Steps = OptionalOf(120)
		o.Trainer = TrainerFused
		res, err := Train(context.Background(), o)
		if err != nil {
			t.Fatalf("GOMAXPROCS %d: %v", procs, err)
		}
		if rows, b := res.Record.Rows.Train, res.Record.Training.BatchSize; b != 256 || rows%b == 0 || rows <= 8*b {
			t.Fatalf("%d training rows in minibatches of %d: want several of 256 (8 shards) and a part-filled last one", rows, b)
		}
		if s := res.Record.SpikeFeatures; len(s) != 1 || s[0].Name != names[d-1] {
			t.Fatalf("spike features %+v, want %s", s, names[d-1])
		}
		model, err := os.ReadFile(filepath.Join(res.RunDir, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = model
		} else if !bytes.Equal(model, first) {
			t.Errorf("model.onnx differs between GOMAXPROCS 1 and %d", procs)
		}
	}
}
