// Command adbench trains and scores vaejob on every dataset and seed of an
// ADBench-style folder (DATASET/seedK/{train,test}.parquet with a `label`
// column) and prints test ROC-AUC and PR-AUC per dataset beside the
// reference columns of the datasets' README, with the means of the two
// selection halves (see halves) and of all tables.
//
// Each training run is the real job, as `vaejob train --input train.parquet
// --exclude label --seed K` would run it, its own validation split and
// threshold included (columns constant on the training rows stay features,
// as --constant-columns keep has it); the test file is then scored with the
// trained model.
//
// With --baseline PRESET every split is also trained with that preset, as
// it is (none of the model flags apply to it), with the same job seed, and
// the report adds its ROC-AUC, the per-table floor max(centroid − 0.02,
// baseline − 0.05), the tables below it, and the ratios of training time
// and of ONNX scoring time per row against the baseline, measured in the
// same run.
//
// With --study it also computes candidate anomaly terms beside the model's
// score (see terms) and prints how combinations of them would rank the test
// rows (see printStudy): the measurement behind issue 17's choice of a
// default, made before any term is built into the graph.
//
//	go run ./cmd/adbench --data ../shared/datasets/adbench-dev --preset tutorial
//	go run ./cmd/adbench --beta 1 --baseline default --repeats 3
//	go run ./cmd/adbench --repeats 3 --study
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// split is one training run: a dataset's split seedK trained with job seed
// jobSeed, measured with the model under test and, with --baseline, with
// the baseline preset.
type split struct {
	dataset         string
	seed            int   // the split: DATASET/seedK
	jobSeed         int64 // vaejob train --seed
	model, baseline measurement
	hasBaseline     bool
	study           studyRun // with --study, for the model
}

// usable reports whether a split counts: the model, and the baseline when
// there is one, trained and scored. The main table and the study average
// the same usable splits.
func (s split) usable() bool {
	return s.model.err == nil && (!s.hasBaseline || s.baseline.err == nil)
}

// studyRun is what --study keeps of one run: every term's training and test
// scores (see terms) and the test labels, or why they could not be had. A
// study error leaves the run in the main table and out of the study.
type studyRun struct {
	terms  [][2][]float64
	labels []bool
	err    error
}

// measurement is what one trained model scored on a split's test file and
// what it cost.
type measurement struct {
	figures
	active int // active latent units
	err    error
}

// figures are a model's test metrics and costs: one run's, or a mean.
type figures struct {
	roc, pr      float64
	trainSeconds float64 // jobs.Train, wall time
	scoreNsRow   float64 // the exported ONNX graph on the test rows, per row
}

func main() {
	data := flag.String("data", "../shared/datasets/adbench-dev", "folder of DATASET/seedK/{train,test}.parquet")
	var opts jobs.TrainOptions
	flag.StringVar(&opts.Preset, "preset", "default", "model preset")
	flag.Var(&opts.Epochs, "epochs", "epochs (default: the preset's)")
	flag.Var(&opts.LatentDim, "latent-dim", "latent dimension (default: the preset's)")
	flag.Var(&opts.LearningRate, "learning-rate", "learning rate (default: the preset's)")
	flag.StringVar(&opts.Scaler, "scaler", "", "minmax or robust (default: the preset's)")
	flag.StringVar(&opts.Likelihood, "likelihood", "", "bernoulli, gaussian or laplace (default: the preset's)")
	flag.StringVar(&opts.ScoreKind, "score", "", "score kind (default: the preset's)")
	flag.Var(&opts.Steps, "steps", "optimiser step budget (default: the preset's)")
	flag.Var(&opts.Beta, "beta", "KL weight (default: the preset's)")
	flag.Var(&opts.Trim, "trim", "trimmed fraction of each minibatch (default: the preset's)")
	flag.Var(&opts.TrimFrom, "trim-from", "first optimiser step that trims (default: the preset's)")
	flag.StringVar(&opts.ConstantColumns, "constant-columns", "keep", "features constant on the training rows: keep, drop or fail, as vaejob train's flag")
	flag.StringVar(&opts.Trainer, "trainer", "", "graph or fused (default: the preset's)")
	flag.StringVar(&opts.Spikes, "spikes", "", "on or off: spike features, as vaejob train's flag (default: the preset's)")
	flag.Var(&opts.WarmupSteps, "warmup-steps", "steps over which beta rises from 0 (default: the preset's)")
	baseline := flag.String("baseline", "", "also train every split with this preset, as it is, and compare (floors, cost ratios; the costs are timed beside the other workers' runs: --workers 1 for quiet ones)")
	study := flag.Bool("study", false, "also compute candidate terms beside the model's score and print how combinations of them rank the test rows")
	combinationList := flag.String("study-combinations", defaultCombinations, "with --study: comma-separated combinations of terms, each TERM or W*TERM joined by +")
	only := flag.String("datasets", "", "comma-separated dataset names (default: all)")
	workers := flag.Int("workers", 2, "runs in parallel")
	repeats := flag.Int("repeats", 1, "training runs per split, with job seeds K, K+1000, K+2000, ... (more repeats average out the seed noise of one run)")
	flag.Parse()
	os.Exit(run(bench{
		data: *data, only: *only, opts: opts, baseline: *baseline, study: *study,
		combinations: *combinationList, workers: *workers, repeats: *repeats,
	}))
}

// bench is a benchmark's settings, bound from the flags.
type bench struct {
	data, only   string
	opts         jobs.TrainOptions
	baseline     string
	study        bool
	combinations string
	workers      int
	repeats      int
}

// run runs the benchmark and returns the exit code: 0, 1 when a run failed,
// 2 for bad flags or data folder, 130 when interrupted (SIGINT or SIGTERM:
// the runs in flight stop, and the temporary folder is removed).
func run(b bench) int {
	combos, err := parseCombinations(b.combinations)
	if err != nil {
		log.Printf("--study-combinations: %v", err)
		return 2
	}
	for _, f := range []struct{ flag, preset string }{{"--preset", b.opts.Preset}, {"--baseline", b.baseline}} {
		if f.preset != "" && !slices.Contains(jobs.Presets, strings.ToLower(f.preset)) {
			log.Printf("%s %q: unknown preset; known presets: %s", f.flag, f.preset, strings.Join(jobs.Presets, ", "))
			return 2
		}
	}
	tasks, err := listSplits(b)
	if err != nil {
		log.Print(err)
		return 2
	}
	baselineOpts := jobs.TrainOptions{Preset: b.baseline, ConstantColumns: b.opts.ConstantColumns}
	if len(tasks) > 0 {
		// Settings every run would refuse are refused once, before any.
		if err := splitOptions(b.data, os.TempDir(), b.opts, tasks[0]).Check(); err != nil {
			log.Print(err)
			return 2
		}
		if b.baseline != "" {
			if err := splitOptions(b.data, os.TempDir(), baselineOpts, tasks[0]).Check(); err != nil {
				log.Printf("--baseline: %v", err)
				return 2
			}
		}
	}
	tmp, err := os.MkdirTemp("", "adbench-")
	if err != nil {
		log.Print(err)
		return 1
	}
	defer os.RemoveAll(tmp)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < b.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := &tasks[i]
				t.model, t.study = measure(ctx, b.data, filepath.Join(tmp, "model"), b.opts, *t, b.study)
				if t.model.err != nil {
					log.Printf("%s seed%d: %v", t.dataset, t.seed, t.model.err)
				} else if t.study.err != nil {
					log.Printf("%s seed%d: study left out: %v", t.dataset, t.seed, t.study.err)
				}
				if t.hasBaseline {
					t.baseline, _ = measure(ctx, b.data, filepath.Join(tmp, "baseline"), baselineOpts, *t, false)
					if t.baseline.err != nil {
						log.Printf("%s seed%d, baseline %s: %v", t.dataset, t.seed, b.baseline, t.baseline.err)
					}
				}
			}
		}()
	}
feed:
	for i := range tasks {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		log.Print("interrupted: no report")
		return 130
	}
	rep := summarize(tasks)
	rep.print(os.Stdout, b.opts.Preset, b.baseline)
	if b.study {
		if err := printStudy(os.Stdout, tasks, combos); err != nil {
			log.Print(err)
			return 1
		}
	}
	fmt.Printf("\n%d runs, %d failed, %s wall time\n", len(tasks), rep.failed, time.Since(start).Round(time.Second))
	if rep.failed > 0 {
		return 1
	}
	return 0
}

// listSplits lists the training runs: every DATASET/seedK folder of the
// data folder (those --datasets names, each of which must be there),
// --repeats times with job seeds K, K+1000, ... A dataset that is a
// symbolic link is not followed: it is skipped, and said so.
func listSplits(b bench) ([]split, error) {
	dirs, err := os.ReadDir(b.data)
	if err != nil {
		return nil, err
	}
	var only []string
	if b.only != "" {
		only = strings.Split(b.only, ",")
		for _, name := range only {
			if !slices.ContainsFunc(dirs, func(d os.DirEntry) bool { return d.Name() == name && d.IsDir() }) {
				return nil, fmt.Errorf("--datasets: no dataset folder %q in %s (names are case-sensitive)", name, b.data)
			}
		}
	}
	var tasks []split
	for _, d := range dirs {
		if d.Type()&os.ModeSymlink != 0 {
			log.Printf("skipping %s: a symbolic link, not followed (copy the dataset into %s)", filepath.Join(b.data, d.Name()), b.data)
			continue
		}
		if !d.IsDir() || (only != nil && !slices.Contains(only, d.Name())) {
			continue
		}
		seeds, err := filepath.Glob(filepath.Join(b.data, d.Name(), "seed*"))
		if err != nil {
			return nil, err
		}
		for _, s := range seeds {
			var k int
			if _, err := fmt.Sscanf(filepath.Base(s), "seed%d", &k); err != nil || filepath.Base(s) != fmt.Sprintf("seed%d", k) {
				log.Printf("skipping %s: not a split folder seedK", s)
				continue
			}
			for rep := 0; rep < b.repeats; rep++ {
				tasks = append(tasks, split{dataset: d.Name(), seed: k, jobSeed: int64(k + 1000*rep), hasBaseline: b.baseline != ""})
			}
		}
	}
	return tasks, nil
}

// splitDir is a split's folder, DATA/DATASET/seedK.
func splitDir(data string, s split) string {
	return filepath.Join(data, s.dataset, fmt.Sprintf("seed%d", s.seed))
}

// splitOptions are opts for training on split s, as `vaejob train --input
// train.parquet --exclude label --seed JOBSEED --out TMP/...` would.
func splitOptions(data, tmp string, opts jobs.TrainOptions, s split) jobs.TrainOptions {
	opts.Inputs = []string{filepath.Join(splitDir(data, s), "train.parquet")}
	opts.Out = filepath.Join(tmp, fmt.Sprintf("%s-%d-%d", s.dataset, s.seed, s.jobSeed))
	opts.Exclude = []string{"label"}
	opts.Seed = s.jobSeed
	opts.RunID = "bench"
	return opts
}

// measure trains on one split with opts, as vaejob train would, scores its
// test file and times the exported ONNX graph on it. With study it also
// computes the study's terms.
func measure(ctx context.Context, data, tmp string, opts jobs.TrainOptions, s split, study bool) (measurement, studyRun) {
	dir := splitDir(data, s)
	opts = splitOptions(data, tmp, opts, s)
	var m measurement
	fail := func(err error) (measurement, studyRun) {
		m.err = err
		return m, studyRun{}
	}
	t0 := time.Now()
	res, err := jobs.Train(ctx, opts)
	if err != nil {
		return fail(err)
	}
	m.trainSeconds = time.Since(t0).Seconds()
	m.active = res.Record.Latent.Active
	test, err := parquet.ReadTable(ctx, filepath.Join(dir, "test.parquet"), parquet.Selection{Features: res.Model.Features, Keep: []string{"label"}})
	if err != nil {
		return fail(err)
	}
	labels, err := test.KeptFloat64("label")
	if err != nil {
		return fail(err)
	}
	isAnomaly := make([]bool, len(labels))
	for i, l := range labels {
		isAnomaly[i] = l == 1
	}
	scores := res.Model.ScoreRows(test.Data)
	if m.roc, err = pipeline.ROCAUC(scores, isAnomaly); err != nil {
		return fail(err)
	}
	if m.pr, err = pipeline.AveragePrecision(scores, isAnomaly); err != nil {
		return fail(err)
	}
	// A graph that does not decode or run is a broken export: the run fails.
	if m.scoreNsRow, err = timeGraph(filepath.Join(res.RunDir, jobs.ModelFile), test.Data, len(labels)); err != nil {
		return fail(err)
	}
	if !study {
		return m, studyRun{}
	}
	st := studyRun{labels: isAnomaly}
	train, err := parquet.ReadTable(ctx, opts.Inputs[0], parquet.Selection{Features: res.Model.Features})
	if err != nil {
		st.err = err
		return m, st
	}
	st.terms, st.err = termScores(res.Model, train.Data, test.Data)
	return m, st
}

// timeGraph decodes an exported model and returns the nanoseconds per row
// that its graph takes to score x (n rows), evaluated as a whole at least
// three times and for at least 50 ms, the fastest pass counted.
func timeGraph(path string, x []float32, n int) (float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	g, err := onnx.DecodeGraph(data)
	if err != nil {
		return 0, fmt.Errorf("decode %s: %w", path, err)
	}
	best := time.Duration(1<<63 - 1)
	var total time.Duration
	for pass := 0; pass < 3 || total < 50*time.Millisecond; pass++ {
		t0 := time.Now()
		if _, _, err := g.Run(x, n); err != nil {
			return 0, err
		}
		d := time.Since(t0)
		best, total = min(best, d), total+d
	}
	return float64(best.Nanoseconds()) / float64(n), nil
}
