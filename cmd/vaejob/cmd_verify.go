package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
)

// verifyCommand is vaejob verify: its flags are bound to a
// jobs.VerifyOptions.
func verifyCommand() *cli.Command {
	var o jobs.VerifyOptions
	return &cli.Command{
		Name:         "verify",
		OnUsageError: onUsageError,
		Usage:        "read a model back with onnx-go and check its scores against the Go scorer",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "model.onnx to check", EnvVars: env("MODEL"), Destination: &o.Model},
			&cli.StringFlag{Name: "input", Usage: "Parquet file whose rows to check (default: the validation sample beside the model)", EnvVars: env("INPUT"), Destination: &o.Input},
		},
		Action: func(c *cli.Context) error {
			rep, err := jobs.Verify(c.Context, o)
			if rep != nil {
				fmt.Fprint(c.App.Writer, rep)
			}
			return err
		},
	}
}
