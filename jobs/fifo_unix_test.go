//go:build unix

package jobs

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mkfifo makes a named pipe (FIFO) at path.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }

// makeCharDevice makes a character device node like /dev/null (1, 3) at
// path, or skips the test where this user may not (only root may).
func makeCharDevice(t *testing.T, path string) {
	t.Helper()
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("cannot make a device node (needs root): %v", err)
	}
}
