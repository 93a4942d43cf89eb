// Command scorebench measures how fast `vaejob score` scores a large
// Parquet table, beside ONNX Runtime scoring the same rows with the same
// exported model in the same run, and checks that the two give the same
// scores.
//
//	go run ./cmd/scorebench [--data DIR] [--rows 1000000] [--cols 32] [--runs 3] [--limits 64MiB]
//
// It generates the table once (cmd/internal/bench: seeded normal
// float64 columns, one snappy Parquet file), trains a model on it with
// `vaejob train --max-rows 100000`, then times:
//
//   - `vaejob score` as a whole process: Parquet in, Parquet out, with
//     every core and with GOMAXPROCS=1, and an Arrow IPC stream of the
//     same rows from standard input to standard output;
//   - vaejob's scorer alone (Model.ScoreRows) on the rows in memory;
//   - ONNX Runtime 1.30 (onnxruntime-node, the package the tests install),
//     on 1 and 2 threads, scoring the same rows already in memory as
//     float32, in batches of 65,536 rows: the model alone, no file work.
//
// With --limits SIZE it also times `vaejob score` with GOMEMLIMIT=SIZE,
// with --workers 1 and with both, beside no limit, and prints each one's
// time and peak resident memory as a ratio to no limit's.
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
	"slices"
	"strconv"
	"strings"
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
	memLimit := flag.String("limits", "", "also time vaejob score with GOMEMLIMIT set to this (e.g. 64MiB) and with --workers 1, beside no limit")
	flag.Parse()
	if err := run(*data, *rows, *cols, *runs, strings.Split(*threads, ","), *memLimit); err != nil {
		log.Fatal(err)
	}
}

func run(data string, rows, cols, runs int, threads []string, memLimit string) error {
	m := bench.Manifest{Rows: rows, Cols: cols, Files: 1, Seed: 1}
	if err := bench.Ensure(data, m); err != nil {
		return err
	}
	input := filepath.Join(data, "part-0000.parquet")
	tmp, bin, err := bench.TempVaejob("scorebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	if _, _, err := bench.WallTime(bin, "train", "--input", input, "--out", out, "--max-rows", "100000", "--seed", "1"); err != nil {
		return err
	}
	model := filepath.Join(out, "latest", "model.onnx")

	var r results
	scored := filepath.Join(tmp, "scores.parquet")
	if r.process, r.peakMB, err = timeScoreCommand(nil, bin, model, input, scored, runs); err != nil {
		return err
	}
	if r.processOne, _, err = timeScoreCommand([]string{"GOMAXPROCS=1"}, bin, model, input, scored, runs); err != nil {
		return err
	}
	// Before this process reads the table: a child's peak memory counts
	// its parent's peak so far (see bench.PeakMB).
	var limits []limitRun
	if memLimit != "" {
		if limits, err = timeLimits(bin, model, input, scored, memLimit, runs); err != nil {
			return err
		}
	}
	mod, err := readModel(model)
	if err != nil {
		return err
	}
	if r.piped, err = timePiped(bin, model, input, tmp, mod.Features, runs); err != nil {
		return err
	}
	rowsFile := filepath.Join(tmp, "rows.f32")
	if r.inMemory, err = timeScorer(mod, input, rowsFile, runs); err != nil {
		return err
	}
	ortScores := filepath.Join(tmp, "ort.f32")
	if r.ort, err = timeORT(model, rowsFile, ortScores, len(mod.Features), rows, threads, runs); err != nil {
		return err
	}
	if r.maxRel, r.flagDiff, err = compareScores(scored, ortScores, mod.Threshold); err != nil {
		return err
	}
	r.print(rows, cols, runs, float64(bench.Bytes(data))/1e6, mod)
	if limits != nil {
		printLimits(limits)
	}
	return nil
}

// results are the measurements of a run; times in seconds, each the
// median of the runs.
type results struct {
	process    float64 // vaejob score, the whole process
	processOne float64 // the same with GOMAXPROCS=1
	piped      float64 // the same on an Arrow IPC stream, standard input to standard output
	peakMB     float64 // its peak resident memory, the largest of the runs
	inMemory   float64 // vaejob's scorer on the rows in memory
	ort        []ortRun
	maxRel     float64 // the largest difference of a score
	flagDiff   int     // anomaly flags that differ
}

// ortRun is ONNX Runtime's time on a number of threads.
type ortRun struct {
	threads string
	seconds float64
}

// timeScoreCommand times `vaejob score` as a whole process, Parquet in
// (input) and out (scored), with the environment variables env set: the
// median seconds of runs, and the peak resident memory of the largest run
// in MB.
func timeScoreCommand(env []string, bin, model, input, scored string, runs int) (seconds, peakMB float64, err error) {
	var times []float64
	for range runs {
		// env execs the binary: the process timed and measured is vaejob.
		args := append(slices.Clone(env), bin, "score", "--model", model, "--input", input, "--output", scored)
		secs, ps, err := bench.WallTime("env", args...)
		if err != nil {
			return 0, 0, err
		}
		times = append(times, secs)
		peakMB = max(peakMB, bench.PeakMB(ps))
	}
	return bench.Median(times), peakMB, nil
}

// timePiped writes the table's features as an Arrow IPC stream (with
// vaejob score, keeping them beside the scores) and times `vaejob score
// --input - --output -` on it, an Arrow stream in and out through the
// shell's redirections: the median seconds of runs.
func timePiped(bin, model, input, tmp string, features []string, runs int) (float64, error) {
	stream := filepath.Join(tmp, "table.arrows")
	if _, _, err := bench.WallTime(bin, "score", "--model", model, "--input", input, "--output", stream,
		"--output-format", "arrow", "--keep-columns", strings.Join(features, ",")); err != nil {
		return 0, err
	}
	var times []float64
	for range runs {
		secs, _, err := bench.WallTime("sh", "-c", `exec "$0" score --model "$1" --input - --output - < "$2" > "$3"`,
			bin, model, stream, filepath.Join(tmp, "scores.arrows"))
		if err != nil {
			return 0, err
		}
		times = append(times, secs)
	}
	return bench.Median(times), os.Remove(stream)
}

// readModel reads the model file vaejob train wrote.
func readModel(path string) (*pipeline.Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mod, _, err := onnx.Decode(b)
	return mod, err
}

// timeScorer reads the model's features from input, writes them to
// rowsFile as raw float32 for ONNX Runtime, and times vaejob's scorer
// alone on the rows in memory, as ONNX Runtime is timed: the median
// seconds of runs.
func timeScorer(mod *pipeline.Model, input, rowsFile string, runs int) (float64, error) {
	t, err := parquet.ReadTable(context.Background(), input, parquet.Selection{Features: mod.Features})
	if err != nil {
		return 0, err
	}
	if err := writeFloat32s(rowsFile, t.Data); err != nil {
		return 0, err
	}
	var times []float64
	scores := make([]float32, t.Rows)
	for range runs {
		start := time.Now()
		mod.ScoreRowsTo(scores, t.Data)
		times = append(times, time.Since(start).Seconds())
	}
	return bench.Median(times), nil
}

// timeORT times ONNX Runtime scoring the rows of rowsFile (rows × d) with
// model on each number of threads, the median seconds of runs each; the
// scores of the last run are left in ortScores.
func timeORT(model, rowsFile, ortScores string, d, rows int, threads []string, runs int) ([]ortRun, error) {
	script := filepath.Join(repo.Root(), "cmd", "scorebench", "testdata", "ort_score.js")
	var out []ortRun
	for _, th := range threads {
		var times []float64
		for range runs {
			res, err := ortScore(script, model, rowsFile, d, th, ortScores)
			if err != nil {
				return nil, err
			}
			if res.Rows != rows {
				return nil, fmt.Errorf("ONNX Runtime scored %d rows, want %d", res.Rows, rows)
			}
			times = append(times, res.ScoreSeconds)
		}
		out = append(out, ortRun{th, bench.Median(times)})
	}
	return out, nil
}

// compareScores compares every score of vaejob's output file (scored)
// with ONNX Runtime's (ortScores): the largest difference (relative, or
// absolute below 1) and how many anomaly flags at threshold differ.
func compareScores(scored, ortScores string, threshold float32) (maxRel float64, flagDiff int, err error) {
	got, err := parquet.ReadTable(context.Background(), scored, parquet.Selection{Features: []string{parquet.ScoreColumn}, AllowMissing: true})
	if err != nil {
		return 0, 0, err
	}
	want, err := readFloat32s(ortScores)
	if err != nil {
		return 0, 0, err
	}
	if len(got.Data) != len(want) {
		return 0, 0, fmt.Errorf("vaejob wrote %d scores, ONNX Runtime gave %d", len(got.Data), len(want))
	}
	for i, g := range got.Data {
		w := want[i]
		maxRel = max(maxRel, math.Abs(float64(g)-float64(w))/max(1, math.Abs(float64(w))))
		if pipeline.IsAnomaly(g, threshold) != pipeline.IsAnomaly(w, threshold) {
			flagDiff++
		}
	}
	return maxRel, flagDiff, nil
}

// print writes the results on a table of rows × cols (dataMB) scored by
// mod as a Markdown table, each time beside ONNX Runtime's on the most
// threads asked for (the baseline).
func (r results) print(rows, cols, runs int, dataMB float64, mod *pipeline.Model) {
	base := r.ort[len(r.ort)-1]
	fmt.Printf("%d rows × %d float64 columns, one snappy Parquet file (%.0f MB); model d-%s; median of %d runs\n\n",
		rows, cols, dataMB, architecture(mod), runs)
	fmt.Printf("| scorer | what is timed | seconds | rows/s | time vs ONNX Runtime, %s thread(s) |\n", base.threads)
	fmt.Println("|---|---|---:|---:|---:|")
	fmt.Printf("| vaejob score | the whole process: read Parquet, score, write Parquet | %.3f | %.0f | %.2f |\n", r.process, float64(rows)/r.process, r.process/base.seconds)
	fmt.Printf("| vaejob score, GOMAXPROCS=1 | the same | %.3f | %.0f | %.2f |\n", r.processOne, float64(rows)/r.processOne, r.processOne/base.seconds)
	fmt.Printf("| vaejob score --input - --output - | the whole process: an Arrow IPC stream in and out | %.3f | %.0f | %.2f |\n", r.piped, float64(rows)/r.piped, r.piped/base.seconds)
	fmt.Printf("| vaejob scorer (Model.ScoreRows), 2 goroutines | the rows in memory | %.3f | %.0f | %.2f |\n", r.inMemory, float64(rows)/r.inMemory, r.inMemory/base.seconds)
	for _, o := range r.ort {
		fmt.Printf("| ONNX Runtime, %s thread(s) | session.run on the rows in memory, batches of 65,536 | %.3f | %.0f | %.2f |\n", o.threads, o.seconds, float64(rows)/o.seconds, o.seconds/base.seconds)
	}
	fmt.Printf("\nvaejob score's peak resident memory: %.0f MB\n", r.peakMB)
	fmt.Printf("scores: largest difference %.2g (relative, or absolute below 1); anomaly flags differing: %d of %d\n", r.maxRel, r.flagDiff, rows)
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
