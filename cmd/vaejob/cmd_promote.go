package main

import (
	"cmp"
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
)

// promoteCommand is vaejob promote RUN: its flags are bound to a
// jobs.PromoteOptions.
func promoteCommand() *cli.Command {
	var (
		o    jobs.PromoteOptions
		logs logFlags
	)
	flags := []cli.Flag{
		outFlag(&o.Out),
		&cli.StringFlag{Name: "by", Usage: "who promotes (default: $VAEJOB_USER or the OS user)", Destination: &o.By},
		&cli.StringFlag{Name: "reason", Usage: "why, for the audit trail", Destination: &o.Reason},
		logs.flag(),
	}
	cmd := command("promote", "point latest at a run by hand (promote or roll back), recorded in OUT/audit.jsonl", flags, func(c *cli.Context) error {
		if c.NArg() != 1 {
			return usageError("promote takes one run id (see vaejob runs list --out DIR)")
		}
		o.RunID = c.Args().First()
		log, err := logs.logger(c, o.RunID)
		if err != nil {
			return err
		}
		o.Logger = log.With("run_id", o.RunID)
		ev, err := jobs.Promote(c.Context, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "latest -> runs/%s (was %s), by %s\n", ev.RunID, cmp.Or(ev.Previous, "none"), ev.By)
		return nil
	})
	cmd.ArgsUsage = "RUN"
	return cmd
}
