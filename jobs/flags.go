package jobs

import (
	"errors"
	"strings"

	"github.com/vaejob/vaejob/parquet"
)

// flagOf names the settings of parquet.Selection and parquet.ReadOptions
// as the command line does, so that an error of the reader about one of
// them names the flag the user gave.
var flagOf = map[string]string{
	"Features": "--features",
	"Exclude":  "--exclude",
	"Keep":     "--keep-columns",
	"Filter":   "--filter",
}

// withFlags rewords an error of the parquet package about one setting
// (a parquet.FieldError, "filter ...") to name its flag ("--filter ..."),
// keeping the error's chain.
func withFlags(err error) error {
	var fe *parquet.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	flag, ok := flagOf[fe.Field]
	if !ok {
		return err
	}
	if fe.With != "" {
		with, ok := flagOf[fe.With]
		if !ok {
			return err
		}
		flag += " and " + with
	}
	msg := strings.Replace(err.Error(), fe.Error(), flag+" "+fe.Err.Error(), 1)
	return &flaggedError{msg: msg, err: err}
}

// flaggedError is an error with a message that names a flag.
type flaggedError struct {
	msg string
	err error
}

func (e *flaggedError) Error() string { return e.msg }
func (e *flaggedError) Unwrap() error { return e.err }
