package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/parquet/regfile"
	"github.com/vaejob/vaejob/pipeline"
	"github.com/vaejob/vaejob/pipeline/vae"
)

// File names inside a run directory.
const (
	ModelFile            = "model.onnx"
	RecordFile           = "run.json"
	ValidationSampleFile = "validation_sample.json"
)

// validationSampleRows is how many validation rows (with their training-time
// scores) are kept beside the model for vaejob verify.
const validationSampleRows = 256

// latentRows bounds the training rows the latent statistics are computed on.
const latentRows = 65536

// testVectorRows is how many synthetic rows go into the model's metadata.
const testVectorRows = 4

// TrainResult is what a successful train run reports.
type TrainResult struct {
	RunID  string
	RunDir string
	Record *RunRecord
	Model  *pipeline.Model // nil when AlreadyDone
	// AlreadyDone is set when the run id had already finished: nothing was
	// done, and Record is the earlier run's.
	AlreadyDone bool
}

// ValidationSample is the content of validation_sample.json: real validation
// rows (raw values, in the model's feature order) and the scores the Go
// scorer gave them at training time.
type ValidationSample struct {
	Features []string    `json:"features"`
	Rows     [][]float32 `json:"rows"`
	Scores   []float32   `json:"scores"`
}

// Train runs one training job: read, split, scale, train, threshold, export,
// verify, gate, publish. It holds the lock on OUT for the whole run. An
// error before publish's commit point leaves no run folder and does not
// touch OUT/latest; one after it (a *publishedError) leaves the run
// published, for the next run to finish. A model the gate rejects is kept
// in runs/ marked rejected, and the error wraps ErrRejected.
func Train(ctx context.Context, o TrainOptions) (*TrainResult, error) {
	start := time.Now()
	log := loggerOr(o.Logger)
	cfg, err := o.resolve()
	if err != nil {
		return nil, err
	}
	runID := o.RunID
	if runID == "" {
		runID = NewRunID(start)
	}
	log = log.With("run_id", runID)
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.Timeout, fmt.Errorf("%w: --timeout %v", ErrTimeout, o.Timeout))
		defer cancel()
	}
	out, err := openOut(o.Out, "train", runID, log)
	if err != nil {
		return nil, err
	}
	defer out.close()
	done, err := out.finishedRun(runID)
	if err != nil {
		return nil, err
	}
	switch {
	case done != nil && done.Record.Status == StatusOrphaned:
		log.Warn("redoing a run that an earlier attempt left orphaned (it never became latest)", "run_dir", done.RunDir)
	case done != nil && !o.Force:
		log.Info("run already finished; nothing to do (pass --force to redo it)", "run_dir", done.RunDir, "status", done.Record.Status)
		if done.Record.Status == StatusRejected {
			return done, fmt.Errorf("%w: run %s finished earlier and was rejected then (see %s); pass --force to redo it", ErrRejected, runID, filepath.Join(done.RunDir, RecordFile))
		}
		return done, nil
	case done != nil:
		if latest, _ := out.latest(); latest == runID {
			return nil, fmt.Errorf("%w: --force would replace run %s, which latest points at; promote another run first (vaejob promote)", ErrUsage, runID)
		}
		log.Info("redoing a finished run (--force)", "run_dir", done.RunDir)
	}
	res, err := train(ctx, o, cfg, runID, start, log, out)
	if err != nil {
		return nil, err
	}
	if o.Keep > 0 {
		if err := out.prune(o.Keep); err != nil {
			log.Warn("could not remove old runs", "error", err.Error())
		}
	}
	if res.Record.Status == StatusRejected {
		return res, fmt.Errorf("%w: %s; the run is kept in %s and latest is unchanged", ErrRejected, strings.Join(res.Record.Gate.Reasons, "; "), res.RunDir)
	}
	return res, nil
}

// stopped words the error of a run stopped by its context: the cause (a
// signal, the timeout) stays in the chain for the exit code.
func stopped(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		return fmt.Errorf("run stopped: %w", cause)
	}
	return err
}

// train does the work of Train once the lock is held.
func train(ctx context.Context, o TrainOptions, cfg ResolvedConfig, runID string, start time.Time, log *slog.Logger, out *outDir) (*TrainResult, error) {
	// Read and check everything before writing anything.
	in, err := readTrainingInput(ctx, o, cfg, log)
	if err != nil {
		return nil, err
	}
	var configFile *InputFile
	if o.ConfigFile != "" {
		size, digest, err := fileDigest(o.ConfigFile, maxConfigBytes)
		if err != nil {
			return nil, fmt.Errorf("%w: --config: %w", ErrUsage, userFileError(err, "a YAML config file"))
		}
		configFile = &InputFile{Path: o.ConfigFile, Size: size, SHA256: digest}
	}
	readDone := time.Now()
	ds, err := prepare(in, cfg, log)
	if err != nil {
		return nil, err
	}
	// The model latest points at, for the gate; read now so that a broken
	// OUT/latest stops the run before the training time is spent.
	base, err := out.loadBaseline()
	if err != nil {
		return nil, kind(ErrUsage, err)
	}

	// Train.
	d := len(ds.names)
	// The network sees the varying features only (see pipeline.Model.Constant).
	varying := pipeline.Varying(d, ds.networkConstant)
	data := vae.Data{Names: pipeline.SelectNames(ds.names, varying),
		Train:      pipeline.SelectColumns(scaleRows(&ds.scaler, ds.train, d), d, varying),
		Validation: pipeline.SelectColumns(scaleRows(&ds.scaler, ds.val, d), d, varying)}
	epochs, steps := cfg.vae.Plan(len(ds.train) / d)
	log.Info("training", "rows", len(ds.train)/d, "epochs", epochs, "steps", steps)
	progress := newProgress(o.Progress, log, epochs, len(ds.train)/d)
	model, history, err := vae.Train(ctx, cfg.vae, data, streamRand(cfg.Seed, "train"), progress.epoch)
	progress.done()
	if err != nil {
		if errors.Is(err, vae.ErrDiverged) {
			return nil, kind(ErrTraining, err)
		}
		return nil, stopped(ctx, fmt.Errorf("train: %w", err))
	}
	trainDone := time.Now()
	if model, err = pipeline.WithConstantFeatures(model, ds.names, ds.networkConstant); err != nil {
		return nil, fmt.Errorf("add the constant features: %w", err)
	}
	model.Scaler = ds.scaler
	model.Imputation = ds.imputation

	// Threshold and metrics on the validation rows.
	// A row scored NaN or ±Inf is left out of the threshold and the
	// validation sample; the gate then rejects the model for it.
	valScores := model.ScoreRows(ds.val)
	finiteRows, finiteScores, finiteLabels := finiteOnly(ds.val, valScores, ds.valLabels, d)
	if len(finiteScores) == 0 {
		return nil, fmt.Errorf("%w: the trained model scores every validation row as NaN or infinite; no threshold can be chosen (try another --seed, and report the table)", ErrTraining)
	}
	threshold, thresholdScores, err := chooseThreshold(cfg, finiteScores, finiteLabels, in.labels != nil)
	if err != nil {
		return nil, err
	}
	if threshold.Moved > 0 {
		log.Warn("threshold moved off crowded validation scores", "method_value", threshold.MethodValue,
			"threshold", threshold.Value, "validation_rows_moved", threshold.Moved,
			"reason", fmt.Sprintf("the nearer gaps between validation scores are narrower than twice the threshold margin (%g of the score)", pipeline.ScoreTolerance))
	}
	model.Threshold = threshold.Value
	model.ThresholdMethod = cfg.threshold.String()
	if err := model.Validate(); err != nil {
		return nil, kind(ErrTraining, fmt.Errorf("trained model is invalid: %w", err))
	}
	// Latent statistics on at most latentRows training rows (a random
	// sample: the split is random): variances need no more.
	latent := model.Latent(ds.train[:min(len(ds.train), latentRows*d)])
	log.Info("trained", "epochs", epochs, "steps", steps, "active_latent_units", latent.Active, "threshold", threshold.Value)
	var metrics *LabelMetrics
	if ds.valLabels != nil {
		if metrics, err = labelMetrics(valScores, ds.valLabels, threshold.Value); err != nil {
			log.Warn("no validation metrics", "reason", err.Error())
		} else {
			log.Info("validation metrics", "roc_auc", metrics.ROCAUC, "pr_auc", metrics.PRAUC,
				"precision", metrics.At.Precision, "recall", metrics.At.Recall, "f1", metrics.At.F1)
		}
	}

	// Export and check the artifact before it is published.
	meta := onnx.Metadata{
		ProducerVersion:    Version,
		RunID:              runID,
		TrainingDataSHA256: in.digest,
		TestVector:         pipeline.MakeTestVector(model, streamRand(cfg.Seed, "test-vector"), testVectorRows),
	}
	modelBytes, err := onnx.Encode(model, meta)
	if err != nil {
		return nil, fmt.Errorf("export ONNX: %w", err)
	}
	sample := makeValidationSample(model.Features, finiteRows, finiteScores, d)
	if err := verifyModel(modelBytes, &sample); err != nil {
		return nil, fmt.Errorf("check exported model: %w", err)
	}
	exportDone := time.Now()

	// The gate: compare with the model latest points at.
	gate := runGate(o.Gate, gateInput{model: model, rows: ds.rows, val: ds.val, valScores: valScores, valLabels: ds.valLabels, metrics: metrics}, base)
	for _, c := range gate.Checks {
		level := slog.LevelInfo
		if !c.Passed {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "gate check", "check", c.Name, "passed", c.Passed, "detail", c.Detail)
	}

	rec := &RunRecord{
		Schema:             RunRecordSchema,
		RunID:              runID,
		Status:             StatusSucceeded,
		StartedAt:          start.UTC(),
		Config:             cfg,
		ConfigFile:         configFile,
		Inputs:             in.files,
		Rows:               ds.rows,
		Features:           ds.names,
		Skipped:            skippedCols(in.table.Skipped),
		Labels:             ds.labelRecord,
		Missing:            ds.missing,
		Scaler:             ds.scaler,
		ConstantFeatures:   ds.constant,
		ConstantInTraining: ds.constantInTraining,
		IgnoredFeatures:    ds.ignored,
		Training:           TrainingRecord{Epochs: history, BatchSize: min(cfg.BatchSize.Get(), ds.rows.Train)},
		Latent:             latent,
		Threshold:          thresholdRecord(threshold, cfg.threshold.String(), thresholdScores),
		ValidationMetrics:  metrics,
		Gate:               &gate,
		Versions:           CurrentVersions(),
	}
	if gate.Decision == DecisionRejected {
		rec.Status = StatusRejected
	}
	if len(history) > 0 {
		rec.Training.Steps = history[len(history)-1].Steps
	}
	sampleBytes, err := json.MarshalIndent(sample, "", " ")
	if err != nil {
		return nil, err
	}
	files := []namedFile{{ModelFile, modelBytes}, {ValidationSampleFile, sampleBytes}}
	for _, f := range files {
		rec.Artifacts = append(rec.Artifacts, Artifact{Name: f.name, Size: int64(len(f.data)), SHA256: sha256Hex(f.data)})
	}
	rec.FinishedAt = time.Now().UTC()
	rec.Timings = Timings{
		Read:   readDone.Sub(start).Seconds(),
		Train:  trainDone.Sub(readDone).Seconds(),
		Export: exportDone.Sub(trainDone).Seconds(),
		Total:  rec.FinishedAt.Sub(start).Seconds(),
	}
	// Last chance to stop before any write: a signal or the timeout now
	// leaves nothing (publish checks once more before its commit point).
	if err := ctx.Err(); err != nil {
		return nil, stopped(ctx, err)
	}
	ev := auditEventFor(rec, rec.FinishedAt)
	pubErr := out.publish(ctx, rec, files, ev)
	var published *publishedError
	if pubErr != nil && !errors.As(pubErr, &published) {
		return nil, pubErr
	}
	final := out.runDir(runID)
	if rec.Status == StatusRejected {
		log.Warn("the gate rejected the model; latest is unchanged", "run_dir", final, "reasons", ev.Reason)
	} else {
		log.Info("published", "run_dir", final, "model_sha256", rec.Artifacts[0].SHA256)
	}
	return &TrainResult{RunID: runID, RunDir: final, Record: rec, Model: model}, pubErr
}

// trainingInput is the checked input of a train run.
type trainingInput struct {
	table      *parquet.Table
	labels     []bool    // nil without --label-column
	times      []float64 // nil without --time-column
	digestKind string
	files      []InputFile // every file read, with its size and SHA-256
	digest     string      // the file's SHA-256, or for several files the SHA-256 of their digests
}

// readTrainingInput resolves and reads the input files, their labels and
// digests, and makes sure no file changed (or appeared) while they were
// read.
func readTrainingInput(ctx context.Context, o TrainOptions, cfg ResolvedConfig, log *slog.Logger) (*trainingInput, error) {
	files, err := parquet.ResolveInputs(o.Inputs)
	if err != nil {
		return nil, inputErr(fmt.Errorf("read %s: %w", strings.Join(o.Inputs, ", "), err))
	}
	before, err := statAll(files)
	if err != nil {
		return nil, err
	}
	in := &trainingInput{digestKind: cfg.Digest}
	sel := parquet.Selection{Features: o.Features, Exclude: o.Exclude, AllowMissing: cfg.Missing != MissingFail,
		MaxMagnitude: pipeline.MaxFeatureMagnitude}
	// The label and the time column are kept but are never features, not
	// even through a --features or --exclude pattern.
	for _, c := range []string{o.Labels.Column, cfg.TimeColumn} {
		if c != "" {
			sel.Keep = append(sel.Keep, c)
			sel.Reserved = append(sel.Reserved, c)
		}
	}
	named := strings.Join(o.Inputs, ", ")
	// The digests read every byte again: do it beside the decoding, which
	// is CPU-bound, rather than after it; a failed read stops them too.
	digestCtx, stopDigests := context.WithCancel(ctx)
	defer stopDigests()
	digested := make(chan inputDigests, 1)
	go func() { digested <- digestInputs(digestCtx, files, cfg.Digest) }()
	opts := parquet.ReadOptions{Filter: cfg.filter, MaxRows: cfg.MaxRows, Progress: readProgress(log)}
	if cfg.MaxRows > 0 {
		opts.Rand = streamRand(cfg.Seed, "sample")
	}
	log.Info("reading input", "files", len(files))
	table, err := parquet.ReadInputs(ctx, files, sel, opts)
	if err != nil {
		return nil, stopped(ctx, inputErr(fmt.Errorf("read %s: %w", named, err)))
	}
	if cfg.TimeColumn != "" {
		if in.times, err = table.KeptOrder(cfg.TimeColumn); err != nil {
			return nil, inputErr(fmt.Errorf("%s: --time-column: %w", named, err))
		}
	}
	for _, s := range table.Skipped {
		log.Info("skipping non-numeric column", "column", s.Name, "type", s.Type)
	}
	for _, n := range table.Notes {
		log.Warn("schema differs between input files", "note", n)
	}
	in.table = table
	if o.Labels.Column != "" {
		if in.labels, err = o.Labels.read(table); err != nil {
			return nil, fmt.Errorf("%s: %w", named, err)
		}
	}
	digests := <-digested
	if digests.err != nil {
		return nil, stopped(ctx, inputErr(digests.err))
	}
	in.files, in.digest = digests.files, digests.combined
	again, err := parquet.ResolveInputs(o.Inputs)
	if err != nil {
		return nil, inputErr(fmt.Errorf("%s changed while it was read: %w", named, err))
	}
	after, err := statAll(again)
	if err != nil {
		return nil, err
	}
	if changed := changedFiles(before, after, in.files); changed != "" {
		return nil, fmt.Errorf("%w: %s changed while it was read; run again when the export is complete", ErrBadInput, changed)
	}
	log.Info("read input", "files", len(files), "rows_read", table.RowsRead, "rows_matched", table.RowsMatched, "rows_kept", table.Rows,
		"features", len(table.Names), "digest", in.digest, "digest_kind", cfg.Digest)
	return in, nil
}

// readProgress logs a long read's progress: files, rows, bytes and rate.
func readProgress(log *slog.Logger) func(parquet.ReadProgress) {
	last := time.Time{}
	return func(p parquet.ReadProgress) {
		if p.Elapsed < 2*time.Second || time.Since(last) < 5*time.Second && p.FilesDone < p.Files {
			return
		}
		last = time.Now()
		secs := p.Elapsed.Seconds()
		log.Info("reading", "files_done", p.FilesDone, "files", p.Files, "rows_read", p.RowsRead, "rows_kept", p.RowsKept,
			"mb_done", p.BytesDone>>20, "mb_total", p.BytesTotal>>20,
			"rows_per_second", int64(float64(p.RowsRead)/secs), "mb_per_second", int64(float64(p.BytesDone)/secs)>>20)
	}
}

// inputDigests are the fingerprints of the input files.
type inputDigests struct {
	files    []InputFile
	combined string // the file's digest, or for several files the SHA-256 of "digest  path" lines
	err      error
}

func digestInputs(ctx context.Context, files []parquet.Input, kind string) inputDigests {
	digestOf := func(f parquet.Input) (int64, string, error) { return parquet.Digest(ctx, f.Path) }
	if kind == DigestFooter {
		digestOf = parquet.FooterDigest
	}
	var out inputDigests
	sums := sha256.New()
	for _, f := range files {
		size, digest, err := digestOf(f)
		if err != nil {
			return inputDigests{err: err}
		}
		out.files = append(out.files, InputFile{Path: f.Path, Size: size, SHA256: digest, DigestKind: kind})
		fmt.Fprintf(sums, "%s  %s\n", digest, f.Path)
	}
	out.combined = out.files[0].SHA256
	if len(files) > 1 {
		out.combined = hex.EncodeToString(sums.Sum(nil))
	}
	return out
}

// fileState is what tells a file that changed from one that did not.
type fileState struct {
	size  int64
	mtime time.Time
}

func statAll(files []parquet.Input) (map[string]fileState, error) {
	out := make(map[string]fileState, len(files))
	for _, f := range files {
		st, err := os.Stat(f.Path)
		if err != nil {
			return nil, inputErr(parquetMissing(f.Path, err))
		}
		out[f.Path] = fileState{st.Size(), st.ModTime()}
	}
	return out, nil
}

// changedFiles names a file that appeared, went away or changed between
// the two states, or whose digested size differs; "" when none did.
func changedFiles(before, after map[string]fileState, digested []InputFile) string {
	for p, b := range before {
		if a, ok := after[p]; !ok || a.size != b.size || !a.mtime.Equal(b.mtime) {
			return p
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			return p + " (a new file)"
		}
	}
	for _, f := range digested {
		if f.Size != before[f.Path].size {
			return f.Path
		}
	}
	return ""
}

// dataset is the input split into the rows the model trains on and the
// validation rows that pick the threshold, with the scaler fitted on the
// training rows.
type dataset struct {
	names              []string  // the model's features: the table's, less those --constant-columns drop removes
	train, val         []float32 // raw rows, row-major
	valLabels          []bool    // nil without labels
	scaler             pipeline.Scaler
	imputation         []float32 // per-feature medians under impute-median
	missing            *MissingRecord
	constant           []ConstantFeature // constant on every training row (ignored ones aside)
	constantInTraining []string          // those of constant whose validation rows differ
	ignored            []string          // no value on the training rows (impute-median)
	networkConstant    []int             // the model's Constant: features the network does not see
	rows               RowCounts
	labelRecord        *LabelRecord
}

func prepare(in *trainingInput, cfg ResolvedConfig, log *slog.Logger) (*dataset, error) {
	t := in.table
	d := len(t.Names)
	ds := &dataset{constant: []ConstantFeature{}}
	read, matched, sampled := t.RowsRead, t.RowsMatched, t.Rows
	missing, err := applyMissingPolicy(in, cfg.Missing, log)
	if err != nil {
		return nil, err
	}
	ds.missing = missing
	var split pipeline.Split
	if in.times != nil {
		split, err = pipeline.TimeSplit(in.times, cfg.ValidationFraction.Get())
	} else {
		split, err = pipeline.RandomSplit(t.Rows, cfg.ValidationFraction.Get(), streamRand(cfg.Seed, "split"))
	}
	if err != nil {
		return nil, kind(ErrBadInput, err)
	}
	trainIdx := split.Train
	if in.labels != nil {
		rec := &LabelRecord{Column: cfg.Labels.Column, NormalValue: cfg.Labels.Normal, TrainOn: cfg.TrainOn}
		for _, i := range split.Train {
			if in.labels[i] {
				rec.TrainAnomalies++
			}
		}
		if cfg.TrainOn == TrainOnNormal {
			trainIdx = slices.DeleteFunc(slices.Clone(split.Train), func(i int) bool { return in.labels[i] })
			if len(trainIdx) < pipeline.MinTrainRows {
				return nil, fmt.Errorf("%w: --train-on normal leaves %d normal training rows; need at least %d", ErrBadInput, len(trainIdx), pipeline.MinTrainRows)
			}
		}
		ds.valLabels = make([]bool, len(split.Validation))
		for k, i := range split.Validation {
			ds.valLabels[k] = in.labels[i]
			if in.labels[i] {
				rec.ValidationAnomalies++
			}
		}
		ds.labelRecord = rec
	}
	var empty []int // features with no value on the training rows
	if cfg.Missing == MissingImputeMedian {
		// Fitted even on complete data: served rows may still miss values.
		// Medians of the training rows only, applied to every row.
		ds.imputation, empty = pipeline.FitMedians(t.Data, d, trainIdx)
		pipeline.Impute(t.Data, ds.imputation)
		missing.Values = map[string]float32{}
		for j, v := range ds.imputation {
			if !slices.Contains(empty, j) {
				missing.Values[t.Names[j]] = v
			}
		}
	}
	if cfg.ConstantColumns == ConstantFail {
		if len(empty) > 0 {
			names := strings.Join(pipeline.SelectNames(t.Names, empty), ",")
			return nil, fmt.Errorf("%w: column(s) %s have no value in the training rows; --constant-columns fail refuses them (leave them out with --exclude %s, or use --constant-columns keep, under which the model ignores them)", ErrBadInput, names, names)
		}
		if err := pipeline.CheckConstant(t.Data, t.Names); err != nil {
			return nil, kind(ErrBadInput, fmt.Errorf("%w; or keep it with --constant-columns keep", err))
		}
	}
	ds.train = pipeline.Gather(t.Data, d, trainIdx)
	ds.val = pipeline.Gather(t.Data, d, split.Validation)
	ds.rows = RowCounts{Read: read, Matched: matched, Kept: sampled, Used: len(trainIdx) + len(split.Validation), Train: len(trainIdx), Validation: len(split.Validation)}
	var constant []int
	if ds.scaler, constant, err = pipeline.Fit(cfg.Scaler, ds.train, d); err != nil {
		return nil, kind(ErrBadInput, err)
	}
	ds.names = t.Names
	valConstant := pipeline.ConstantColumns(ds.val, d)
	for _, j := range constant {
		name := t.Names[j]
		if slices.Contains(empty, j) {
			// Imputed to 0 everywhere: a scale of 0 makes the model ignore it.
			ds.scaler.Offset[j], ds.scaler.Scale[j] = 0, 0
			ds.ignored = append(ds.ignored, name)
			log.Warn("column has no value on the training rows; the model ignores it (it adds nothing to any score)", "column", name, "constant_columns", cfg.ConstantColumns)
			continue
		}
		c := ds.scaler.Offset[j]
		ds.constant = append(ds.constant, ConstantFeature{Name: name, Value: c, DepartureScale: pipeline.DepartureScale(c)})
		varies := len(ds.val) > 0 && (!slices.Contains(valConstant, j) || ds.val[j] != c)
		if varies {
			ds.constantInTraining = append(ds.constantInTraining, name)
		}
		log.Warn("column is constant on the training rows", "column", name, "value", c, "departure_scale", pipeline.DepartureScale(c),
			"varies_on_validation_rows", varies, "constant_columns", cfg.ConstantColumns)
	}
	switch {
	case cfg.ConstantColumns == ConstantDrop && len(constant) > 0:
		if len(constant) == d {
			return nil, fmt.Errorf("%w: every feature is constant on the training rows; --constant-columns drop leaves no feature (use --constant-columns keep)", ErrBadInput)
		}
		keep := pipeline.Varying(d, constant)
		ds.names = pipeline.SelectNames(t.Names, keep)
		ds.train = pipeline.SelectColumns(ds.train, d, keep)
		ds.val = pipeline.SelectColumns(ds.val, d, keep)
		ds.scaler = ds.scaler.Select(keep)
		if ds.imputation != nil {
			ds.imputation = pipeline.SelectColumns(ds.imputation, d, keep)
			for _, j := range constant {
				delete(missing.Values, t.Names[j])
			}
		}
		ds.ignored = nil // columns without a value are constant: dropped too
		log.Warn("--constant-columns drop: the constant columns are not features of this model (its input schema changes)", "dropped", fmt.Sprint(pipeline.SelectNames(t.Names, constant)))
	case len(constant) == d:
		// Nothing varies: the network sees every feature (each scaled to
		// its departure, 0 on the training rows) and learns to reconstruct
		// the constants, so a departing row still scores higher.
		log.Warn("every feature is constant on the training rows; the network is trained on the constants", "features", d)
	default:
		ds.networkConstant = constant
	}
	return ds, nil
}

// applyMissingPolicy counts the missing values (null, NaN, ±Inf) of each
// feature and, under drop-rows, drops the rows holding any (and their
// labels). Under fail the reader has already refused them.
func applyMissingPolicy(in *trainingInput, policy string, log *slog.Logger) (*MissingRecord, error) {
	t := in.table
	d := len(t.Names)
	rec := &MissingRecord{Policy: policy, PerColumn: map[string]int{}}
	for j, n := range pipeline.CountMissing(t.Data, d) {
		if n > 0 {
			rec.PerColumn[t.Names[j]] = n
		}
	}
	if len(rec.PerColumn) == 0 {
		return rec, nil // the usual case: nothing is missing
	}
	complete := pipeline.CompleteRows(t.Data, d)
	rec.RowsWithMissing = t.Rows - len(complete)
	log.Info("missing values", "policy", policy, "rows_with_missing", rec.RowsWithMissing, "per_column", fmt.Sprint(rec.PerColumn))
	if policy == MissingFail {
		// The reader refuses every missing value under fail (it is given
		// pipeline.MaxFeatureMagnitude as its bound), so this is a bug.
		return nil, fmt.Errorf("missing values passed the reader under --missing fail: %v", rec.PerColumn)
	}
	if policy != MissingDropRows {
		return rec, nil
	}
	for j, name := range t.Names {
		if rec.PerColumn[name] == t.Rows {
			return nil, fmt.Errorf("%w: column %q has no value in any of the %d rows; --missing drop-rows would drop every row: leave it out with --exclude %s, or use --missing impute-median, under which the model ignores it", ErrBadInput, t.Names[j], t.Rows, t.Names[j])
		}
	}
	if len(complete) == 0 {
		return nil, fmt.Errorf("%w: every row has a missing value (per column: %v); --missing drop-rows leaves nothing; try --missing impute-median or leave those columns out", ErrBadInput, rec.PerColumn)
	}
	t.Data = pipeline.Gather(t.Data, d, complete)
	if in.labels != nil {
		labels := make([]bool, len(complete))
		for k, i := range complete {
			labels[k] = in.labels[i]
		}
		in.labels = labels
	}
	if in.times != nil {
		times := make([]float64, len(complete))
		for k, i := range complete {
			times[k] = in.times[i]
		}
		in.times = times
	}
	rec.RowsDropped = rec.RowsWithMissing
	t.Rows = len(complete)
	return rec, nil
}

// chooseThreshold applies the threshold method and returns the threshold
// and the validation scores it was chosen on. Score-only methods use every
// validation row, or only the normal ones when training on normal rows;
// label-based methods use the labelled validation rows.
func chooseThreshold(cfg ResolvedConfig, scores []float32, labels []bool, haveLabels bool) (pipeline.Threshold, []float32, error) {
	m := cfg.threshold
	if m.NeedsLabels() {
		if !haveLabels {
			return pipeline.Threshold{}, nil, fmt.Errorf("%w: --threshold %s needs labels: pass --label-column", ErrUsage, m)
		}
		t, err := m.Choose(scores, labels)
		if err != nil {
			return pipeline.Threshold{}, nil, kind(ErrBadInput, err)
		}
		return t, scores, nil
	}
	if labels != nil && cfg.TrainOn == TrainOnNormal {
		// The threshold comes from the normal rows and keeps clear of the
		// anomalous ones too.
		var normal, anomalous []float32
		for i, s := range scores {
			if labels[i] {
				anomalous = append(anomalous, s)
			} else {
				normal = append(normal, s)
			}
		}
		if len(normal) == 0 {
			return pipeline.Threshold{}, nil, fmt.Errorf("%w: --train-on normal: the validation split holds no normal rows to set --threshold %s on; raise --validation-fraction", ErrBadInput, m)
		}
		t, err := m.ChooseClearOf(normal, nil, anomalous)
		return t, normal, thresholdErr(err)
	}
	t, err := m.Choose(scores, nil)
	return t, scores, thresholdErr(err)
}

// thresholdErr marks a method's value that no float32 threshold can hold
// (mad:K with a huge K) as a problem of the run's data and settings, exit 3;
// other errors of a score-only method are bugs.
func thresholdErr(err error) error {
	if errors.Is(err, pipeline.ErrNoThreshold) {
		return kind(ErrBadInput, fmt.Errorf("--threshold: %w", err))
	}
	return err
}

// parquetMissing words a failed stat of the input like the reader does.
func parquetMissing(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: read %s: the file does not exist; check --input", parquet.ErrBadInput, path)
	}
	return fmt.Errorf("%w: read %s: %w", parquet.ErrBadInput, path, err)
}

func inputErr(err error) error {
	err = withFlags(err)
	if errors.Is(err, parquet.ErrUsage) {
		return kind(ErrUsage, err)
	}
	if errors.Is(err, parquet.ErrBadInput) {
		return kind(ErrBadInput, err)
	}
	return err
}

// streamRand returns a generator for one named purpose, seeded from the run
// seed, so that adding a use of randomness does not shift the others.
func streamRand(seed int64, stream string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, stream)
	return rand.New(rand.NewSource(int64(h.Sum64())))
}

func scaleRows(s *pipeline.Scaler, x []float32, d int) []float32 {
	out := make([]float32, len(x))
	for r := 0; r < len(x)/d; r++ {
		s.Transform(x[r*d:(r+1)*d], out[r*d:(r+1)*d])
	}
	return out
}

// finiteOnly returns the rows, scores and labels (nil stays nil) of the
// rows whose score is finite.
func finiteOnly(rows, scores []float32, labels []bool, d int) ([]float32, []float32, []bool) {
	if countNonFinite(scores) == 0 {
		return rows, scores, labels
	}
	var r, s []float32
	var l []bool
	for i, v := range scores {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			continue
		}
		r = append(r, rows[i*d:(i+1)*d]...)
		s = append(s, v)
		if labels != nil {
			l = append(l, labels[i])
		}
	}
	return r, s, l
}

func makeValidationSample(names []string, x, scores []float32, d int) ValidationSample {
	n := min(len(scores), validationSampleRows)
	s := ValidationSample{Features: names, Rows: make([][]float32, n), Scores: scores[:n]}
	for r := range n {
		s.Rows[r] = x[r*d : (r+1)*d]
	}
	return s
}

func thresholdRecord(t pipeline.Threshold, method string, scores []float32) ThresholdRecord {
	qs := []float64{0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1}
	names := []string{"min", "p01", "p05", "p25", "p50", "p75", "p95", "p99", "p999", "max"}
	vals := pipeline.Quantiles(scores, qs)
	r := ThresholdRecord{
		Value: t.Value, Method: method, MethodValue: t.MethodValue, Placement: string(t.Placement),
		MovedRows: t.Moved, ValidationRows: len(scores), ValidationScores: map[string]float32{},
	}
	if t.Placement != pipeline.PlacedBelowMin {
		r.ScoreBelow = &t.Below
	}
	if t.Placement != pipeline.PlacedAboveMax {
		r.ScoreAbove = &t.Above
	}
	for i, n := range names {
		r.ValidationScores[n] = vals[i]
	}
	for _, s := range scores {
		if s > t.Value {
			r.ValidationAlerts++
		}
	}
	return r
}

func skippedCols(s []parquet.SkippedColumn) []SkippedCol {
	out := []SkippedCol{}
	for _, c := range s {
		out = append(out, SkippedCol{Name: c.Name, Type: c.Type})
	}
	return out
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fileDigest returns the size and SHA-256 of a file a flag names, of at
// most limit bytes (see regfile.ReadFile).
func fileDigest(path string, limit int64) (int64, string, error) {
	b, err := regfile.ReadFile(path, limit)
	if err != nil {
		return 0, "", err
	}
	return int64(len(b)), sha256Hex(b), nil
}
