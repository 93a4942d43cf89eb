package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/jobs/report"
)

// trainCommand is vaejob train. Its flags are bound to the fields of one
// jobs.TrainOptions; jobs checks them, fills in the preset and the
// defaults, and runs the job.
func trainCommand() *cli.Command {
	var (
		o      jobs.TrainOptions
		inputs cli.StringSlice // --input, repeatable: o.Inputs once read
		logs   logFlags
	)
	var flags []cli.Flag
	flags = append(flags, trainDataFlags(&o, &inputs)...)
	flags = append(flags, labelFlags(&o.Labels)...)
	flags = append(flags, modelFlags(&o.ModelOptions)...)
	flags = append(flags, trainRunFlags(&o)...)
	flags = append(flags, gateFlags(&o.Gate)...)
	flags = append(flags, logs.flag(), workersFlag())
	return command("train", "train a model on a Parquet table and publish OUT/runs/<run-id> and OUT/latest", flags, func(c *cli.Context) error {
		return train(c, &o, &inputs, &logs)
	})
}

// train runs jobs.Train with the options the flags, the VAEJOB_*
// variables and --config set, and prints the run's folder. The repeatable
// --input is bound to a cli.StringSlice, read once --config is applied.
func train(c *cli.Context, o *jobs.TrainOptions, inputs *cli.StringSlice, logs *logFlags) error {
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
	o.Inputs = inputs.Value()
	if o.RunID == "" {
		o.RunID = jobs.NewRunID(time.Now())
	}
	log, err := logs.logger(c, o.RunID)
	if err != nil {
		return err
	}
	o.Logger, o.Progress = log, logs.progress(c)
	o.Report = report.HTML
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
		&cli.StringSliceFlag{Name: "input", Usage: "data to train on: a Parquet or Arrow IPC file, a folder (read recursively) or a glob; repeat for several", EnvVars: env("input"), Destination: inputs},
		valueFlag("features", "comma-separated feature columns (default: every numeric column)", "", columnsValue{&o.Features}),
		valueFlag("exclude", "comma-separated columns to leave out of the default selection", "", columnsValue{&o.Exclude}),
		&cli.Int64Flag{Name: "seed", Usage: "seed of every random choice (split, initial weights, noise)", EnvVars: env("seed"), Destination: &o.Seed},
		valueFlag("validation-fraction", "fraction of rows held out to pick the threshold", fmt.Sprint(jobs.DefaultValidationFraction), &o.ValidationFraction),
		textFlag("threshold", "threshold method: quantile:Q, contamination:P, mad:K, or with labels f1, recall:R, precision:P", jobs.DefaultThreshold, &o.Threshold),
		textFlag("missing", "missing feature values (null, NaN, ±Inf, beyond ±1e30): fail, drop-rows, or impute-median (training medians, applied inside the ONNX graph too)", jobs.DefaultMissing, &o.Missing),
		textFlag("constant-columns", "features constant on the training rows: keep (scored by their departure from the constant; the input schema stays), drop (left out of the features), or fail (exit 3 when a feature is constant on every row)", jobs.DefaultConstantColumns, &o.ConstantColumns),
		textFlag("filter", "train only on rows matching a condition, e.g. \"status = 'ok' AND dt >= '2026-11-01'\"", "", &o.Filter),
		&cli.IntFlag{Name: "max-rows", Usage: "train on a seeded uniform sample of at most N rows, read with bounded memory (0: all)", EnvVars: env("max-rows"), Destination: &o.MaxRows},
		textFlag("time-column", "validate on the most recent rows by this time, date or numeric column instead of a random split", "", &o.TimeColumn),
		textFlag("digest", "input fingerprints in run.json: sha256 (every byte) or size+footer (cheap, for huge inputs)", jobs.DefaultDigest, &o.Digest),
		textFlag("train-on", "with --label-column: train on all rows or only normal ones (all|normal)", jobs.DefaultTrainOn, &o.TrainOn),
	}
}

// modelFlags bind the model and training knobs; one not given keeps the
// preset's value.
func modelFlags(m *jobs.ModelOptions) []cli.Flag {
	return []cli.Flag{
		valueFlag("epochs", "training epochs"+byPreset, "", &m.Epochs),
		valueFlag("batch-size", "minibatch size"+byPreset, "", &m.BatchSize),
		valueFlag("learning-rate", "Adam learning rate"+byPreset, "", &m.LearningRate),
		valueFlag("latent-dim", "latent dimension"+byPreset, "", &m.LatentDim),
		textFlag("scaler", "minmax or robust"+byPreset, "", &m.Scaler),
		valueFlag("hidden", "encoder widths, e.g. 64,32; the decoder mirrors them"+byPreset, "", widthsValue{&m.Hidden}),
		textFlag("likelihood", "bernoulli, gaussian or laplace"+byPreset, "", &m.Likelihood),
		textFlag("objective", "tutorial or elbo"+byPreset, "", &m.Objective),
		textFlag("score", "score kind: mse_mu, nll_mu, elbo_mu or nll_mu_latent"+byPreset, "", &m.ScoreKind),
		textFlag("trainer", "graph (one gorgonia operation per step of the maths) or fused (the loss and its gradients in one gorgonia operation; faster, equal up to float32 rounding)"+byPreset, "", &m.Trainer),
		textFlag("init", "initial weights: pytorch or glorot"+byPreset, "", &m.Init),
		textFlag("spikes", "on: a feature that holds one value on more than half the training rows is scored as that spike (0 on it) and a slab (its log-odds plus the distance from it elsewhere), not reconstructed; off: every feature alike"+byPreset, "", &m.Spikes),
		valueFlag("steps", "optimiser step budget, 0 for none (--epochs still bounds it)"+byPreset, "", &m.Steps),
		valueFlag("beta", "KL weight of the elbo objective"+byPreset, "", &m.Beta),
		valueFlag("warmup-steps", "steps over which beta rises from 0"+byPreset, "", &m.WarmupSteps),
		valueFlag("trim", "fraction of each minibatch's highest-loss rows left out of the loss, 0 to keep all"+byPreset, "", &m.Trim),
		valueFlag("trim-from", "first optimiser step that trims"+byPreset, "", &m.TrimFrom),
	}
}

// trainRunFlags bind where the run goes and how it is run.
func trainRunFlags(o *jobs.TrainOptions) []cli.Flag {
	return []cli.Flag{
		outFlag(&o.Out),
		textFlag("run-id", "run id (default: a new time-ordered id)", "", &o.RunID),
		textFlag("preset", "model preset: "+strings.Join(jobs.Presets, ", "), jobs.DefaultPreset, &o.Preset),
		textFlag("config", "YAML job config: keys are these flags' names; flags and VAEJOB_* variables override it", "", &o.ConfigFile),
		&cli.BoolFlag{Name: "force", Usage: "redo a run id that already finished", EnvVars: env("force"), Destination: &o.Force},
		&cli.DurationFlag{Name: "timeout", Usage: "stop the run after this long (e.g. 30m), exit 124, leave latest as it was", EnvVars: env("timeout"), Destination: &o.Timeout},
		&cli.IntFlag{Name: "keep", Usage: "keep only the newest N runs (never latest nor the run it replaced); 0 keeps all", EnvVars: env("keep"), Destination: &o.Keep},
	}
}

// gateFlags bind the promotion gate's limits.
func gateFlags(g *jobs.GateOptions) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "allow-schema-change", Usage: "gate: let a model with other features than latest's be promoted", EnvVars: env("allow-schema-change"), Destination: &g.AllowSchemaChange},
		valueFlag("gate-min-rows-fraction", "gate: reject a run with fewer training rows than this fraction of latest's (0: off)", fmt.Sprint(jobs.DefaultMinRowsFraction), &g.MinRowsFraction),
		valueFlag("gate-max-metric-drop", "gate, with labels: reject when validation ROC-AUC or PR-AUC is lower than latest's on the same rows by more than this", fmt.Sprint(jobs.DefaultMaxMetricDrop), &g.MaxMetricDrop),
		&cli.Float64Flag{Name: "gate-max-alert-rate", Usage: "gate: reject a model that alerts on more than this fraction of latest's or its own validation rows (0: off)", EnvVars: env("gate-max-alert-rate"), Destination: &g.MaxAlertRate},
		&cli.Float64Flag{Name: "gate-max-score-drift", Usage: "gate: reject when latest scores the new validation rows with a Kolmogorov-Smirnov distance above this from its own (0: off)", EnvVars: env("gate-max-score-drift"), Destination: &g.MaxScoreDrift},
	}
}
