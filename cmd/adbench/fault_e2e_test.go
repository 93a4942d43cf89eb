//go:build linux

package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vaejob/vaejob/cmd/internal/faultfs"
)

// TestFullTempDisk runs the real binary with its temporary folder on a
// full file system (a 64 KiB tmpfs: the runs cannot write their models):
// every run fails with the fault named, the tables show as failed, the
// exit code is 1, and the file system is left empty.
func TestFullTempDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	bin := buildBinary(t)
	tmp := faultfs.MountTmpfs(t, "size=64k")
	cmd := exec.Command(bin, "--data", "testdata/dev", "--steps", "20")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1\n%s", err, out)
	}
	for _, want := range []string{"no space left on device", "| glass | A | 0 | failed |", "| WBC | B | 0 | failed |", "2 runs, 2 failed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left on the full file system: %v", left)
	}
}
