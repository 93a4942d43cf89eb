package main

import (
	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
)

// evaluateCommand is vaejob evaluate: its flags are bound to a
// jobs.EvaluateOptions.
func evaluateCommand() *cli.Command {
	var (
		o      jobs.EvaluateOptions
		asJSON bool
	)
	flags := []cli.Flag{
		&cli.StringFlag{Name: "model", Usage: "model.onnx to measure", EnvVars: env("MODEL"), Destination: &o.Model},
		&cli.StringFlag{Name: "input", Usage: "labelled Parquet file", EnvVars: env("INPUT"), Destination: &o.Input},
	}
	flags = append(flags, labelFlags(&o.Labels)...)
	return &cli.Command{
		Name:         "evaluate",
		OnUsageError: onUsageError,
		Usage:        "measure a model on a labelled table: ROC-AUC, PR-AUC, and precision/recall/F1 at its threshold",
		Flags:        append(flags, jsonFlag(&asJSON, "print the metrics as JSON")),
		Action: func(c *cli.Context) error {
			ev, err := jobs.Evaluate(c.Context, o)
			if err != nil {
				return err
			}
			return printResult(c.App.Writer, asJSON, ev)
		},
	}
}
