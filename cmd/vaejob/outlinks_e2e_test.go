package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutAndRunsMayBeLinks: --out itself, or OUT/runs, may be a symbolic
// link to a folder on another volume (a common setup): train, a second
// train, promote, runs list and --keep work through it, and the runs land
// in the link's target.
func TestOutAndRunsMayBeLinks(t *testing.T) {
	for _, linked := range []string{"out", "runs"} {
		t.Run(linked, func(t *testing.T) {
			dir := t.TempDir()
			volume := filepath.Join(dir, "volume")
			if err := os.Mkdir(volume, 0o755); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			runsTarget := filepath.Join(volume, "runs")
			if linked == "out" {
				if err := os.Symlink(volume, out); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.Mkdir(out, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(runsTarget, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(runsTarget, filepath.Join(out, "runs")); err != nil {
					t.Fatal(err)
				}
			}
			s := &scheduler{t: t, out: out}
			for _, id := range []string{"a", "b", "c"} {
				wantCode(t, "train "+id, s.train(id, "--keep", "2"), 0, "msg=published")
			}
			s.check("three runs", "c")
			wantCode(t, "promote", vaejob(t, "promote", "--out", out, "b"), 0, "latest now points at b")
			s.check("promote", "b")
			r := vaejob(t, "runs", "list", "--out", out)
			if r.code != 0 || !strings.Contains(r.stdout, "* b") {
				t.Errorf("runs list: exit %d\n%s", r.code, r.stdout)
			}
			for _, id := range []string{"b", "c"} {
				if _, err := os.Stat(filepath.Join(runsTarget, id, "model.onnx")); err != nil {
					t.Errorf("run %s is not on the linked volume: %v", id, err)
				}
			}
			if _, err := os.Stat(filepath.Join(runsTarget, "a")); err == nil {
				t.Error("--keep 2 kept run a")
			}
		})
	}
}

// TestRunFolderLinksRefused: a link planted in runs/ under a run id is
// never followed: train with that --run-id, promote and runs show exit 2
// and leave the link's target as it was.
func TestRunFolderLinksRefused(t *testing.T) {
	s := &scheduler{t: t, out: t.TempDir()}
	wantCode(t, "first run", s.train("r1"), 0, "msg=published")
	// The target is laid out as a --out of its own, so hashRuns reads it.
	other := t.TempDir()
	elsewhere := filepath.Join(other, "runs", "victim")
	if err := os.CopyFS(elsewhere, os.DirFS(filepath.Join(s.out, "runs", "r1"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(s.out, "runs", "planted")); err != nil {
		t.Fatal(err)
	}
	before := hashRuns(t, other, []string{"victim"})
	wantCode(t, "train into a linked run folder", s.train("planted"), 2, "is a symbolic link")
	wantCode(t, "train --force into a linked run folder", s.train("planted", "--force"), 2, "is a symbolic link")
	wantCode(t, "promote a linked run folder", vaejob(t, "promote", "--out", s.out, "planted"), 2, "is a symbolic link")
	wantCode(t, "runs show a linked run folder", vaejob(t, "runs", "show", "--out", s.out, "planted"), 2, "is a symbolic link")
	s.check("after the refusals", "r1")
	checkHashes(t, other, before, "the link's target")
	if r := vaejob(t, "runs", "list", "--out", s.out); strings.Contains(r.stdout, "planted") {
		t.Errorf("runs list shows the planted link:\n%s", r.stdout)
	}
}
