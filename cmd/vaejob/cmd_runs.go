package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
)

// runsCommand is vaejob runs list, vaejob runs show RUN and vaejob runs
// diff A B.
func runsCommand() *cli.Command {
	return &cli.Command{
		Name:        "runs",
		Usage:       "list the runs in OUT, show one, or compare two",
		Subcommands: []*cli.Command{runsListCommand(), runsShowCommand(), runsDiffCommand()},
	}
}

// runsFlags are the flags of runs list and runs show: --out and --json.
type runsFlags struct {
	out    string
	asJSON bool
}

func (f *runsFlags) flags() []cli.Flag {
	return []cli.Flag{outFlag(&f.out), jsonFlag(&f.asJSON, "print JSON")}
}

func runsListCommand() *cli.Command {
	var f runsFlags
	return command("list", "list the runs, oldest first, with their status, gate decision and whether their files are intact", f.flags(), func(c *cli.Context) error {
		if f.out == "" {
			return usageError("--out is required")
		}
		runs, err := jobs.ListRuns(f.out)
		if err != nil {
			return err
		}
		if f.asJSON {
			if runs == nil {
				runs = []jobs.RunSummary{}
			}
			return writeJSON(c.App.Writer, runs)
		}
		fmt.Fprint(c.App.Writer, jobs.FormatRuns(runs))
		return nil
	})
}

func runsShowCommand() *cli.Command {
	var f runsFlags
	cmd := command("show", "show one run: its record, artifacts (checked against their SHA-256) and audit events", f.flags(), func(c *cli.Context) error {
		if c.NArg() != 1 || f.out == "" {
			return usageError("runs show takes --out and one run id")
		}
		d, err := jobs.ShowRun(f.out, c.Args().First())
		if err != nil {
			return err
		}
		return printResult(c.App.Writer, f.asJSON, d)
	})
	cmd.ArgsUsage = "RUN"
	return cmd
}

func runsDiffCommand() *cli.Command {
	var (
		f   runsFlags
		all bool
	)
	flags := append(f.flags(), &cli.BoolFlag{Name: "all", Usage: "show the fields that are equal too, after those that differ", Destination: &all})
	cmd := command("diff", "compare two runs side by side: settings, inputs, rows, features, threshold, metrics, gate, training and versions", flags, func(c *cli.Context) error {
		if c.NArg() != 2 || f.out == "" {
			return usageError("runs diff takes --out and two runs, each a run id or latest")
		}
		d, err := jobs.DiffRuns(f.out, c.Args().Get(0), c.Args().Get(1))
		if err != nil {
			return err
		}
		if f.asJSON {
			return writeJSON(c.App.Writer, d)
		}
		_, err = fmt.Fprint(c.App.Writer, d.Text(all))
		return err
	})
	cmd.ArgsUsage = "A B"
	return cmd
}
