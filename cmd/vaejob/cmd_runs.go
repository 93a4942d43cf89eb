package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
)

// runsCommand is vaejob runs list and vaejob runs show RUN.
func runsCommand() *cli.Command {
	return &cli.Command{
		Name:        "runs",
		Usage:       "list the runs in OUT, or show one",
		Subcommands: []*cli.Command{runsListCommand(), runsShowCommand()},
	}
}

func runsListCommand() *cli.Command {
	var (
		out    string
		asJSON bool
	)
	return &cli.Command{
		Name:         "list",
		OnUsageError: onUsageError,
		Usage:        "list the runs, oldest first, with their status, gate decision and whether their files are intact",
		Flags:        []cli.Flag{outFlag(&out), jsonFlag(&asJSON, "print JSON")},
		Action: func(c *cli.Context) error {
			if out == "" {
				return usageError("--out is required")
			}
			runs, err := jobs.ListRuns(out)
			if err != nil {
				return err
			}
			if asJSON {
				if runs == nil {
					runs = []jobs.RunSummary{}
				}
				return writeJSON(c.App.Writer, runs)
			}
			fmt.Fprint(c.App.Writer, jobs.FormatRuns(runs))
			return nil
		},
	}
}

func runsShowCommand() *cli.Command {
	var (
		out    string
		asJSON bool
	)
	return &cli.Command{
		Name:         "show",
		OnUsageError: onUsageError,
		Usage:        "show one run: its record, artifacts (checked against their SHA-256) and audit events",
		ArgsUsage:    "RUN",
		Flags:        []cli.Flag{outFlag(&out), jsonFlag(&asJSON, "print JSON")},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || out == "" {
				return usageError("runs show takes --out and one run id")
			}
			d, err := jobs.ShowRun(out, c.Args().First())
			if err != nil {
				return err
			}
			return printResult(c.App.Writer, asJSON, d)
		},
	}
}
