//go:build linux

// Package faultfs injects real faults of the machine into end-to-end tests:
// small tmpfs mounts that fill up or run out of inodes.
package faultfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// MountTmpfs mounts a fresh tmpfs with the mount options opts (such as
// "size=1m") on a new folder, unmounted when the test ends, and returns
// the folder. It skips the test where mounting is not allowed (not root,
// no CAP_SYS_ADMIN).
func MountTmpfs(t testing.TB, opts string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("set-up: %v", err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Skipf("cannot mount a tmpfs to inject the fault (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Logf("unmount %s: %v; detaching it", dir, err)
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	return dir
}
