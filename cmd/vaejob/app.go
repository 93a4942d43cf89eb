package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/parquet"
)

func newApp() *cli.App {
	return &cli.App{
		Metadata:     map[string]any{},
		Name:         "vaejob",
		Usage:        "train a VAE anomaly detector on a table and export it as ONNX",
		Version:      jobs.Version,
		OnUsageError: onUsageError,
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(c.App.ErrWriter, "vaejob: unknown command %q; see vaejob --help\n", name)
			os.Exit(exitUsage)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main decides exit codes
		Commands: []*cli.Command{trainCommand(), scoreCommand(), evaluateCommand(), verifyCommand(),
			promoteCommand(), runsCommand()},
	}
}

// onUsageError marks flag parsing errors as usage errors (exit code 2).
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return fmt.Errorf("%w: %v", jobs.ErrUsage, err)
}

func env(name string) []string { return []string{"VAEJOB_" + name} }

// usageError marks a command-line mistake found while binding flags.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", jobs.ErrUsage, fmt.Sprintf(format, args...))
}

func columnList(c *cli.Context, flag string) ([]string, error) {
	v, err := parquet.ParseColumnList(c.String(flag))
	if err != nil {
		return nil, usageError("--%s: %v", flag, err)
	}
	return v, nil
}

// checkPositive rejects numeric flags set (on the command line or in the
// environment) to zero or less, which would otherwise mean "the default".
func checkPositive(c *cli.Context, names ...string) error {
	for _, name := range names {
		if c.IsSet(name) && !(c.Float64(name) > 0 || c.Int(name) > 0) {
			return usageError("--%s %v: want a positive number", name, c.Value(name))
		}
	}
	return nil
}

func logFormatFlag() cli.Flag {
	return &cli.StringFlag{Name: "log-format", Usage: "log lines as text (for people) or json (for log shippers)", Value: "text", EnvVars: env("LOG_FORMAT")}
}

// newLogger returns the logger --log-format asks for.
func newLogger(c *cli.Context) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch f := c.String("log-format"); f {
	case "", "text":
		return slog.New(slog.NewTextHandler(c.App.ErrWriter, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(c.App.ErrWriter, opts)), nil
	default:
		return nil, usageError("--log-format %q: want text or json", f)
	}
}

// failureLogKey names, in the app's Metadata, the JSON logger main reports
// the final error through when a command logs JSON.
const failureLogKey = "failure-log"

// reportFailuresTo makes main report the error that ends the process
// through log (with its run id) when --log-format is json.
func reportFailuresTo(c *cli.Context, log *slog.Logger) {
	if c.String("log-format") == "json" {
		c.App.Metadata[failureLogKey] = log
	} else {
		delete(c.App.Metadata, failureLogKey)
	}
}

// commandLogger returns the --log-format logger and makes it the one main
// reports a failure through, tagged with runID.
func commandLogger(c *cli.Context, runID string) (*slog.Logger, error) {
	log, err := newLogger(c)
	if err != nil {
		return nil, err
	}
	reportFailuresTo(c, log.With("run_id", runID))
	return log, nil
}

// applyConfig reads --config and sets every flag it names that was not set
// on the command line or in the environment: flags and VAEJOB_* variables
// override the file.
func applyConfig(c *cli.Context) error {
	path := c.String("config")
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

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:         "train",
		OnUsageError: onUsageError,
		Usage:        "train a model on a Parquet table and publish OUT/runs/<run-id> and OUT/latest",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "input", Usage: "data to train on: a Parquet or Arrow IPC file, a folder (read recursively) or a glob; repeat for several", EnvVars: env("INPUT")},
			&cli.StringFlag{Name: "out", Usage: "output directory (holds runs/ and latest)", EnvVars: env("OUT")},
			&cli.StringFlag{Name: "features", Usage: "comma-separated feature columns (default: every numeric column)", EnvVars: env("FEATURES")},
			&cli.StringFlag{Name: "exclude", Usage: "comma-separated columns to leave out of the default selection", EnvVars: env("EXCLUDE")},
			&cli.Int64Flag{Name: "seed", Usage: "seed of every random choice (split, initial weights, noise)", EnvVars: env("SEED")},
			&cli.StringFlag{Name: "run-id", Usage: "run id (default: a new time-ordered id)", EnvVars: env("RUN_ID")},
			&cli.StringFlag{Name: "preset", Usage: "model preset: default or tutorial", Value: "default", EnvVars: env("PRESET")},
			&cli.IntFlag{Name: "epochs", Usage: "training epochs (default: the preset's)", EnvVars: env("EPOCHS")},
			&cli.IntFlag{Name: "batch-size", Usage: "minibatch size (default: the preset's)", EnvVars: env("BATCH_SIZE")},
			&cli.Float64Flag{Name: "learning-rate", Usage: "Adam learning rate (default: the preset's)", EnvVars: env("LEARNING_RATE")},
			&cli.IntFlag{Name: "latent-dim", Usage: "latent dimension (default: the preset's)", EnvVars: env("LATENT_DIM")},
			&cli.Float64Flag{Name: "validation-fraction", Usage: "fraction of rows held out to pick the threshold", Value: 0.2, EnvVars: env("VALIDATION_FRACTION")},
			&cli.StringFlag{Name: "threshold", Usage: "threshold method: quantile:Q, contamination:P, mad:K, or with labels f1, recall:R, precision:P", Value: "quantile:0.99", EnvVars: env("THRESHOLD")},
			labelColumnFlag(), normalValueFlag(),
			&cli.StringFlag{Name: "missing", Usage: "missing feature values (null, NaN, ±Inf, beyond ±1e30): fail, drop-rows, or impute-median (training medians, applied inside the ONNX graph too)", Value: "fail", EnvVars: env("MISSING")},
			&cli.StringFlag{Name: "constant-columns", Usage: "features constant on the training rows: keep (scored by their departure from the constant; the input schema stays), drop (left out of the features), or fail (exit 3 when a feature is constant on every row)", Value: "keep", EnvVars: env("CONSTANT_COLUMNS")},
			&cli.StringFlag{Name: "filter", Usage: "train only on rows matching a condition, e.g. \"status = 'ok' AND dt >= '2026-11-01'\"", EnvVars: env("FILTER")},
			&cli.IntFlag{Name: "max-rows", Usage: "train on a seeded uniform sample of at most N rows, read with bounded memory (0: all)", EnvVars: env("MAX_ROWS")},
			&cli.StringFlag{Name: "time-column", Usage: "validate on the most recent rows by this time, date or numeric column instead of a random split", EnvVars: env("TIME_COLUMN")},
			&cli.StringFlag{Name: "digest", Usage: "input fingerprints in run.json: sha256 (every byte) or size+footer (cheap, for huge inputs)", Value: "sha256", EnvVars: env("DIGEST")},
			&cli.StringFlag{Name: "train-on", Usage: "with --label-column: train on all rows or only normal ones (all|normal)", Value: "all", EnvVars: env("TRAIN_ON")},
			&cli.StringFlag{Name: "scaler", Usage: "minmax or robust (default: the preset's)", EnvVars: env("SCALER")},
			&cli.StringFlag{Name: "hidden", Usage: "encoder widths, e.g. 64,32; the decoder mirrors them (default: the preset's)", EnvVars: env("HIDDEN")},
			&cli.StringFlag{Name: "likelihood", Usage: "bernoulli, gaussian or laplace (default: the preset's)", EnvVars: env("LIKELIHOOD")},
			&cli.StringFlag{Name: "objective", Usage: "tutorial or elbo (default: the preset's)", EnvVars: env("OBJECTIVE")},
			&cli.StringFlag{Name: "score", Usage: "score kind: mse_mu, nll_mu, elbo_mu or nll_mu_latent (default: the preset's)", EnvVars: env("SCORE")},
			&cli.StringFlag{Name: "trainer", Usage: "graph (one gorgonia operation per step of the maths) or fused (the loss and its gradients in one gorgonia operation; faster, equal up to float32 rounding) (default: the preset's)", EnvVars: env("TRAINER")},
			&cli.StringFlag{Name: "init", Usage: "initial weights: pytorch or glorot (default: the preset's)", EnvVars: env("INIT")},
			&cli.IntFlag{Name: "steps", Usage: "optimiser step budget, 0 for none (--epochs still bounds it) (default: the preset's)", EnvVars: env("STEPS")},
			&cli.Float64Flag{Name: "beta", Usage: "KL weight of the elbo objective (default: the preset's)", EnvVars: env("BETA")},
			&cli.IntFlag{Name: "warmup-steps", Usage: "steps over which beta rises from 0 (default: the preset's)", EnvVars: env("WARMUP_STEPS")},
			&cli.Float64Flag{Name: "trim", Usage: "fraction of each minibatch's highest-loss rows left out of the loss, 0 to keep all (default: the preset's)", EnvVars: env("TRIM")},
			&cli.IntFlag{Name: "trim-from", Usage: "first optimiser step that trims (default: the preset's)", EnvVars: env("TRIM_FROM")},
			&cli.StringFlag{Name: "config", Usage: "YAML job config: keys are these flags' names; flags and VAEJOB_* variables override it", EnvVars: env("CONFIG")},
			&cli.BoolFlag{Name: "force", Usage: "redo a run id that already finished", EnvVars: env("FORCE")},
			&cli.DurationFlag{Name: "timeout", Usage: "stop the run after this long (e.g. 30m), exit 124, leave latest as it was", EnvVars: env("TIMEOUT")},
			&cli.IntFlag{Name: "keep", Usage: "keep only the newest N runs (never latest nor the run it replaced); 0 keeps all", EnvVars: env("KEEP")},
			&cli.BoolFlag{Name: "allow-schema-change", Usage: "gate: let a model with other features than latest's be promoted", EnvVars: env("ALLOW_SCHEMA_CHANGE")},
			&cli.Float64Flag{Name: "gate-min-rows-fraction", Usage: "gate: reject a run with fewer training rows than this fraction of latest's (0: off)", Value: jobs.DefaultMinRowsFraction, EnvVars: env("GATE_MIN_ROWS_FRACTION")},
			&cli.Float64Flag{Name: "gate-max-metric-drop", Usage: "gate, with labels: reject when validation ROC-AUC or PR-AUC is lower than latest's on the same rows by more than this", Value: jobs.DefaultMaxMetricDrop, EnvVars: env("GATE_MAX_METRIC_DROP")},
			&cli.Float64Flag{Name: "gate-max-alert-rate", Usage: "gate: reject a model that alerts on more than this fraction of latest's or its own validation rows (0: off)", EnvVars: env("GATE_MAX_ALERT_RATE")},
			&cli.Float64Flag{Name: "gate-max-score-drift", Usage: "gate: reject when latest scores the new validation rows with a Kolmogorov-Smirnov distance above this from its own (0: off)", EnvVars: env("GATE_MAX_SCORE_DRIFT")},
			logFormatFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("unexpected arguments %q: train takes flags only", strings.Join(c.Args().Slice(), " "))
			}
			// Until the config is read, --log-format and --run-id come
			// from the command line or the environment only.
			if _, err := commandLogger(c, c.String("run-id")); err != nil {
				return err
			}
			if err := applyConfig(c); err != nil {
				return err
			}
			runID := c.String("run-id")
			if runID == "" {
				runID = jobs.NewRunID(time.Now())
			}
			log, err := commandLogger(c, runID)
			if err != nil {
				return err
			}
			if err := checkPositive(c, "epochs", "batch-size", "latent-dim", "learning-rate", "validation-fraction"); err != nil {
				return err
			}
			features, err := columnList(c, "features")
			if err != nil {
				return err
			}
			exclude, err := columnList(c, "exclude")
			if err != nil {
				return err
			}
			model, err := modelOptions(c)
			if err != nil {
				return err
			}
			opts := jobs.TrainOptions{
				Model:              model,
				Inputs:             c.StringSlice("input"),
				Out:                c.String("out"),
				Features:           features,
				Exclude:            exclude,
				Seed:               c.Int64("seed"),
				RunID:              runID,
				Preset:             c.String("preset"),
				Epochs:             c.Int("epochs"),
				BatchSize:          c.Int("batch-size"),
				LearningRate:       c.Float64("learning-rate"),
				LatentDim:          c.Int("latent-dim"),
				ValidationFraction: c.Float64("validation-fraction"),
				Threshold:          c.String("threshold"),
				Labels:             labelsFrom(c),
				TrainOn:            c.String("train-on"),
				Missing:            c.String("missing"),
				ConstantColumns:    c.String("constant-columns"),
				Filter:             c.String("filter"),
				MaxRows:            c.Int("max-rows"),
				TimeColumn:         c.String("time-column"),
				Digest:             c.String("digest"),
				Force:              c.Bool("force"),
				Timeout:            c.Duration("timeout"),
				Keep:               c.Int("keep"),
				ConfigFile:         c.String("config"),
				Gate:               gateOptions(c),
				Logger:             log,
				Progress:           progressWriter(c),
			}
			res, err := jobs.Train(c.Context, opts)
			if res != nil {
				fmt.Fprintln(c.App.Writer, res.RunDir)
			}
			return err
		},
	}
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:         "verify",
		OnUsageError: onUsageError,
		Usage:        "read a model back with onnx-go and check its scores against the Go scorer",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "model.onnx to check", EnvVars: env("MODEL")},
			&cli.StringFlag{Name: "input", Usage: "Parquet file whose rows to check (default: the validation sample beside the model)", EnvVars: env("INPUT")},
		},
		Action: func(c *cli.Context) error {
			rep, err := jobs.Verify(c.Context, jobs.VerifyOptions{Model: c.String("model"), Input: c.String("input")})
			if rep != nil {
				fmt.Fprint(c.App.Writer, rep)
			}
			return err
		},
	}
}

func scoreCommand() *cli.Command {
	return &cli.Command{
		Name:         "score",
		OnUsageError: onUsageError,
		Usage:        "score every row of a Parquet file with a model",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "model.onnx to score with", EnvVars: env("MODEL")},
			&cli.StringFlag{Name: "input", Usage: "Parquet file to score", EnvVars: env("INPUT")},
			&cli.StringFlag{Name: "output", Usage: "output file: Parquet, or CSV when it ends in .csv", EnvVars: env("OUTPUT")},
			&cli.StringFlag{Name: "keep-columns", Usage: "comma-separated input columns to carry into the output (e.g. ids)", EnvVars: env("KEEP_COLUMNS")},
		},
		Action: func(c *cli.Context) error {
			keep, err := columnList(c, "keep-columns")
			if err != nil {
				return err
			}
			res, err := jobs.Score(c.Context, jobs.ScoreOptions{Model: c.String("model"), Input: c.String("input"), Output: c.String("output"), Keep: keep})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "scored %d rows: %d anomalies (%d with a missing or non-finite value); wrote %s\n",
				res.Rows, res.Anomalies, res.Missing, c.String("output"))
			return nil
		},
	}
}

func labelColumnFlag() cli.Flag {
	return &cli.StringFlag{Name: "label-column", Usage: "column that marks anomalies (never a feature)", EnvVars: env("LABEL_COLUMN")}
}

func normalValueFlag() cli.Flag {
	return &cli.StringFlag{Name: "normal-value", Usage: "value of --label-column for normal rows; every other value is an anomaly (default: the column holds 0 = normal, 1 = anomaly)", EnvVars: env("NORMAL_VALUE")}
}

func labelsFrom(c *cli.Context) jobs.Labels {
	return jobs.Labels{Column: c.String("label-column"), Normal: c.String("normal-value")}
}

func evaluateCommand() *cli.Command {
	return &cli.Command{
		Name:         "evaluate",
		OnUsageError: onUsageError,
		Usage:        "measure a model on a labelled table: ROC-AUC, PR-AUC, and precision/recall/F1 at its threshold",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "model.onnx to measure", EnvVars: env("MODEL")},
			&cli.StringFlag{Name: "input", Usage: "labelled Parquet file", EnvVars: env("INPUT")},
			labelColumnFlag(), normalValueFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the metrics as JSON"},
		},
		Action: func(c *cli.Context) error {
			ev, err := jobs.Evaluate(c.Context, jobs.EvaluateOptions{Model: c.String("model"), Input: c.String("input"), Labels: labelsFrom(c)})
			if err != nil {
				return err
			}
			return printResult(c, ev)
		},
	}
}

// modelOptions binds the model knobs; a flag that is not set keeps the
// preset's value.
func modelOptions(c *cli.Context) (jobs.ModelOptions, error) {
	m := jobs.ModelOptions{
		Scaler:     c.String("scaler"),
		Likelihood: c.String("likelihood"),
		Objective:  c.String("objective"),
		Score:      c.String("score"),
		Init:       c.String("init"),
		Trainer:    c.String("trainer"),
	}
	if h := c.String("hidden"); h != "" {
		for _, part := range strings.Split(h, ",") {
			w, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || w < 1 {
				return m, usageError("--hidden %q: want positive widths separated by commas, e.g. 64,32", h)
			}
			m.Hidden = append(m.Hidden, w)
		}
	}
	intIfSet := func(name string) *int {
		if !c.IsSet(name) {
			return nil
		}
		v := c.Int(name)
		return &v
	}
	floatIfSet := func(name string) *float64 {
		if !c.IsSet(name) {
			return nil
		}
		v := c.Float64(name)
		return &v
	}
	m.Steps, m.WarmupSteps, m.TrimFrom = intIfSet("steps"), intIfSet("warmup-steps"), intIfSet("trim-from")
	m.Beta, m.Trim = floatIfSet("beta"), floatIfSet("trim")
	return m, nil
}

// progressWriter is where the redrawn progress line may go: stderr with
// text logs (it is only drawn on a terminal), nowhere with JSON logs.
func progressWriter(c *cli.Context) io.Writer {
	if c.String("log-format") == "json" {
		return nil
	}
	return c.App.ErrWriter
}

// gateOptions binds the promotion gate's flags.
func gateOptions(c *cli.Context) jobs.GateOptions {
	minRows, drop := c.Float64("gate-min-rows-fraction"), c.Float64("gate-max-metric-drop")
	return jobs.GateOptions{
		AllowSchemaChange: c.Bool("allow-schema-change"),
		MinRowsFraction:   &minRows,
		MaxMetricDrop:     &drop,
		MaxAlertRate:      c.Float64("gate-max-alert-rate"),
		MaxScoreDrift:     c.Float64("gate-max-score-drift"),
	}
}

func outFlag() cli.Flag {
	return &cli.StringFlag{Name: "out", Usage: "output directory (holds runs/ and latest)", EnvVars: env("OUT")}
}

func promoteCommand() *cli.Command {
	return &cli.Command{
		Name:         "promote",
		OnUsageError: onUsageError,
		Usage:        "point latest at a run by hand (promote or roll back), recorded in OUT/audit.jsonl",
		ArgsUsage:    "RUN",
		Flags: []cli.Flag{
			outFlag(),
			&cli.StringFlag{Name: "by", Usage: "who promotes (default: $VAEJOB_USER or the OS user)"},
			&cli.StringFlag{Name: "reason", Usage: "why, for the audit trail"},
			logFormatFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("promote takes one run id (see vaejob runs list --out DIR)")
			}
			log, err := commandLogger(c, c.Args().First())
			if err != nil {
				return err
			}
			ev, err := jobs.Promote(c.Context, jobs.PromoteOptions{Out: c.String("out"), RunID: c.Args().First(), By: c.String("by"), Reason: c.String("reason"), Logger: log.With("run_id", c.Args().First())})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "latest -> runs/%s (was %s), by %s\n", ev.RunID, cmp.Or(ev.Previous, "none"), ev.By)
			return nil
		},
	}
}

func runsCommand() *cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print JSON"}
	return &cli.Command{
		Name:  "runs",
		Usage: "list the runs in OUT, or show one",
		Subcommands: []*cli.Command{
			{
				Name:         "list",
				OnUsageError: onUsageError,
				Usage:        "list the runs, oldest first, with their status, gate decision and whether their files are intact",
				Flags:        []cli.Flag{outFlag(), jsonFlag},
				Action: func(c *cli.Context) error {
					if c.String("out") == "" {
						return usageError("--out is required")
					}
					runs, err := jobs.ListRuns(c.String("out"))
					if err != nil {
						return err
					}
					if c.Bool("json") {
						if runs == nil {
							runs = []jobs.RunSummary{}
						}
						return writeJSON(c.App.Writer, runs)
					}
					fmt.Fprint(c.App.Writer, jobs.FormatRuns(runs))
					return nil
				},
			},
			{
				Name:         "show",
				OnUsageError: onUsageError,
				Usage:        "show one run: its record, artifacts (checked against their SHA-256) and audit events",
				ArgsUsage:    "RUN",
				Flags:        []cli.Flag{outFlag(), jsonFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 || c.String("out") == "" {
						return usageError("runs show takes --out and one run id")
					}
					d, err := jobs.ShowRun(c.String("out"), c.Args().First())
					if err != nil {
						return err
					}
					return printResult(c, d)
				},
			},
		},
	}
}

// printResult prints v as JSON with --json, else as text.
func printResult(c *cli.Context, v fmt.Stringer) error {
	if c.Bool("json") {
		return writeJSON(c.App.Writer, v)
	}
	_, err := fmt.Fprint(c.App.Writer, v)
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
