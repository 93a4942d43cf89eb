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
	flags := append([]cli.Flag{
		textFlag("model", "model.onnx to measure", "", &o.Model),
		textFlag("input", "labelled Parquet file", "", &o.Input),
	}, labelFlags(&o.Labels)...)
	flags = append(flags, jsonFlag(&asJSON, "print the metrics as JSON"), workersFlag())
	return command("evaluate", "measure a model on a labelled table: ROC-AUC, PR-AUC, and precision/recall/F1 at its threshold", flags, func(c *cli.Context) error {
		ev, err := jobs.Evaluate(c.Context, o)
		if err != nil {
			return err
		}
		return printResult(c.App.Writer, asJSON, ev)
	})
}
