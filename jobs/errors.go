package jobs

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// Error kinds. Every error a job returns for a known cause wraps one of them;
// anything else is an internal error.
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
)

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
