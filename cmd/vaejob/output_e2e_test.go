package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// treeState records every path below dir with its type and, for a
// regular file, its SHA-256, so a test can tell that a run changed nothing.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		state[p] = d.Type().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			state[p] += " " + hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// TestScoreOutputRefusedEndToEnd: `vaejob score` exits 2 (usage), naming
// --output and what is there, for an --output that is one of its inputs
// (the --input file, a file of an --input folder or glob) or is not a
// regular file (a symbolic link to an input or to a fresh path elsewhere,
// a directory, a FIFO, a socket, a device node, /dev/null itself), and
// leaves every file as it was. Before the fix, the folder and glob cases
// exited 0 with the input file replaced by scores (issue 13, finding 1)
// and the links, FIFO, socket and device were replaced by a regular file
// (finding 2).
func TestScoreOutputRefusedEndToEnd(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "out")
	train := writeParquet(t, base, "train.parquet", goodColumns(200))
	if r := vaejob(t, trainArgs(train, out, "--exclude", "tag")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	model := filepath.Join(out, "latest", "model.onnx")

	var privateDeviceSurvived bool
	tests := []struct {
		name   string
		input  string // relative to the case's folder, which holds in/x.parquet and in/y.parquet
		output string // relative to the case's folder, or absolute
		says   string
		setup  func(t *testing.T, output, dir string) // makes the output path; may skip
	}{
		{name: "the input file", input: "in/x.parquet", output: "in/x.parquet", says: "is the input file"},
		{name: "a file of the input folder", input: "in", output: "in/y.parquet", says: "(found through --input"},
		{name: "a file the input glob matches", input: "in/*.parquet", output: "in/x.parquet", says: "(found through --input"},
		{name: "a symlink to an input", input: "in", output: "link.parquet", says: "is a symbolic link",
			setup: func(t *testing.T, p, dir string) { mustSetUp(t, os.Symlink(filepath.Join(dir, "in", "x.parquet"), p)) }},
		{name: "a symlink to a fresh path elsewhere", input: "in", output: "fresh-link.csv", says: "is a symbolic link",
			setup: func(t *testing.T, p, dir string) {
				mustSetUp(t, os.Symlink(filepath.Join(dir, "elsewhere", "new.csv"), p))
			}},
		{name: "a directory", input: "in", output: "scores.parquet", says: "is a directory",
			setup: func(t *testing.T, p, _ string) { mustSetUp(t, os.Mkdir(p, 0o755)) }},
		{name: "a FIFO", input: "in", output: "scores.csv", says: "is a named pipe (FIFO)",
			setup: func(t *testing.T, p, _ string) { mustSetUp(t, mkfifo(p)) }},
		{name: "a socket", input: "in", output: "sock.csv", says: "is a socket",
			setup: func(t *testing.T, p, _ string) {
				l, err := net.Listen("unix", p)
				if err != nil {
					t.Skipf("cannot make a socket: %v", err)
				}
				t.Cleanup(func() { l.Close() })
			}},
		{name: "a device node", input: "in", output: "null", says: "is a character device",
			setup: func(t *testing.T, p, _ string) {
				if err := mknodNull(p); err != nil {
					t.Skipf("cannot make a device node (needs root): %v", err)
				}
				t.Cleanup(func() { privateDeviceSurvived = !t.Failed() })
			}},
		{name: "/dev/null", input: "in", output: os.DevNull, says: "is a character device",
			setup: func(t *testing.T, _, _ string) {
				// Only once the same case on a private device node has
				// passed, so that a regression cannot replace this
				// machine's /dev/null.
				if !privateDeviceSurvived {
					t.Skip("the private device node case did not pass; not risking /dev/null")
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustSetUp(t, os.Mkdir(filepath.Join(dir, "in"), 0o755))
			mustSetUp(t, os.Mkdir(filepath.Join(dir, "elsewhere"), 0o755))
			writeParquet(t, filepath.Join(dir, "in"), "x.parquet", goodColumns(20))
			writeParquet(t, filepath.Join(dir, "in"), "y.parquet", goodColumns(30))
			output := tc.output
			if !filepath.IsAbs(output) {
				output = filepath.Join(dir, output)
			}
			if tc.setup != nil {
				tc.setup(t, output, dir)
			}
			before := treeState(t, dir)
			lbefore, lerr := os.Lstat(output)
			r := vaejobWithin(t, 60*time.Second, "score", "--model", model, "--input", filepath.Join(dir, tc.input), "--output", output, "--keep-columns", "tag")
			if r.code != 2 || !strings.Contains(r.stderr, "--output") || !strings.Contains(r.stderr, tc.says) {
				t.Errorf("exit %d, want 2 naming --output and saying %q:\n%s", r.code, tc.says, r.stderr)
			}
			if after := treeState(t, dir); !equalStates(before, after) {
				t.Errorf("the run changed files:\nbefore %q\nafter  %q", stateNames(before), stateNames(after))
			}
			if lafter, err := os.Lstat(output); (lerr == nil) != (err == nil) || lerr == nil && (lafter.Mode() != lbefore.Mode() || !os.SameFile(lafter, lbefore)) {
				t.Errorf("%s was replaced: was %v, now %v", output, lbefore, lafter)
			}
		})
	}
}

func mustSetUp(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equalStates(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func stateNames(m map[string]string) []string {
	var ks []string
	for k, v := range m {
		ks = append(ks, filepath.Base(k)+" "+strings.Fields(v + " ")[0])
	}
	return ks
}
