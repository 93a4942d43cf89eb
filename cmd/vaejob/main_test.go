package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/vaejob/vaejob/jobs"
)

// TestExitCode: the table of exit codes, in particular where a machine
// fault (8) stands: after a signal and the timeout, before a usage error
// and bad input that carry its errno; permission denied stays a usage
// error, a file whose bytes are wrong stays bad input.
func TestExitCode(t *testing.T) {
	pathErr := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "open", Path: "/out/.lock", Err: errno}
	}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, exitOK},
		{"unknown", errors.New("index out of range"), exitInternal},
		{"usage", fmt.Errorf("%w: --epochs 0", jobs.ErrUsage), exitUsage},
		{"unknown command", unknownCommand("foo"), exitUsage},
		{"bad input", fmt.Errorf("%w: not a Parquet file", jobs.ErrBadInput), exitBadInput},
		{"training", fmt.Errorf("%w: loss diverged", jobs.ErrTraining), exitTraining},
		{"rejected", fmt.Errorf("%w: gate", jobs.ErrRejected), exitRejected},
		{"locked", fmt.Errorf("%w: held", jobs.ErrLocked), exitLocked},
		{"mismatch", fmt.Errorf("%w: damaged", jobs.ErrVerify), exitMismatch},
		{"machine", fmt.Errorf("sync: %w", jobs.ErrMachine), exitMachine},
		{"no space writing scores", fmt.Errorf("write scores: %w", pathErr(syscall.ENOSPC)), exitMachine},
		{"read-only --out as a usage error", fmt.Errorf("%w: --out /ro: %w", jobs.ErrUsage, pathErr(syscall.EROFS)), exitMachine},
		{"I/O error reading the input as bad input", fmt.Errorf("%w: read x.parquet: %w", jobs.ErrBadInput, pathErr(syscall.EIO)), exitMachine},
		{"quota", pathErr(syscall.EDQUOT), exitMachine},
		{"permission denied on --out", fmt.Errorf("%w: --out /x: %w", jobs.ErrUsage, pathErr(syscall.EACCES)), exitUsage},
		{"permission denied on the input", fmt.Errorf("%w: read x: %w", jobs.ErrBadInput, pathErr(syscall.EPERM)), exitBadInput},
		{"timeout before machine", fmt.Errorf("%w: %w", jobs.ErrTimeout, pathErr(syscall.ENOSPC)), exitTimeout},
		{"SIGTERM before machine", fmt.Errorf("%w (%w)", signalError{syscall.SIGTERM}, pathErr(syscall.EIO)), exitTerminated},
		{"SIGINT", fmt.Errorf("%w (%w)", signalError{syscall.SIGINT}, context.Canceled), exitInterrupted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.err); got != tc.want {
				t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}
