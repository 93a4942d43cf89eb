//go:build !unix

package parquet

import (
	"errors"
)

// mkfifo fails where the file system has no named pipes: the tests that
// need one skip.
func mkfifo(string) error { return errors.ErrUnsupported }
