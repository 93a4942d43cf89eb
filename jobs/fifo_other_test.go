//go:build !unix

package jobs

import (
	"errors"
	"testing"
)

// mkfifo fails where the file system has no named pipes: the tests that
// need one skip.
func mkfifo(string) error { return errors.ErrUnsupported }

// makeCharDevice skips the test: no device nodes here.
func makeCharDevice(t *testing.T, _ string) {
	t.Helper()
	t.Skip("no device nodes on this system")
}
