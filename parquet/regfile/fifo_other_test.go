//go:build !unix

package regfile

import (
	"errors"
)

// mkfifo fails where the file system has no named pipes: the tests that
// need one skip.
func mkfifo(string) error { return errors.ErrUnsupported }
