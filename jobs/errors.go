package jobs

import "errors"

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
	// ErrVerify: a model's scores disagree between runtimes, or a model file
	// is not a vaejob model.
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
