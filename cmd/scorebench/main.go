// Command scorebench measures how fast `vaejob score` scores a large
// Parquet table, beside ONNX Runtime scoring the same rows with the same
// exported model in the same run, and checks that the two give the same
// scores.
//
//	go run ./cmd/scorebench [--data DIR] [--rows 1000000] [--cols 32] [--runs 3]
//
// It generates the table once (cmd/internal/benchdata: seeded normal
// float64 columns, one snappy Parquet file), trains a model on it with
// `vaejob train --max-rows 100000`, then times:
//
//   - `vaejob score` as a whole process: Parquet in, Parquet out;
//   - vaejob's scorer alone (Model.ScoreRows) on the rows in memory;
//   - ONNX Runtime 1.30 (onnxruntime-node, the package the tests install),
//     on 1 and 2 threads, scoring the same rows already in memory as
//     float32, in batches of 65,536 rows: the model alone, no file work.
//
// Each time is the median of --runs runs. The agreement check compares
// every score of vaejob's output file with ONNX Runtime's.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vaejob/vaejob/cmd/internal/bench"
	"github.com/vaejob/vaejob/cmd/internal/repo"
	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

func main() {
	data := flag.String("data", filepath.Join(os.TempDir(), "vaejob-scorebench"), "dataset folder (generated when missing)")
	rows := flag.Int("rows", 1_000_000, "rows in the table")
	cols := flag.Int("cols", 32, "float64 columns")
	runs := flag.Int("runs", 3, "runs per measurement; the median counts")
	threads := flag.String("threads", "1,2", "ONNX Runtime intra-op thread counts")
	flag.Parse()
	if err := run(*data, *rows, *cols, *runs, strings.Split(*threads, ",")); err != nil {
		log.Fatal(err)
	}
}

func run(data string, rows, cols, runs int, threads []string) error {
	m := bench.Manifest{Rows: rows, Cols: cols, Files: 1, Seed: 1}
	if err := bench.Ensure(data, m); err != nil {
		return err
	}
	input := filepath.Join(data, "part-0000.parquet")
	tmp, err := os.MkdirTemp("", "scorebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bin, err := bench.BuildVaejob(tmp)
	if err != nil {
		return err
	}
	out := filepath.Join(tmp, "out")
	if _, _, err := bench.WallTime(bin, "train", "--input", input, "--out", out, "--max-rows", "100000", "--seed", "1"); err != nil {
		return err
	}
	model := filepath.Join(out, "latest", "model.onnx")

	// vaejob score, the whole process.
	scored := filepath.Join(tmp, "scores.parquet")
	var goTimes []float64
	var peakRSS float64 // MB, the largest of the runs
	for range runs {
		secs, ps, err := bench.WallTime(bin, "score", "--model", model, "--input", input, "--output", scored)
		if err != nil {
			return err
		}
		goTimes = append(goTimes, secs)
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			peakRSS = max(peakRSS, float64(ru.Maxrss)/1024) // kilobytes on Linux
		}
	}

	// The same rows for ONNX Runtime, as raw float32.
	mb, err := os.ReadFile(model)
	if err != nil {
		return err
	}
	mod, _, err := onnx.Decode(mb)
	if err != nil {
		return err
	}
	t, err := parquet.ReadTable(context.Background(), input, parquet.Selection{Features: mod.Features})
	if err != nil {
		return err
	}
	rowsFile := filepath.Join(tmp, "rows.f32")
	if err := writeFloat32s(rowsFile, t.Data); err != nil {
		return err
	}
	// vaejob's scorer alone, on the rows in memory, as ONNX Runtime below.
	var memTimes []float64
	inMemory := make([]float32, rows)
	for range runs {
		start := time.Now()
		mod.ScoreRowsTo(inMemory, t.Data)
		memTimes = append(memTimes, time.Since(start).Seconds())
	}
	t.Data = nil
	script := filepath.Join(repo.Root(), "cmd", "scorebench", "testdata", "ort_score.js")
	ortScores := filepath.Join(tmp, "ort.f32")
	type ortRun struct {
		threads string
		seconds float64
	}
	var ortRuns []ortRun
	for _, th := range threads {
		var times []float64
		for range runs {
			res, err := ortScore(script, model, rowsFile, len(mod.Features), th, ortScores)
			if err != nil {
				return err
			}
			if res.Rows != rows {
				return fmt.Errorf("ONNX Runtime scored %d rows, want %d", res.Rows, rows)
			}
			times = append(times, res.ScoreSeconds)
		}
		ortRuns = append(ortRuns, ortRun{th, bench.Median(times)})
	}

	// Agreement: every score of vaejob's file against ONNX Runtime's.
	got, err := parquet.ReadTable(context.Background(), scored, parquet.Selection{Features: []string{parquet.ScoreColumn}, AllowMissing: true})
	if err != nil {
		return err
	}
	want, err := readFloat32s(ortScores)
	if err != nil {
		return err
	}
	if len(got.Data) != len(want) {
		return fmt.Errorf("vaejob wrote %d scores, ONNX Runtime gave %d", len(got.Data), len(want))
	}
	var maxRel float64
	flagDiff := 0
	for i, g := range got.Data {
		w := want[i]
		maxRel = max(maxRel, math.Abs(float64(g)-float64(w))/max(1, math.Abs(float64(w))))
		if pipeline.IsAnomaly(g, mod.Threshold) != pipeline.IsAnomaly(w, mod.Threshold) {
			flagDiff++
		}
	}

	g := bench.Median(goTimes)
	mt := bench.Median(memTimes)
	base := ortRuns[len(ortRuns)-1] // the baseline: ONNX Runtime on the most threads asked for
	fmt.Printf("%d rows × %d float64 columns, one snappy Parquet file (%.0f MB); model d-%s; median of %d runs\n\n",
		rows, cols, float64(bench.Bytes(data))/1e6, architecture(mod), runs)
	fmt.Printf("| scorer | what is timed | seconds | rows/s | time vs ONNX Runtime, %s thread(s) |\n", base.threads)
	fmt.Println("|---|---|---:|---:|---:|")
	fmt.Printf("| vaejob score | the whole process: read Parquet, score, write Parquet | %.3f | %.0f | %.2f |\n", g, float64(rows)/g, g/base.seconds)
	fmt.Printf("| vaejob scorer (Model.ScoreRows), 2 goroutines | the rows in memory | %.3f | %.0f | %.2f |\n", mt, float64(rows)/mt, mt/base.seconds)
	for _, r := range ortRuns {
		fmt.Printf("| ONNX Runtime, %s thread(s) | session.run on the rows in memory, batches of 65,536 | %.3f | %.0f | %.2f |\n", r.threads, r.seconds, float64(rows)/r.seconds, r.seconds/base.seconds)
	}
	fmt.Printf("\nvaejob score's peak resident memory: %.0f MB\n", peakRSS)
	fmt.Printf("scores: largest difference %.2g (relative, or absolute below 1); anomaly flags differing: %d of %d\n", maxRel, flagDiff, rows)
	return nil
}

// ortResult is what ort_score.js prints.
type ortResult struct {
	Rows         int     `json:"rows"`
	LoadSeconds  float64 `json:"load_seconds"`
	ScoreSeconds float64 `json:"score_seconds"`
}

func ortScore(script, model, rows string, d int, threads, out string) (ortResult, error) {
	var res ortResult
	_, err := bench.RunJSON(&res, "node", script, model, rows, strconv.Itoa(d), threads, out)
	return res, err
}

func writeFloat32s(path string, v []float32) error {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return os.WriteFile(path, b, 0o644)
}

func readFloat32s(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// architecture describes the model's layer widths, e.g. "64-32-8-32-64-d".
func architecture(m *pipeline.Model) string {
	var w []string
	for _, l := range m.Encoder {
		w = append(w, strconv.Itoa(l.Out))
	}
	w = append(w, strconv.Itoa(m.Mu.Out))
	for _, l := range m.Decoder[:len(m.Decoder)-1] {
		w = append(w, strconv.Itoa(l.Out))
	}
	return strings.Join(append(w, "d"), "-")
}
