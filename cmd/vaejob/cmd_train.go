package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
)

// trainCommand is vaejob train. Its flags are bound to the fields of one
// jobs.TrainOptions; jobs checks them, fills in the preset and the
// defaults, and runs the job.
func trainCommand() *cli.Command {
	var (
		o      jobs.TrainOptions
		inputs cli.StringSlice // --input, repeatable: o.Inputs
		logs   logFlags
	)
	var flags []cli.Flag
	flags = append(flags, trainDataFlags(&o, &inputs)...)
	flags = append(flags, labelFlags(&o.Labels)...)
	flags = append(flags, modelFlags(&o.ModelOptions)...)
	flags = append(flags, trainRunFlags(&o)...)
	flags = append(flags, gateFlags(&o.Gate)...)
	flags = append(flags, logs.flag())
	return &cli.Command{
		Name:         "train",
		OnUsageError: onUsageError,
		Usage:        "train a model on a Parquet table and publish OUT/runs/<run-id> and OUT/latest",
		Flags:        flags,
		Action: func(c *cli.Context) error {
			o.Inputs = inputs.Value()
			return train(c, &o, &logs)
		},
	}
}

// train runs jobs.Train with the options the flags, the VAEJOB_*
// variables and --config set, and prints the run's folder.
func train(c *cli.Context, o *jobs.TrainOptions, logs *logFlags) error {
	if c.NArg() > 0 {
		return usageError("unexpected arguments %q: train takes flags only", strings.Join(c.Args().Slice(), " "))
	}
	// Until the config is read, --log-format and --run-id come from the
	// command line or the environment only.
	if _, err := logs.logger(c, o.RunID); err != nil {
		return err
	}
	if err := applyConfig(c, o.ConfigFile); err != nil {
		return err
	}
	if o.RunID == "" {
		o.RunID = jobs.NewRunID(time.Now())
	}
	log, err := logs.logger(c, o.RunID)
	if err != nil {
		return err
	}
	o.Logger, o.Progress = log, logs.progress(c)
	res, err := jobs.Train(c.Context, *o)
	if res != nil {
		fmt.Fprintln(c.App.Writer, res.RunDir)
	}
	return err
}

// applyConfig reads the --config file at path and sets every flag it names
// that was not set on the command line or in the environment: flags and
// VAEJOB_* variables override the file.
func applyConfig(c *cli.Context, path string) error {
	if path == "" {
		return nil
	}
	var known []string
	for _, f := range c.Command.Flags {
		if name := f.Names()[0]; name != "config" && name != "help" {
			known = append(known, name)
		}
	}
	settings, err := jobs.ReadConfigFile(path, known)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if c.IsSet(name) {
			continue
		}
		if err := c.Set(name, settings[name]); err != nil {
			return usageError("--config %s: %s: %v", path, name, err)
		}
	}
	return nil
}

// trainDataFlags bind what train reads and how.
func trainDataFlags(o *jobs.TrainOptions, inputs *cli.StringSlice) []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "input", Usage: "data to train on: a Parquet or Arrow IPC file, a folder (read recursively) or a glob; repeat for several", EnvVars: env("INPUT"), Destination: inputs},
		&cli.GenericFlag{Name: "features", Usage: "comma-separated feature columns (default: every numeric column)", EnvVars: env("FEATURES"), Value: columnsValue{&o.Features}},
		&cli.GenericFlag{Name: "exclude", Usage: "comma-separated columns to leave out of the default selection", EnvVars: env("EXCLUDE"), Value: columnsValue{&o.Exclude}},
		&cli.Int64Flag{Name: "seed", Usage: "seed of every random choice (split, initial weights, noise)", EnvVars: env("SEED"), Destination: &o.Seed},
		&cli.GenericFlag{Name: "validation-fraction", Usage: "fraction of rows held out to pick the threshold", DefaultText: fmt.Sprint(jobs.DefaultValidationFraction), EnvVars: env("VALIDATION_FRACTION"), Value: &o.ValidationFraction},
		&cli.StringFlag{Name: "threshold", Usage: "threshold method: quantile:Q, contamination:P, mad:K, or with labels f1, recall:R, precision:P", DefaultText: strconv.Quote(jobs.DefaultThreshold), EnvVars: env("THRESHOLD"), Destination: &o.Threshold},
		&cli.StringFlag{Name: "missing", Usage: "missing feature values (null, NaN, ±Inf, beyond ±1e30): fail, drop-rows, or impute-median (training medians, applied inside the ONNX graph too)", DefaultText: strconv.Quote(jobs.DefaultMissing), EnvVars: env("MISSING"), Destination: &o.Missing},
		&cli.StringFlag{Name: "constant-columns", Usage: "features constant on the training rows: keep (scored by their departure from the constant; the input schema stays), drop (left out of the features), or fail (exit 3 when a feature is constant on every row)", DefaultText: strconv.Quote(jobs.DefaultConstantColumns), EnvVars: env("CONSTANT_COLUMNS"), Destination: &o.ConstantColumns},
		&cli.StringFlag{Name: "filter", Usage: "train only on rows matching a condition, e.g. \"status = 'ok' AND dt >= '2026-11-01'\"", EnvVars: env("FILTER"), Destination: &o.Filter},
		&cli.IntFlag{Name: "max-rows", Usage: "train on a seeded uniform sample of at most N rows, read with bounded memory (0: all)", EnvVars: env("MAX_ROWS"), Destination: &o.MaxRows},
		&cli.StringFlag{Name: "time-column", Usage: "validate on the most recent rows by this time, date or numeric column instead of a random split", EnvVars: env("TIME_COLUMN"), Destination: &o.TimeColumn},
		&cli.StringFlag{Name: "digest", Usage: "input fingerprints in run.json: sha256 (every byte) or size+footer (cheap, for huge inputs)", DefaultText: strconv.Quote(jobs.DefaultDigest), EnvVars: env("DIGEST"), Destination: &o.Digest},
		&cli.StringFlag{Name: "train-on", Usage: "with --label-column: train on all rows or only normal ones (all|normal)", DefaultText: strconv.Quote(jobs.DefaultTrainOn), EnvVars: env("TRAIN_ON"), Destination: &o.TrainOn},
	}
}

// modelFlags bind the model and training knobs; one not given keeps the
// preset's value.
func modelFlags(m *jobs.ModelOptions) []cli.Flag {
	return []cli.Flag{
		&cli.GenericFlag{Name: "epochs", Usage: "training epochs (default: the preset's)", EnvVars: env("EPOCHS"), Value: &m.Epochs},
		&cli.GenericFlag{Name: "batch-size", Usage: "minibatch size (default: the preset's)", EnvVars: env("BATCH_SIZE"), Value: &m.BatchSize},
		&cli.GenericFlag{Name: "learning-rate", Usage: "Adam learning rate (default: the preset's)", EnvVars: env("LEARNING_RATE"), Value: &m.LearningRate},
		&cli.GenericFlag{Name: "latent-dim", Usage: "latent dimension (default: the preset's)", EnvVars: env("LATENT_DIM"), Value: &m.LatentDim},
		&cli.StringFlag{Name: "scaler", Usage: "minmax or robust (default: the preset's)", EnvVars: env("SCALER"), Destination: &m.Scaler},
		&cli.GenericFlag{Name: "hidden", Usage: "encoder widths, e.g. 64,32; the decoder mirrors them (default: the preset's)", EnvVars: env("HIDDEN"), Value: widthsValue{&m.Hidden}},
		&cli.StringFlag{Name: "likelihood", Usage: "bernoulli, gaussian or laplace (default: the preset's)", EnvVars: env("LIKELIHOOD"), Destination: &m.Likelihood},
		&cli.StringFlag{Name: "objective", Usage: "tutorial or elbo (default: the preset's)", EnvVars: env("OBJECTIVE"), Destination: &m.Objective},
		&cli.StringFlag{Name: "score", Usage: "score kind: mse_mu, nll_mu, elbo_mu or nll_mu_latent (default: the preset's)", EnvVars: env("SCORE"), Destination: &m.ScoreKind},
		&cli.StringFlag{Name: "trainer", Usage: "graph (one gorgonia operation per step of the maths) or fused (the loss and its gradients in one gorgonia operation; faster, equal up to float32 rounding) (default: the preset's)", EnvVars: env("TRAINER"), Destination: &m.Trainer},
		&cli.StringFlag{Name: "init", Usage: "initial weights: pytorch or glorot (default: the preset's)", EnvVars: env("INIT"), Destination: &m.Init},
		&cli.GenericFlag{Name: "steps", Usage: "optimiser step budget, 0 for none (--epochs still bounds it) (default: the preset's)", EnvVars: env("STEPS"), Value: &m.Steps},
		&cli.GenericFlag{Name: "beta", Usage: "KL weight of the elbo objective (default: the preset's)", EnvVars: env("BETA"), Value: &m.Beta},
		&cli.GenericFlag{Name: "warmup-steps", Usage: "steps over which beta rises from 0 (default: the preset's)", EnvVars: env("WARMUP_STEPS"), Value: &m.WarmupSteps},
		&cli.GenericFlag{Name: "trim", Usage: "fraction of each minibatch's highest-loss rows left out of the loss, 0 to keep all (default: the preset's)", EnvVars: env("TRIM"), Value: &m.Trim},
		&cli.GenericFlag{Name: "trim-from", Usage: "first optimiser step that trims (default: the preset's)", EnvVars: env("TRIM_FROM"), Value: &m.TrimFrom},
	}
}

// trainRunFlags bind where the run goes and how it is run.
func trainRunFlags(o *jobs.TrainOptions) []cli.Flag {
	return []cli.Flag{
		outFlag(&o.Out),
		&cli.StringFlag{Name: "run-id", Usage: "run id (default: a new time-ordered id)", EnvVars: env("RUN_ID"), Destination: &o.RunID},
		&cli.StringFlag{Name: "preset", Usage: "model preset: " + strings.Join(jobs.Presets, " or "), DefaultText: strconv.Quote(jobs.DefaultPreset), EnvVars: env("PRESET"), Destination: &o.Preset},
		&cli.StringFlag{Name: "config", Usage: "YAML job config: keys are these flags' names; flags and VAEJOB_* variables override it", EnvVars: env("CONFIG"), Destination: &o.ConfigFile},
		&cli.BoolFlag{Name: "force", Usage: "redo a run id that already finished", EnvVars: env("FORCE"), Destination: &o.Force},
		&cli.DurationFlag{Name: "timeout", Usage: "stop the run after this long (e.g. 30m), exit 124, leave latest as it was", EnvVars: env("TIMEOUT"), Destination: &o.Timeout},
		&cli.IntFlag{Name: "keep", Usage: "keep only the newest N runs (never latest nor the run it replaced); 0 keeps all", EnvVars: env("KEEP"), Destination: &o.Keep},
	}
}

// gateFlags bind the promotion gate's limits.
func gateFlags(g *jobs.GateOptions) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "allow-schema-change", Usage: "gate: let a model with other features than latest's be promoted", EnvVars: env("ALLOW_SCHEMA_CHANGE"), Destination: &g.AllowSchemaChange},
		&cli.GenericFlag{Name: "gate-min-rows-fraction", Usage: "gate: reject a run with fewer training rows than this fraction of latest's (0: off)", DefaultText: fmt.Sprint(jobs.DefaultMinRowsFraction), EnvVars: env("GATE_MIN_ROWS_FRACTION"), Value: &g.MinRowsFraction},
		&cli.GenericFlag{Name: "gate-max-metric-drop", Usage: "gate, with labels: reject when validation ROC-AUC or PR-AUC is lower than latest's on the same rows by more than this", DefaultText: fmt.Sprint(jobs.DefaultMaxMetricDrop), EnvVars: env("GATE_MAX_METRIC_DROP"), Value: &g.MaxMetricDrop},
		&cli.Float64Flag{Name: "gate-max-alert-rate", Usage: "gate: reject a model that alerts on more than this fraction of latest's or its own validation rows (0: off)", EnvVars: env("GATE_MAX_ALERT_RATE"), Destination: &g.MaxAlertRate},
		&cli.Float64Flag{Name: "gate-max-score-drift", Usage: "gate: reject when latest scores the new validation rows with a Kolmogorov-Smirnov distance above this from its own (0: off)", EnvVars: env("GATE_MAX_SCORE_DRIFT"), Destination: &g.MaxScoreDrift},
	}
}
