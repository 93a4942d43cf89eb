// Command vaejob trains a VAE anomaly detector on a Parquet table and exports
// it as one ONNX file; see the README for the commands and exit codes.
//
// The command line is thin: each cmd_<verb>.go binds its flags straight to
// the fields of its jobs options struct (flags.go and values.go hold the
// shared flags and the typed values) and makes one call into jobs, which
// owns every default and check. app.go is the app and its logger; main.go
// handles signals and holds the one exit-code table.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/parquet"
)

// Exit codes: the one table of them, documented in the README and in
// DESIGN.md.
const (
	exitOK          = 0
	exitInternal    = 1
	exitUsage       = 2
	exitBadInput    = 3
	exitTraining    = 4
	exitRejected    = 5
	exitLocked      = 6
	exitMismatch    = 7
	exitMachine     = 8 // out of space, read-only, I/O error: retry later
	exitTimeout     = 124
	exitInterrupted = 130 // SIGINT
	exitTerminated  = 143 // SIGTERM
)

// signalError is the cancellation cause when a signal stops a run.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return fmt.Sprintf("stopped by %v", e.sig) }

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		cancel(signalError{sig})
		signal.Stop(sigs) // a second signal kills the process at once
	}()
	// Before any command reads a table: the decoder's buffers then come
	// from memory backed by huge pages (see parquet.PrepareHeap).
	parquet.PrepareHeap()
	app := newApp()
	err := app.RunContext(ctx, os.Args)
	if err != nil && errors.Is(err, context.Canceled) {
		if cause := context.Cause(ctx); cause != nil {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
	}
	code := exitCode(err)
	if code == exitMachine {
		err = fmt.Errorf("%w; %s", err, jobs.MachineFaultAdvice(err))
	}
	if err != nil {
		if log, ok := app.Metadata[failureLogKey].(*slog.Logger); ok {
			log.Error("run failed", "error", err.Error(), "exit_code", code)
		} else {
			fmt.Fprintf(os.Stderr, "vaejob: %v\n", err)
		}
	}
	os.Exit(code)
}

// exitCodes is the exit-code table: the first row whose test the error
// passes decides the exit code; an error that passes none is internal.
var exitCodes = []struct {
	matches func(error) bool
	code    int
}{
	{stoppedBy(syscall.SIGTERM), exitTerminated},
	{stoppedBy(nil), exitInterrupted}, // SIGINT
	{is(jobs.ErrTimeout), exitTimeout},
	// Before usage and bad input: an --out on a read-only file system is
	// refused as unusable, but running again later (or elsewhere) is what
	// fixes it.
	{jobs.IsMachineFault, exitMachine},
	{is(jobs.ErrUsage), exitUsage},
	{is(jobs.ErrBadInput), exitBadInput},
	{is(jobs.ErrTraining), exitTraining},
	{is(jobs.ErrRejected), exitRejected},
	{is(jobs.ErrLocked), exitLocked},
	{is(jobs.ErrVerify), exitMismatch},
}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	for _, row := range exitCodes {
		if row.matches(err) {
			return row.code
		}
	}
	return exitInternal
}

// is returns a test for errors wrapping target.
func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// stoppedBy returns a test for a run stopped by sig; nil: by any signal.
func stoppedBy(sig os.Signal) func(error) bool {
	return func(err error) bool {
		var s signalError
		return errors.As(err, &s) && (sig == nil || s.sig == sig)
	}
}
