//go:build !unix

package main

import (
	"errors"
)

// mkfifo fails where the file system has no named pipes: the tests that
// need one skip.
func mkfifo(string) error { return errors.ErrUnsupported }

// mknodNull fails: no device nodes here.
func mknodNull(string) error { return errors.ErrUnsupported }
