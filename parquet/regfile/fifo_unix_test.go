//go:build unix

package regfile

import (
	"syscall"
)

// mkfifo makes a named pipe (FIFO) at path.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
