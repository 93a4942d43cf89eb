// Command adbench trains and scores vaejob on every dataset and seed of an
// ADBench-style folder (DATASET/seedK/{train,test}.parquet with a `label`
// column) and prints test ROC-AUC and PR-AUC per dataset beside the
// reference columns of the datasets' README.
//
// Each training run is the real job, as `vaejob train --input train.parquet
// --exclude label --seed K` would run it, its own validation split and
// threshold included (columns constant on the training rows stay features,
// as --constant-columns keep has it); the test file is then scored with the
// trained model.
//
//	go run ./cmd/adbench --data ../shared/datasets/adbench-dev --preset tutorial
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

type result struct {
	dataset string
	seed    int   // the split: DATASET/seedK
	jobSeed int64 // vaejob train --seed
	roc, pr float64
	active  int
	seconds float64
	err     error
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
	flag.Var(&opts.WarmupSteps, "warmup-steps", "steps over which beta rises from 0 (default: the preset's)")
	only := flag.String("datasets", "", "comma-separated dataset names (default: all)")
	workers := flag.Int("workers", 2, "runs in parallel")
	repeats := flag.Int("repeats", 1, "training runs per split, with job seeds K, K+1000, K+2000, ... (more repeats average out the seed noise of one run)")
	flag.Parse()

	var tasks []result
	dirs, err := os.ReadDir(*data)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || (*only != "" && !slices.Contains(strings.Split(*only, ","), d.Name())) {
			continue
		}
		seeds, _ := filepath.Glob(filepath.Join(*data, d.Name(), "seed*"))
		for _, s := range seeds {
			var k int
			fmt.Sscanf(filepath.Base(s), "seed%d", &k)
			for rep := 0; rep < *repeats; rep++ {
				tasks = append(tasks, result{dataset: d.Name(), seed: k, jobSeed: int64(k + 1000*rep)})
			}
		}
	}
	tmp, err := os.MkdirTemp("", "adbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				tasks[i] = run(*data, tmp, opts, tasks[i])
				r := tasks[i]
				if r.err != nil {
					log.Printf("%s seed%d: %v", r.dataset, r.seed, r.err)
				}
			}
		}()
	}
	for i := range tasks {
		next <- i
	}
	close(next)
	wg.Wait()
	report(tasks, opts.Preset, time.Since(start))
}

// run trains on one split with the benchmark's options, as vaejob train
// would, and scores its test file.
func run(data, tmp string, opts jobs.TrainOptions, r result) result {
	dir := filepath.Join(data, r.dataset, fmt.Sprintf("seed%d", r.seed))
	t0 := time.Now()
	opts.Inputs = []string{filepath.Join(dir, "train.parquet")}
	opts.Out = filepath.Join(tmp, fmt.Sprintf("%s-%d-%d", r.dataset, r.seed, r.jobSeed))
	opts.Exclude = []string{"label"}
	opts.Seed = r.jobSeed
	opts.RunID = "bench"
	res, err := jobs.Train(context.Background(), opts)
	if err != nil {
		r.err = err
		return r
	}
	test, err := parquet.ReadTable(context.Background(), filepath.Join(dir, "test.parquet"), parquet.Selection{Features: res.Model.Features, Keep: []string{"label"}})
	if err != nil {
		r.err = err
		return r
	}
	labels, err := test.KeptFloat64("label")
	if err != nil {
		r.err = err
		return r
	}
	isAnomaly := make([]bool, len(labels))
	for i, l := range labels {
		isAnomaly[i] = l == 1
	}
	scores := res.Model.ScoreRows(test.Data)
	if r.roc, err = pipeline.ROCAUC(scores, isAnomaly); err != nil {
		r.err = err
	}
	if r.pr, err = pipeline.AveragePrecision(scores, isAnomaly); err != nil {
		r.err = err
	}
	r.active = res.Record.Latent.Active
	r.seconds = time.Since(t0).Seconds()
	return r
}

// span prints the range of a list of counts: "3" or "2–5".
func span(v []int) string {
	lo, hi := slices.Min(v), slices.Max(v)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// reference holds the seed-vae, iforest and centroid columns of the datasets
// README (ROC-AUC, then PR-AUC), for side-by-side printing.
var reference = map[string][6]float64{
	"ALOI":             {0.553, 0.560, 0.552, 0.050, 0.037, 0.050},
	"annthyroid":       {0.562, 0.827, 0.561, 0.103, 0.278, 0.102},
	"breastw":          {0.855, 0.988, 0.956, 0.870, 0.970, 0.960},
	"cardio":           {0.941, 0.932, 0.948, 0.639, 0.594, 0.636},
	"Cardiotocography": {0.829, 0.681, 0.806, 0.601, 0.447, 0.569},
	"fault":            {0.459, 0.554, 0.461, 0.374, 0.404, 0.378},
	"glass":            {0.514, 0.813, 0.576, 0.114, 0.154, 0.121},
	"Hepatitis":        {0.727, 0.703, 0.728, 0.275, 0.251, 0.274},
	"http":             {0.994, 1.000, 0.994, 0.413, 0.899, 0.412},
	"landsat":          {0.375, 0.505, 0.375, 0.166, 0.206, 0.166},
	"mnist":            {0.849, 0.803, 0.844, 0.358, 0.272, 0.348},
	"optdigits":        {0.514, 0.716, 0.542, 0.027, 0.050, 0.029},
	"pendigits":        {0.934, 0.957, 0.934, 0.189, 0.332, 0.191},
	"Pima":             {0.549, 0.654, 0.647, 0.413, 0.507, 0.469},
	"satellite":        {0.604, 0.698, 0.605, 0.592, 0.661, 0.593},
	"shuttle":          {0.982, 0.997, 0.981, 0.893, 0.970, 0.891},
	"SpamBase":         {0.427, 0.639, 0.554, 0.359, 0.494, 0.414},
	"thyroid":          {0.891, 0.985, 0.874, 0.214, 0.707, 0.194},
	"Waveform":         {0.643, 0.696, 0.649, 0.050, 0.060, 0.051},
	"WBC":              {0.997, 0.995, 0.999, 0.966, 0.949, 0.981},
}

func report(tasks []result, preset string, elapsed time.Duration) {
	byDataset := map[string][]result{}
	for _, r := range tasks {
		byDataset[r.dataset] = append(byDataset[r.dataset], r)
	}
	names := make([]string, 0, len(byDataset))
	for n := range byDataset {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })

	fmt.Printf("preset %s: test ROC-AUC and PR-AUC, mean over seeds\n\n", preset)
	fmt.Println("| dataset | runs | ROC | seed-vae ROC | Δ | iforest ROC | centroid ROC | PR | seed-vae PR | iforest PR | centroid PR | active units | s/run |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var sum [8]float64
	var counted int
	failed := 0
	for _, n := range names {
		var roc, pr, secs float64
		active := []int{}
		ok := 0
		for _, r := range byDataset[n] {
			if r.err != nil {
				failed++
				continue
			}
			roc += r.roc
			pr += r.pr
			secs += r.seconds
			active = append(active, r.active)
			ok++
		}
		if ok == 0 {
			fmt.Printf("| %s | 0 | failed |\n", n)
			continue
		}
		roc, pr, secs = roc/float64(ok), pr/float64(ok), secs/float64(ok)
		ref := reference[n]
		fmt.Printf("| %s | %d | %.3f | %.3f | %+.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s | %.1f |\n",
			n, ok, roc, ref[0], roc-ref[0], ref[1], ref[2], pr, ref[3], ref[4], ref[5], span(active), secs)
		vals := [8]float64{roc, ref[0], ref[1], ref[2], pr, ref[3], ref[4], ref[5]}
		for i := range sum {
			sum[i] += vals[i]
		}
		counted++
	}
	if counted > 0 {
		c := float64(counted)
		fmt.Printf("| **mean** | | **%.3f** | %.3f | %+.3f | %.3f | %.3f | **%.3f** | %.3f | %.3f | %.3f | | |\n",
			sum[0]/c, sum[1]/c, (sum[0]-sum[1])/c, sum[2]/c, sum[3]/c, sum[4]/c, sum[5]/c, sum[6]/c, sum[7]/c)
	}
	fmt.Printf("\n%d runs, %d failed, %s wall time\n", len(tasks), failed, elapsed.Round(time.Second))
	if failed > 0 {
		os.Exit(1)
	}
}
