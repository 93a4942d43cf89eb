package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"

	"github.com/urfave/cli/v2"
	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/parquet"
)

// This file holds the app and what its commands share: the usage errors,
// the --log-format logger and the output helpers (flags.go holds the
// shared flags). Each
// command is in its cmd_<name>.go; main.go turns errors into exit codes.

// newApp returns the vaejob command line.
func newApp() *cli.App {
	return &cli.App{
		Metadata:     map[string]any{},
		Name:         "vaejob",
		Usage:        "train a VAE anomaly detector on a table and export it as ONNX",
		Version:      jobs.Version,
		OnUsageError: onUsageError,
		// An unknown command (vaejob foo, vaejob help foo, vaejob runs
		// foo) is noted here and returned as a usage error by After, so
		// that main's exit-code table decides the exit code.
		CommandNotFound: func(c *cli.Context, name string) { c.App.Metadata[unknownCommandKey] = name },
		After: func(c *cli.Context) error {
			if name, ok := c.App.Metadata[unknownCommandKey].(string); ok {
				return unknownCommand(name)
			}
			return nil
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main decides exit codes
		Commands: []*cli.Command{trainCommand(), scoreCommand(), evaluateCommand(), verifyCommand(),
			promoteCommand(), runsCommand(), reportCommand()},
	}
}

// unknownCommandKey names, in the app's Metadata, the command a user
// asked for that does not exist.
const unknownCommandKey = "unknown-command"

// onUsageError marks flag parsing errors as usage errors (exit code 2).
// A value the flag's own parser refused reads as the rest of vaejob's
// usage errors do: --hidden "0,8": want positive widths...
func onUsageError(_ *cli.Context, err error, _ bool) error {
	msg := err.Error()
	if m := refusedFlagValue.FindStringSubmatch(msg); m != nil {
		msg = "--" + m[2] + " " + m[1] + ": " + m[3]
	}
	return fmt.Errorf("%w: %s", jobs.ErrUsage, msg)
}

// refusedFlagValue matches the standard flag package's message for a
// value a flag's Set refused ("invalid value %q for flag -%s: %v"), less
// the usage-error prefix the value's own error may carry.
var refusedFlagValue = regexp.MustCompile(`^invalid value (".*") for flag -([a-z0-9-]+): (?:` +
	regexp.QuoteMeta(parquet.ErrUsage.Error()+": ") + `)?(.*)$`)

// usageError marks a command-line mistake found while binding flags.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", jobs.ErrUsage, fmt.Sprintf(format, args...))
}

// commandError is a usage error whose message is its own, without the
// "usage error: " of ErrUsage.
type commandError struct{ msg string }

func (e *commandError) Error() string        { return e.msg }
func (e *commandError) Is(target error) bool { return target == jobs.ErrUsage }

// unknownCommand is the error of a command that does not exist.
func unknownCommand(name string) error {
	return &commandError{fmt.Sprintf("unknown command %q; see vaejob --help", name)}
}

// logFlags is the --log-format setting of a command that logs.
type logFlags struct{ format string }

func (l *logFlags) flag() cli.Flag {
	return &cli.StringFlag{Name: "log-format", Usage: "log lines as text (for people) or json (for log shippers)", Value: "text", EnvVars: env("log-format"), Destination: &l.format}
}

// logger returns the logger --log-format asks for and makes it the one
// main reports a failure through (with JSON logs), tagged with runID.
func (l *logFlags) logger(c *cli.Context, runID string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var log *slog.Logger
	switch l.format {
	case "", "text":
		log = slog.New(slog.NewTextHandler(c.App.ErrWriter, opts))
	case "json":
		log = slog.New(slog.NewJSONHandler(c.App.ErrWriter, opts))
	default:
		return nil, usageError("--log-format %q: want text or json", l.format)
	}
	if l.format == "json" {
		c.App.Metadata[failureLogKey] = log.With("run_id", runID)
	} else {
		delete(c.App.Metadata, failureLogKey)
	}
	return log, nil
}

// progress is where the redrawn progress line may go: stderr with text
// logs (it is only drawn on a terminal), nowhere with JSON logs.
func (l *logFlags) progress(c *cli.Context) io.Writer {
	if l.format == "json" {
		return nil
	}
	return c.App.ErrWriter
}

// failureLogKey names, in the app's Metadata, the JSON logger main reports
// the final error through when a command logs JSON.
const failureLogKey = "failure-log"

// printResult prints v as JSON when asJSON, else as text.
func printResult(w io.Writer, asJSON bool, v fmt.Stringer) error {
	if asJSON {
		return writeJSON(w, v)
	}
	_, err := fmt.Fprint(w, v)
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
