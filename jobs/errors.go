package jobs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/parquet/regfile"
)

// Error kinds. Every error a job returns for a known cause wraps one of them,
// or one of the two declared beside their owners: ErrRejected (gate.go) and
// ErrLocked (lock.go). Anything else is an internal error. The package doc
// lists the exit code cmd/vaejob gives each.
var (
	// ErrUsage: the options are inconsistent or out of range.
	ErrUsage = errors.New("usage error")
	// ErrBadInput: the input data cannot be used (missing, not Parquet,
	// wrong columns, nulls, constant columns, too few rows).
	ErrBadInput = errors.New("bad input data")
	// ErrTraining: training failed (the loss diverged).
	ErrTraining = errors.New("training failed")
	// ErrVerify: a model's scores disagree between runtimes or with the
	// scores recorded with it: the model file is damaged. (A file that is
	// not a vaejob model is ErrBadInput.)
	ErrVerify = errors.New("verification failed")
	// ErrTimeout: the run reached its --timeout.
	ErrTimeout = errors.New("timeout reached")
	// ErrMachine: the machine, not the job, failed: the file system is out
	// of space, inodes or quota, is read-only, or gave an I/O error while
	// reading the input or writing the output. Neither the options nor the
	// data are at fault: retry later, possibly elsewhere. Errors that carry
	// such an errno need not wrap it; see IsMachineFault.
	ErrMachine = errors.New("machine fault")
)

// machineErrnos are the errors of the system that make a fault of the
// machine (see ErrMachine), with what to do about each. Permission
// denied (EACCES, EPERM) is not among them: it is the setup's fault, a
// usage error. Neither is EMFILE, this process's own limit on open files,
// which vaejob stays far below unless it leaks (a bug); ENFILE, the
// system-wide table of open files being full, is the machine's state and
// passes. ESTALE, a file handle a network file system no longer honours
// (its server restarted, or the file was replaced on another client), is
// fixed by running again. osMachineErrnos adds the codes of systems whose
// errors are not errnos (Windows).
var machineErrnos = append([]machineErrno{
	{syscall.ENOSPC, "the file system is full (no space or no inodes left): " + adviceFreeSpace},
	{syscall.EDQUOT, adviceQuota},
	{syscall.EROFS, "the file system is mounted read-only: mount it read-write, or write elsewhere, then run again"},
	{syscall.EIO, "the storage failed to read or write (an I/O error): " + adviceCheckDisk},
	{syscall.ENFILE, "the system's table of open files is full: retry later"},
	{syscall.ESTALE, "a network file system dropped a file handle (stale file handle): retry later"},
}, osMachineErrnos...)

// The advice of machineErrnos that several systems' codes share.
const (
	adviceFreeSpace = "free space on it, or write elsewhere, then run again"
	adviceQuota     = "the disk quota is used up: free space or raise the quota, then run again"
	adviceCheckDisk = "check the disk, and retry later, possibly on another machine"
)

// IsMachineFault reports whether err is a fault of the machine rather than
// of the options, the data or vaejob (see ErrMachine): whether its chain
// holds ErrMachine or one of the errnos of a full, read-only or failing
// file system (ENOSPC, EDQUOT, EROFS, EIO, ENFILE, ESTALE).
func IsMachineFault(err error) bool {
	return err != nil && (errors.Is(err, ErrMachine) || findMachineErrno(err) != nil)
}

// MachineFaultAdvice says what to do about a machine fault (see
// IsMachineFault): free space, remount, retry later. It is "" for any
// other error.
func MachineFaultAdvice(err error) string {
	if e := findMachineErrno(err); e != nil {
		return e.advice
	}
	if errors.Is(err, ErrMachine) {
		return "the machine failed, not the job: retry later, possibly on another machine"
	}
	return ""
}

// machineErrno is an errno of a machine fault and what to do about it.
type machineErrno struct {
	errno  syscall.Errno
	advice string
}

// findMachineErrno returns the first of machineErrnos that err's chain
// holds, or nil.
func findMachineErrno(err error) *machineErrno {
	for i := range machineErrnos {
		if errors.Is(err, machineErrnos[i].errno) {
			return &machineErrnos[i]
		}
	}
	return nil
}

// kind wraps err so that errors.Is(result, k) holds, keeping err's own
// message and chain.
func kind(k, err error) error {
	if err == nil || errors.Is(err, k) {
		return err
	}
	return &kindError{kind: k, err: err}
}

type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// stopped words the error of a run stopped by its context: the cause (a
// signal, the timeout) stays in the chain for the exit code.
func stopped(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		return fmt.Errorf("run stopped: %w", cause)
	}
	return err
}

// inputErr gives an error of the parquet package (reading an input, a
// --model's table, a label column) its flag names and the jobs kind of
// its parquet kind: parquet.ErrUsage is ErrUsage, parquet.ErrBadInput is
// ErrBadInput; anything else is left as it is.
func inputErr(err error) error {
	err = withFlags(err)
	if errors.Is(err, parquet.ErrUsage) {
		return kind(ErrUsage, err)
	}
	if errors.Is(err, parquet.ErrBadInput) {
		return kind(ErrBadInput, err)
	}
	return err
}

// userFileError words a failure of regfile to read a file a flag names
// (the caller adds the flag): what is wrong and what to give instead
// (want, such as "a model.onnx file").
func userFileError(err error, want string) error {
	var notRegular *regfile.NotRegularError
	var tooLarge *regfile.TooLargeError
	switch {
	case errors.As(err, &notRegular):
		return fmt.Errorf("%w; give the path of %s", err, want)
	case errors.As(err, &tooLarge):
		return fmt.Errorf("%w: is it the right file? give the path of %s", err, want)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w; check the path", err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w; make the file readable by this user", err)
	}
	return err
}
