package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
)

// scoreCommand is vaejob score: its flags are bound to a jobs.ScoreOptions.
func scoreCommand() *cli.Command {
	var o jobs.ScoreOptions
	return &cli.Command{
		Name:         "score",
		OnUsageError: onUsageError,
		Usage:        "score every row of a Parquet file with a model",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "model.onnx to score with", EnvVars: env("MODEL"), Destination: &o.Model},
			&cli.StringFlag{Name: "input", Usage: "Parquet file to score", EnvVars: env("INPUT"), Destination: &o.Input},
			&cli.StringFlag{Name: "output", Usage: "output file: Parquet, or CSV when it ends in .csv", EnvVars: env("OUTPUT"), Destination: &o.Output},
			&cli.GenericFlag{Name: "keep-columns", Usage: "comma-separated input columns to carry into the output (e.g. ids)", EnvVars: env("KEEP_COLUMNS"), Value: columnsValue{&o.Keep}},
		},
		Action: func(c *cli.Context) error {
			res, err := jobs.Score(c.Context, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "scored %d rows: %d anomalies (%d with a missing or non-finite value); wrote %s\n",
				res.Rows, res.Anomalies, res.Missing, o.Output)
			return nil
		},
	}
}
