// Command trainbench times vaejob's trainer against PyTorch on the same
// network, rows, epochs and batch size, in one run on the same machine.
//
//	go run ./cmd/trainbench [--epochs 20] [--runs 5] [--dims 9,21,100] [--threads 2]
//	go run ./cmd/trainbench --job FILE[:excluded+columns],... [--runs 3] [--procs 1,2]
//
// For each feature count d and each model (the tutorial preset and the
// default model) it draws 10,240 seeded rows in [0, 1) (40 minibatches of
// 256), writes them as .npy for testdata/vae_torch.py (run with Debian's
// /usr/bin/python3, which has python3-torch), and trains both --runs times.
// It prints the median time per epoch of each, rows per second, and the
// median over runs of the ratio vaejob / PyTorch.
//
// With --job it times the whole `vaejob train` process against
// testdata/job_torch.py doing the same job, and, with --procs, `vaejob
// train` alone at each GOMAXPROCS listed, in the same run, as a ratio to
// the first (how the job scales with cores); both tables give the median
// of the runs and the read stage's share (run.json's timings_seconds).
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vaejob/vaejob/cmd/internal/bench"
	"github.com/vaejob/vaejob/cmd/internal/repo"
	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline/vae"
)

const (
	rowsPerRun = 40 * 256
	python     = "/usr/bin/python3"
)

type torchResult struct {
	MedianEpochSeconds float64 `json:"median_epoch_seconds"`
	Torch              string  `json:"torch"`
}

func main() {
	epochs := flag.Int("epochs", 20, "epochs per training run")
	runs := flag.Int("runs", 5, "training runs per case; the ratio is their median")
	dims := flag.String("dims", "9,21,100", "feature counts")
	models := flag.String("models", "tutorial,default", "models: tutorial and/or default")
	threads := flag.String("threads", "1,2", "PyTorch thread counts to try; each run counts the fastest (vaejob uses GOMAXPROCS)")
	fused := flag.Bool("fused", true, "train with the fused loss operation (vae.Config.Fused)")
	jobs := flag.String("job", "", "instead: time the whole job on these Parquet inputs (comma-separated; FILE:col1+col2 excludes columns) against testdata/job_torch.py")
	procs := flag.String("procs", "", "with --job: also time vaejob train alone at each of these GOMAXPROCS (comma-separated), as ratios to the first")
	flag.Parse()
	if *jobs != "" {
		if err := wholeJobs(strings.Split(*jobs, ","), *runs, *procs); err != nil {
			log.Fatal(err)
		}
		return
	}

	dir, err := os.MkdirTemp("", "trainbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(repo.Root(), "cmd", "trainbench", "testdata", "vae_torch.py")

	fmt.Printf("%d rows × d, batch 256 (40 minibatches an epoch), %d epochs a run, %d runs; PyTorch on the fastest of %s threads; vaejob fused=%v\n\n", rowsPerRun, *epochs, *runs, *threads, *fused)
	fmt.Println("| model | d | vaejob s/epoch | PyTorch s/epoch | vaejob rows/s | PyTorch rows/s | vaejob / PyTorch (median of runs) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	var torchVersion string
	for _, model := range strings.Split(*models, ",") {
		for _, ds := range strings.Split(*dims, ",") {
			d, err := strconv.Atoi(ds)
			if err != nil {
				log.Fatalf("--dims: %v", err)
			}
			x := rows(d)
			npy := filepath.Join(dir, fmt.Sprintf("rows%d.npy", d))
			if err := writeNPY(npy, x, d); err != nil {
				log.Fatal(err)
			}
			var goTimes, torchTimes, ratios []float64
			for run := range *runs {
				g, err := goEpoch(model, x, d, *epochs, int64(run), *fused)
				if err != nil {
					log.Fatal(err)
				}
				var t torchResult
				for _, th := range strings.Split(*threads, ",") {
					n, err := strconv.Atoi(th)
					if err != nil {
						log.Fatalf("--threads: %v", err)
					}
					r, err := torchEpoch(script, npy, model, *epochs, n, run)
					if err != nil {
						log.Fatal(err)
					}
					if t.Torch == "" || r.MedianEpochSeconds < t.MedianEpochSeconds {
						t = r
					}
				}
				torchVersion = t.Torch
				goTimes = append(goTimes, g)
				torchTimes = append(torchTimes, t.MedianEpochSeconds)
				ratios = append(ratios, g/t.MedianEpochSeconds)
			}
			g, t := bench.Median(goTimes), bench.Median(torchTimes)
			fmt.Printf("| %s | %d | %.4f | %.4f | %.0f | %.0f | %.2f |\n", model, d, g, t, rowsPerRun/g, rowsPerRun/t, bench.Median(ratios))
		}
	}
	fmt.Printf("\nPyTorch %s\n", torchVersion)
}

// wholeJobs times `vaejob train` (default preset, built from this checkout)
// against the PyTorch script doing the same work, on each input: wall time
// of the whole process, median of runs.
func wholeJobs(inputs []string, runs int, procs string) error {
	dir, bin, err := bench.TempVaejob("trainbench-job-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(repo.Root(), "cmd", "trainbench", "testdata", "job_torch.py")
	fmt.Println("| input | rows × d | vaejob train (s) | of which read (s) | PyTorch script (s) | vaejob / PyTorch |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	runNo := 0
	// train runs vaejob train on one input at GOMAXPROCS procs ("" leaves
	// it unset) and returns its wall time and run.json's read time.
	train := func(path string, exclude []string, procs string) (wall, read float64, err error) {
		out := filepath.Join(dir, fmt.Sprintf("out%d", runNo))
		runNo++
		defer os.RemoveAll(out)
		args := []string{"train", "--input", path, "--out", out, "--run-id", "bench"}
		if exclude != nil {
			args = append(args, "--exclude", strings.Join(exclude, ","))
		}
		var env []string
		if procs != "" {
			env = []string{"GOMAXPROCS=" + procs}
		}
		wall, _, err = bench.WallTimeEnv(env, bin, args...)
		if err != nil {
			return 0, 0, err
		}
		b, err := os.ReadFile(filepath.Join(out, "runs", "bench", "run.json"))
		if err != nil {
			return 0, 0, err
		}
		var rec struct {
			Timings struct{ Read float64 } `json:"timings_seconds"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return 0, 0, fmt.Errorf("run.json: %w", err)
		}
		return wall, rec.Timings.Read, nil
	}
	var scaling []string
	for k, spec := range inputs {
		path, excl, _ := strings.Cut(spec, ":")
		exclude := strings.Split(excl, "+")
		if excl == "" {
			exclude = nil
		}
		t, err := parquet.ReadTable(context.Background(), path, parquet.Selection{Exclude: exclude})
		if err != nil {
			return err
		}
		npy := filepath.Join(dir, fmt.Sprintf("job%d.npy", k))
		if err := writeNPY(npy, t.Data, len(t.Names)); err != nil {
			return err
		}
		var ours, reads, theirs, ratios []float64
		for run := range runs {
			g, r, err := train(path, exclude, "")
			if err != nil {
				return err
			}
			p, _, err := bench.WallTime(python, script, "--data", npy, "--out", filepath.Join(dir, fmt.Sprintf("torch%d-%d.onnx", k, run)))
			if err != nil {
				return err
			}
			ours, reads, theirs, ratios = append(ours, g), append(reads, r), append(theirs, p), append(ratios, g/p)
		}
		fmt.Printf("| %s | %d × %d | %.2f | %.2f | %.2f | %.2f |\n", filepath.Base(path), t.Rows, len(t.Names), bench.Median(ours), bench.Median(reads), bench.Median(theirs), bench.Median(ratios))
		if procs == "" {
			continue
		}
		// The GOMAXPROCS settings take turns within each run, so that a
		// change in the machine's load falls on all of them.
		counts := strings.Split(procs, ",")
		walls, readTimes, ratio := make([][]float64, len(counts)), make([][]float64, len(counts)), make([][]float64, len(counts))
		for range runs {
			var first float64
			for i, p := range counts {
				g, r, err := train(path, exclude, p)
				if err != nil {
					return err
				}
				if i == 0 {
					first = g
				}
				walls[i], readTimes[i], ratio[i] = append(walls[i], g), append(readTimes[i], r), append(ratio[i], g/first)
			}
		}
		for i, p := range counts {
			scaling = append(scaling, fmt.Sprintf("| %s | %s | %.2f | %.2f | %.2f |", filepath.Base(path), p, bench.Median(walls[i]), bench.Median(readTimes[i]), bench.Median(ratio[i])))
		}
	}
	if procs != "" {
		fmt.Printf("\nvaejob train alone by GOMAXPROCS (median of %d runs; ratio to GOMAXPROCS=%s in the same run)\n\n", runs, strings.Split(procs, ",")[0])
		fmt.Println("| input | GOMAXPROCS | vaejob train (s) | of which read (s) | ratio |")
		fmt.Println("|---|---:|---:|---:|---:|")
		for _, l := range scaling {
			fmt.Println(l)
		}
	}
	return nil
}

// rows draws the benchmark rows for d features.
func rows(d int) []float32 {
	rng := rand.New(rand.NewSource(int64(d)))
	x := make([]float32, rowsPerRun*d)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

// goEpoch trains with vaejob's trainer and returns the median time of an
// epoch.
func goEpoch(model string, x []float32, d, epochs int, seed int64, fused bool) (float64, error) {
	cfg := vae.TutorialConfig()
	if model == "default" {
		cfg = vae.DefaultConfig()
	}
	cfg.Epochs, cfg.Steps, cfg.Fused = epochs, 0, fused
	names := make([]string, d)
	for j := range names {
		names[j] = fmt.Sprintf("f%d", j)
	}
	var times []float64
	last := time.Now()
	_, _, err := vae.Train(context.Background(), cfg, vae.Data{Names: names, Train: x}, rand.New(rand.NewSource(seed)), func(vae.EpochStats) {
		now := time.Now()
		times = append(times, now.Sub(last).Seconds())
		last = now
	})
	if err != nil {
		return 0, err
	}
	return bench.Median(times), nil
}

func torchEpoch(script, npy, model string, epochs, threads, seed int) (torchResult, error) {
	var res torchResult
	_, err := bench.RunJSON(&res, python, script, "--data", npy, "--model", model, "--epochs", strconv.Itoa(epochs),
		"--threads", strconv.Itoa(threads), "--seed", strconv.Itoa(seed))
	return res, err
}

// writeNPY writes x (n × d, row-major float32) as a NumPy .npy file.
func writeNPY(path string, x []float32, d int) error {
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", len(x)/d, d)
	// Magic, version 1.0, header length, header padded with spaces to a
	// multiple of 64 bytes and ended by a newline.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	binary.Write(&b, binary.LittleEndian, x)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
