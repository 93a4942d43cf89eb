package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/parquet"
)

// scoreCommand is vaejob score: its flags are bound to a jobs.ScoreOptions.
func scoreCommand() *cli.Command {
	var o jobs.ScoreOptions
	flags := []cli.Flag{
		textFlag("model", "model.onnx to score with", "", &o.Model),
		textFlag("input", "Parquet or Arrow IPC file, folder or glob to score; - reads standard input (an Arrow IPC stream or CSV)", "", &o.Input),
		textFlag("output", "output file: Parquet, or CSV when it ends in .csv; - writes standard output", "", &o.Output),
		textFlag("input-format", fmt.Sprintf("format of standard input: %s (told by its first bytes), %s (an Arrow IPC stream) or %s", jobs.AutoFormat, parquet.Arrow, parquet.CSV), "", &o.InputFormat),
		textFlag("output-format", fmt.Sprintf("output format: %s (default: by --output's extension; for standard output, standard input's format, else %s)", strings.Join(parquet.FormatNames(), ", "), parquet.Arrow), "", &o.OutputFormat),
		valueFlag("keep-columns", "comma-separated input columns to carry into the output (e.g. ids)", "", columnsValue{&o.Keep}),
		workersFlag(),
		&cli.IntFlag{Name: "explain", Usage: "add per row the `K` features with the largest shares of the score, with their values and the values the model expected (0: none)", EnvVars: env("explain"), Destination: &o.Explain},
	}
	return command("score", "score every row of a table with a model", flags, func(c *cli.Context) error {
		o.Stdin, o.Stdout = c.App.Reader, c.App.Writer
		res, err := jobs.Score(c.Context, o)
		if err != nil {
			return err
		}
		if res.NoTail {
			fmt.Fprintf(c.App.ErrWriter, "warning: %s predates tail tables (written before format version 4): tail_probability is null; retrain to get it\n", o.Model)
		}
		wrote := o.Output
		if wrote == "-" {
			wrote = "standard output"
		}
		fmt.Fprintf(c.App.ErrWriter, "scored %d rows: %d anomalies (%d with a missing or non-finite value); wrote %s\n",
			res.Rows, res.Anomalies, res.Missing, wrote)
		return nil
	})
}
