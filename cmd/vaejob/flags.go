package main

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
)

// This file holds the flag constructors the commands share. Every flag is
// bound to a field (Destination, or a typed value) and, but for a few of
// promote's, also read from VAEJOB_<NAME>.

// env names the environment variable of the flag name: --max-rows is
// VAEJOB_MAX_ROWS.
func env(name string) []string {
	return []string{"VAEJOB_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

// byPreset ends the help of a knob whose default is the preset's.
const byPreset = " (default: the preset's)"

// textFlag binds a string flag to dst. def, when not empty, is the default
// jobs fills in, shown in the help.
func textFlag(name, usage, def string, dst *string) *cli.StringFlag {
	f := &cli.StringFlag{Name: name, Usage: usage, EnvVars: env(name), Destination: dst}
	if def != "" {
		f.DefaultText = strconv.Quote(def)
	}
	return f
}

// valueFlag binds a flag to a typed value (a jobs.Optional, a list). def,
// when not empty, is the default jobs fills in, shown in the help.
func valueFlag(name, usage, def string, v cli.Generic) *cli.GenericFlag {
	return &cli.GenericFlag{Name: name, Usage: usage, EnvVars: env(name), Value: v, DefaultText: def}
}

// outFlag binds --out, the output directory of train, promote and runs.
func outFlag(dst *string) cli.Flag {
	return textFlag("out", "output directory (holds runs/ and latest)", "", dst)
}

// labelFlags bind --label-column and --normal-value.
func labelFlags(l *jobs.Labels) []cli.Flag {
	return []cli.Flag{
		textFlag("label-column", "column that marks anomalies (never a feature)", "", &l.Column),
		textFlag("normal-value", "value of --label-column for normal rows; every other value is an anomaly (default: the column holds 0 = normal, 1 = anomaly)", "", &l.Normal),
	}
}

// workersFlag is --workers, the cap on parallelism (see workersValue) of
// the commands that read or score tables: train, score, evaluate, verify.
func workersFlag() cli.Flag {
	return valueFlag("workers", "run Go code on at most `N` threads at once (sets GOMAXPROCS; 0: every core)", "0", &workersValue{})
}

// jsonFlag binds --json, which prints a command's result as JSON.
func jsonFlag(dst *bool, usage string) cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: usage, Destination: dst}
}

// command returns a command whose flag errors are usage errors (exit 2).
func command(name, usage string, flags []cli.Flag, action cli.ActionFunc) *cli.Command {
	return &cli.Command{Name: name, Usage: usage, Flags: flags, Action: action, OnUsageError: onUsageError}
}
