//go:build unix

package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// mkfifo makes a named pipe (FIFO) at path.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }

// mknodNull makes a character device node like /dev/null (1, 3) at path
// (only root may).
func mknodNull(path string) error {
	return unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
}
