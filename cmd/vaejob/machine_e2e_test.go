//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vaejob/vaejob/cmd/internal/faultfs"
)

// fillSpace writes dir/fill until the file system has no block left.
func fillSpace(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "fill"))
	mustSetUp(t, err)
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return
		}
	}
}

// leaveSpace fills dir (see fillSpace) but for n blocks of 4 KiB: enough
// for the lock file, not for a model.
func leaveSpace(n int64) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		fillSpace(t, dir)
		fill := filepath.Join(dir, "fill")
		fi, err := os.Stat(fill)
		mustSetUp(t, err)
		mustSetUp(t, os.Truncate(fill, max(0, fi.Size()-n*4096)))
	}
}

// fillInodes creates empty files in dir until the file system has no inode
// left.
func fillInodes(t *testing.T, dir string) {
	t.Helper()
	for i := 0; ; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("fill-%d", i)))
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the inodes of %s: %v", dir, err)
			}
			return
		}
		f.Close()
	}
}

// remountReadOnly makes the tmpfs at dir read-only, keeping its files.
func remountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount %s read-only: %v", dir, err)
	}
}

// TestMachineFaultsExit8: `score --output` and `train --out` on a file
// system that is full, has no inodes left or is read-only exit 8 (a fault
// of the machine: retry later), not 1 (a bug) nor 2 (a usage error), with
// a message that names the fault and says what to do, and leave the file
// system as it was: no partial or temporary file, for train no .lock, no
// empty runs/, no .tmp-* and latest unchanged. Train runs both into a
// fresh --out and into one that holds an earlier run.
//
// The faults are real: small tmpfs mounts (so the test needs root, and
// skips without).
func TestMachineFaultsExit8(t *testing.T) {
	base := t.TempDir()
	table := writeParquet(t, base, "train.parquet", goodColumns(200))
	trained := filepath.Join(base, "trained")
	if r := vaejob(t, trainArgs(table, trained, "--exclude", "tag")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	model := filepath.Join(trained, "latest", "model.onnx")

	type fault struct {
		opts  string // tmpfs mount options
		apply func(t *testing.T, dir string)
		says  []string // in stderr: the fault and what to do
	}
	full := fault{"size=1m", fillSpace, []string{"no space left on device", "free space", "run again"}}
	nearlyFull := fault{"size=1m", leaveSpace(2), full.says}
	noInodes := fault{"size=4m,nr_inodes=64", fillInodes, []string{"no space left on device", "free space", "run again"}}
	readOnly := fault{"size=1m", remountReadOnly, []string{"read-only file system", "mount it read-write", "run again"}}

	scoreInto := func(dir string) []string {
		return []string{"score", "--model", model, "--input", table, "--output", filepath.Join(dir, "scores.parquet"), "--keep-columns", "tag"}
	}
	trainInto := func(dir string) []string {
		return trainArgs(table, filepath.Join(dir, "out"), "--exclude", "tag", "--run-id", "today")
	}
	// earlierRun trains into dir/out before the fault, so that latest
	// must survive it.
	earlierRun := func(t *testing.T, dir string) {
		if r := vaejob(t, trainArgs(table, filepath.Join(dir, "out"), "--exclude", "tag", "--run-id", "earlier")...); r.code != 0 {
			t.Fatalf("earlier train exit %d:\n%s", r.code, r.stderr)
		}
	}

	tests := []struct {
		name    string
		fault   fault
		prepare func(t *testing.T, dir string) // before the fault; may be nil
		args    func(dir string) []string
	}{
		{name: "score --output, full", fault: full, args: scoreInto},
		{name: "score --output, no inodes", fault: noInodes, args: scoreInto},
		{name: "score --output, read-only", fault: readOnly, args: scoreInto},
		{name: "train --out fresh, full", fault: full, args: trainInto},
		{name: "train --out fresh, no inodes", fault: noInodes, args: trainInto},
		{name: "train --out fresh, read-only", fault: readOnly, args: trainInto},
		{name: "train --out with an earlier run, full", fault: full, prepare: earlierRun, args: trainInto},
		{name: "train --out with an earlier run, nearly full", fault: nearlyFull, prepare: earlierRun, args: trainInto},
		{name: "train --out fresh, nearly full", fault: nearlyFull, args: trainInto},
		{name: "train --out with an earlier run, no inodes", fault: noInodes, prepare: earlierRun, args: trainInto},
		{name: "train --out with an earlier run, read-only", fault: readOnly, prepare: earlierRun, args: trainInto},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := faultfs.MountTmpfs(t, tc.fault.opts)
			if tc.prepare != nil {
				tc.prepare(t, dir)
			}
			latestBefore, _ := os.Readlink(filepath.Join(dir, "out", "latest"))
			tc.fault.apply(t, dir)
			before := treeState(t, dir)

			r := vaejobWithin(t, 2*time.Minute, tc.args(dir)...)

			var problems []string
			if r.code != exitMachine {
				problems = append(problems, fmt.Sprintf("exit %d, want %d", r.code, exitMachine))
			}
			for _, s := range tc.fault.says {
				if !strings.Contains(r.stderr, s) {
					problems = append(problems, fmt.Sprintf("stderr does not say %q", s))
				}
			}
			if after := treeState(t, dir); !equalStates(before, after) {
				problems = append(problems, "the run changed the file system: "+strings.Join(stateDiff(dir, before, after), ", "))
			}
			if latestAfter, _ := os.Readlink(filepath.Join(dir, "out", "latest")); latestAfter != latestBefore {
				problems = append(problems, fmt.Sprintf("latest moved from %q to %q", latestBefore, latestAfter))
			}
			for _, p := range problems {
				t.Error(p)
			}
			if t.Failed() {
				t.Logf("stderr:\n%s", r.stderr)
			}
		})
	}
}

// stateDiff lists what differs between two treeStates of dir, by path
// below dir: "added P", "removed P", "changed P".
func stateDiff(dir string, before, after map[string]string) []string {
	var diff []string
	rel := func(p string) string { r, _ := filepath.Rel(dir, p); return r }
	for p, v := range after {
		switch w, ok := before[p]; {
		case !ok:
			diff = append(diff, "added "+rel(p))
		case w != v:
			diff = append(diff, "changed "+rel(p))
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			diff = append(diff, "removed "+rel(p))
		}
	}
	slices.Sort(diff)
	return diff
}
