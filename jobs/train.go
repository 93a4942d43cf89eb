package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
	"github.com/vaejob/vaejob/pipeline/vae"
)

// File names inside a run directory.
const (
	ModelFile            = "model.onnx"
	RecordFile           = "run.json"
	ValidationSampleFile = "validation_sample.json"
	// ReportFile is the run's report, drawn from its record by the
	// TrainOptions.Report function.
	ReportFile = "report.html"
)

// latentRows bounds the training rows the latent statistics are computed on.
const latentRows = 65536

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

// Check reports the usage errors Train would return for o before it
// starts (unknown preset, bad model or threshold settings, a missing
// --input or --out), without reading or writing anything, so that a
// caller that trains many times can refuse bad settings once, up front.
func (o TrainOptions) Check() error {
	_, err := o.resolve()
	return err
}

// Train runs one training job: read, split, scale, train, threshold, export,
// verify, gate, publish (see train for the stages). It holds the lock on OUT
// for the whole run. An error before publish's commit point leaves no run
// folder and does not touch OUT/latest; one after it (a *publishedError)
// leaves the run published, for the next run to finish. A model the gate rejects is kept
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

// train does the work of Train once the lock is held, one stage after the
// other: read the input (readTrainingInput), split and scale it (prepare),
// train the network (fitModel), choose the threshold on the validation rows
// (pickThreshold), export the model and check the file (exportModel), gate
// it against the model latest points at (gateModel), and publish the run
// (publishRun). Nothing is written before publishRun; run.json is filled in
// as the stages settle its parts.
func train(ctx context.Context, o TrainOptions, cfg ResolvedConfig, runID string, start time.Time, log *slog.Logger, out *outDir) (*TrainResult, error) {
	// Read and check everything before writing anything.
	in, err := readTrainingInput(ctx, o, cfg, log)
	if err != nil {
		return nil, err
	}
	configFile, err := configFileRecord(o.ConfigFile)
	if err != nil {
		return nil, err
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
	rec := inputRecord(runID, start, cfg, configFile, in, ds)

	fit, err := fitModel(ctx, o, cfg, ds, log)
	if err != nil {
		return nil, err
	}
	trainDone := time.Now()
	model := fit.model
	rec.Training = trainingRecord(fit.history, min(cfg.BatchSize.Get(), ds.rows.Train))
	rec.SpikeFeatures = spikeFeatures(model)

	val, err := pickThreshold(cfg, model, ds, in.labels != nil, log)
	if err != nil {
		return nil, err
	}
	// Latent statistics on at most latentRows training rows (a random
	// sample: the split is random): variances need no more.
	rec.Latent = model.Latent(ds.train[:min(len(ds.train), latentRows*len(ds.names))])
	log.Info("trained", "epochs", fit.epochs, "steps", fit.steps, "active_latent_units", rec.Latent.Active, "threshold", val.threshold.Value)
	rec.ValidationMetrics = validationMetrics(val.scores, ds.valLabels, val.threshold.Value, log)
	if rec.ValidationMetrics != nil {
		rec.ValidationCurves = validationCurves(val.scores, ds.valLabels)
	}
	rec.Threshold = thresholdRecord(val.threshold, cfg.threshold.String(), val.thresholdScores)
	rec.TailTable, rec.FeatureShares = tailRecord(model.Tail), val.shares

	files, err := exportModel(model, runID, in.digest, cfg.Seed, val)
	if err != nil {
		return nil, err
	}
	exportDone := time.Now()

	gate := gateModel(ctx, o.Gate, gateInput{model: model, rows: ds.rows, val: ds.val, valScores: val.scores, valLabels: ds.valLabels, metrics: rec.ValidationMetrics}, base, log)
	rec.Gate = &gate
	if gate.Decision == DecisionRejected {
		rec.Status = StatusRejected
	}

	rec.Artifacts = artifacts(files)
	rec.FinishedAt = time.Now().UTC()
	rec.Timings = Timings{
		Read:   readDone.Sub(start).Seconds(),
		Train:  trainDone.Sub(readDone).Seconds(),
		Export: exportDone.Sub(trainDone).Seconds(),
		Total:  rec.FinishedAt.Sub(start).Seconds(),
	}
	if files, err = withReport(o.Report, rec, base, files); err != nil {
		return nil, err
	}
	return publishRun(ctx, out, rec, files, model, log)
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

// configFileRecord identifies the --config file (nil without one) by its
// size and SHA-256, for run.json.
func configFileRecord(path string) (*InputFile, error) {
	if path == "" {
		return nil, nil
	}
	size, digest, err := fileDigest(path, maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: --config: %w", ErrUsage, userFileError(err, "a YAML config file"))
	}
	return &InputFile{Path: path, Size: size, SHA256: digest}, nil
}

// fitted is what the train stage made: the model, completed with what
// prepare fitted (scaler, imputation, constant features), its loss history,
// and the epochs and steps planned.
type fitted struct {
	model         *pipeline.Model
	history       []vae.EpochStats
	epochs, steps int
}

// fitModel is the train stage: it trains the network on the scaled
// training rows, watching the loss on the validation rows, and completes
// the model with the dataset's constant features, scaler and imputation.
// A diverged loss is ErrTraining.
func fitModel(ctx context.Context, o TrainOptions, cfg ResolvedConfig, ds *dataset, log *slog.Logger) (*fitted, error) {
	d := len(ds.names)
	// The network sees the varying features only (see pipeline.Model.Constant).
	varying := pipeline.Varying(d, ds.networkConstant)
	data := vae.Data{Names: pipeline.SelectNames(ds.names, varying),
		Train:      pipeline.SelectColumns(scaleRows(&ds.scaler, ds.train, d), d, varying),
		Validation: pipeline.SelectColumns(scaleRows(&ds.scaler, ds.val, d), d, varying)}
	if ds.trainImputed != nil {
		scaled := make([]float32, d)
		ds.scaler.Transform(ds.imputation, scaled)
		for _, j := range varying {
			data.Imputed = append(data.Imputed, pipeline.Imputed{Rows: ds.trainImputed[j], Value: scaled[j]})
		}
	}
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
	if model, err = pipeline.WithConstantFeatures(model, ds.names, ds.networkConstant); err != nil {
		return nil, fmt.Errorf("add the constant features: %w", err)
	}
	model.Scaler = ds.scaler
	model.Imputation = ds.imputation
	return &fitted{model: model, history: history, epochs: epochs, steps: steps}, nil
}

// scaleRows returns the row-major rows x (d values each) scaled by s.
func scaleRows(s *pipeline.Scaler, x []float32, d int) []float32 {
	out := make([]float32, len(x))
	pipeline.EachPiece(len(x)/d, scaleRowsPiece, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			s.Transform(x[r*d:(r+1)*d], out[r*d:(r+1)*d])
		}
	})
	return out
}

// scaleRowsPiece is the fewest rows scaleRows scales on one goroutine.
const scaleRowsPiece = 8192

// gateModel is the gate stage: it compares the model with the one latest
// points at (base; see runGate) and logs each check, a failed one as a
// warning.
func gateModel(ctx context.Context, g GateOptions, in gateInput, base *baseline, log *slog.Logger) GateRecord {
	gate := runGate(g, in, base)
	for _, c := range gate.Checks {
		level := slog.LevelInfo
		if !c.Passed {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "gate check", "check", c.Name, "passed", c.Passed, "detail", c.Detail)
	}
	return gate
}

// publishRun is the last stage: it publishes the run's files and its
// record into OUT (see outDir.publish), moving latest unless the gate
// rejected the model. A signal or the timeout before it leaves nothing.
// An error after publish's commit point (a *publishedError) comes back
// with the result: the run is published, for the next run to finish.
func publishRun(ctx context.Context, out *outDir, rec *RunRecord, files []namedFile, model *pipeline.Model, log *slog.Logger) (*TrainResult, error) {
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
	final := out.runDir(rec.RunID)
	if rec.Status == StatusRejected {
		log.Warn("the gate rejected the model; latest is unchanged", "run_dir", final, "reasons", ev.Reason)
	} else {
		log.Info("published", "run_dir", final, "model_sha256", rec.Artifacts[0].SHA256)
	}
	return &TrainResult{RunID: rec.RunID, RunDir: final, Record: rec, Model: model}, pubErr
}

// inputRecord starts run.json once the input is read and prepared: the
// settings, the files read, and how the rows were split, scaled and
// checked. The stages after it fill in the rest.
func inputRecord(runID string, start time.Time, cfg ResolvedConfig, configFile *InputFile, in *trainingInput, ds *dataset) *RunRecord {
	return &RunRecord{
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
		Versions:           CurrentVersions(),
		Machine:            CurrentMachine(),
	}
}

// spikeFeatures describes m's spike features for run.json; the share, to
// six decimals, is the cost's.
func spikeFeatures(m *pipeline.Model) []SpikeFeature {
	var out []SpikeFeature
	for _, s := range m.Spikes {
		f := SpikeFeature{Name: m.Features[s.Feature], ScaledValue: s.Value, Cost: s.Cost,
			Share: math.Round(1e6/(1+math.Exp(-float64(s.Cost)))) / 1e6}
		if raw, ok := m.RawSpike(s); ok {
			f.Value = &raw
		}
		out = append(out, f)
	}
	return out
}
