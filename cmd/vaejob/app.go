package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/parquet"
)

func newApp() *cli.App {
	return &cli.App{
		Name:         "vaejob",
		Usage:        "train a VAE anomaly detector on a table and export it as ONNX",
		Version:      jobs.Version,
		OnUsageError: onUsageError,
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(c.App.ErrWriter, "vaejob: unknown command %q; see vaejob --help\n", name)
			os.Exit(exitUsage)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main decides exit codes
		Commands:       []*cli.Command{trainCommand(), scoreCommand(), evaluateCommand(), verifyCommand()},
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

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:         "train",
		OnUsageError: onUsageError,
		Usage:        "train a model on a Parquet table and publish OUT/runs/<run-id> and OUT/latest",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Usage: "Parquet file to train on", EnvVars: env("INPUT")},
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
			&cli.StringFlag{Name: "train-on", Usage: "with --label-column: train on all rows or only normal ones (all|normal)", Value: "all", EnvVars: env("TRAIN_ON")},
			&cli.StringFlag{Name: "scaler", Usage: "minmax or robust (default: the preset's)", EnvVars: env("SCALER")},
			&cli.StringFlag{Name: "hidden", Usage: "encoder widths, e.g. 64,32; the decoder mirrors them (default: the preset's)", EnvVars: env("HIDDEN")},
			&cli.StringFlag{Name: "likelihood", Usage: "bernoulli, gaussian or laplace (default: the preset's)", EnvVars: env("LIKELIHOOD")},
			&cli.StringFlag{Name: "objective", Usage: "tutorial or elbo (default: the preset's)", EnvVars: env("OBJECTIVE")},
			&cli.StringFlag{Name: "score", Usage: "score kind: mse_mu, nll_mu, elbo_mu or nll_mu_latent (default: the preset's)", EnvVars: env("SCORE")},
			&cli.StringFlag{Name: "init", Usage: "initial weights: pytorch or glorot (default: the preset's)", EnvVars: env("INIT")},
			&cli.IntFlag{Name: "steps", Usage: "optimiser step budget, 0 for none (--epochs still bounds it) (default: the preset's)", EnvVars: env("STEPS")},
			&cli.Float64Flag{Name: "beta", Usage: "KL weight of the elbo objective (default: the preset's)", EnvVars: env("BETA")},
			&cli.IntFlag{Name: "warmup-steps", Usage: "steps over which beta rises from 0 (default: the preset's)", EnvVars: env("WARMUP_STEPS")},
			&cli.Float64Flag{Name: "trim", Usage: "fraction of each minibatch's highest-loss rows left out of the loss, 0 to keep all (default: the preset's)", EnvVars: env("TRIM")},
			&cli.IntFlag{Name: "trim-from", Usage: "first optimiser step that trims (default: the preset's)", EnvVars: env("TRIM_FROM")},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("unexpected arguments %q: train takes flags only", strings.Join(c.Args().Slice(), " "))
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
				Input:              c.String("input"),
				Out:                c.String("out"),
				Features:           features,
				Exclude:            exclude,
				Seed:               c.Int64("seed"),
				RunID:              c.String("run-id"),
				Preset:             c.String("preset"),
				Epochs:             c.Int("epochs"),
				BatchSize:          c.Int("batch-size"),
				LearningRate:       c.Float64("learning-rate"),
				LatentDim:          c.Int("latent-dim"),
				ValidationFraction: c.Float64("validation-fraction"),
				Threshold:          c.String("threshold"),
				Labels:             labelsFrom(c),
				TrainOn:            c.String("train-on"),
				Logger:             newLogger(c.App.ErrWriter),
				Progress:           c.App.ErrWriter,
			}
			res, err := jobs.Train(c.Context, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, res.RunDir)
			return nil
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
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(ev)
			}
			fmt.Fprint(c.App.Writer, ev)
			return nil
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
