package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/jobs/report"
)

// reportCommand is vaejob report: it draws a run's report.html again from
// its run.json into --output, leaving the run's folder as published.
func reportCommand() *cli.Command {
	o := jobs.ReportOptions{Draw: report.HTML}
	flags := []cli.Flag{
		outFlag(&o.Out),
		textFlag("output", "the .html file to write (not inside OUT/runs/)", "", &o.Output),
	}
	cmd := command("report", "draw a run's report.html again from its run.json (and the replaced run's) into --output", flags, func(c *cli.Context) error {
		if c.NArg() != 1 {
			return usageError("report takes --out, --output and one run id, the flags first: vaejob report --out DIR --output FILE RUN")
		}
		o.RunID = c.Args().First()
		res, err := jobs.RedrawReport(o)
		if err != nil {
			return err
		}
		if res.ReplacedMissing != nil {
			fmt.Fprintf(c.App.ErrWriter, "vaejob: the replaced run %s cannot be read (%v): the report compares nothing\n", res.Replaced, res.ReplacedMissing)
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", o.Output)
		return nil
	})
	cmd.ArgsUsage = "RUN"
	return cmd
}
