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
	return command("verify", "read a model back with onnx-go and check its scores against the Go scorer", []cli.Flag{
		textFlag("model", "model.onnx to check", "", &o.Model),
		textFlag("input", "Parquet file whose rows to check (default: the validation sample beside the model)", "", &o.Input),
		workersFlag(),
	}, func(c *cli.Context) error {
		rep, err := jobs.Verify(c.Context, o)
		if rep != nil {
			fmt.Fprint(c.App.Writer, rep)
		}
		return err
	})
}
