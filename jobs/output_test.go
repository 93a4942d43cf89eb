package jobs

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/vaejob/vaejob/onnx"
)

// fileDigests returns the SHA-256 of every regular file below dir, so a
// test can tell that a refused run changed none of them.
func fileDigests(t *testing.T, dir string) map[string][sha256.Size]byte {
	t.Helper()
	sums := map[string][sha256.Size]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sums[p] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// tempFiles lists the temporary files of createAtomic left below dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			left = append(left, p)
		}
		return nil
	})
	return left
}

// TestScoreOutputRefused: an --output that is one of the files the run
// reads (the --input file, a file of an --input folder or glob, under
// another spelling or through a hard link, the --model), or that is not a
// regular file (a symbolic link, wherever it leads, a folder, a FIFO, a
// socket, a device node, /dev/null itself), is a usage error naming
// --output and what is there, before anything is written: every file is
// unchanged, the path still holds what it held, a link's target is not
// created, no temporary file is left, and a FIFO does not block the run.
// Before the fix the folder and glob cases exited 0 and replaced the
// input, and the others were replaced by a regular file.
func TestScoreOutputRefused(t *testing.T) {
	data, err := onnx.Encode(withTestVector(centreModel([]string{"a", "b"}, 0.3, 0.05)))
	if err != nil {
		t.Fatal(err)
	}
	// Each case gets a fresh folder of: model.onnx, single.parquet, the
	// partitioned folder in/dt=0/part-0.parquet and in/dt=1/part-1.parquet,
	// and an empty folder elsewhere/.
	type fixture struct{ dir, model, single, folder, part0, part1, elsewhere string }
	newFixture := func(t *testing.T) fixture {
		dir := t.TempDir()
		f := fixture{dir: dir, model: filepath.Join(dir, "model.onnx"), single: filepath.Join(dir, "single.parquet"),
			folder: filepath.Join(dir, "in"), elsewhere: filepath.Join(dir, "elsewhere")}
		f.part0 = filepath.Join(f.folder, "dt=0", "part-0.parquet")
		f.part1 = filepath.Join(f.folder, "dt=1", "part-1.parquet")
		for _, d := range []string{filepath.Dir(f.part0), filepath.Dir(f.part1), f.elsewhere} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(f.model, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{f.single, f.part0, f.part1} {
			writeScoreInput(t, p, 20, 10, arrow.PrimitiveTypes.Int64)
		}
		return f
	}
	// makes returns a setup that makes the output path with mk(path, f).
	makes := func(mk func(path string, f fixture) error) func(*testing.T, string, fixture) {
		return func(t *testing.T, path string, f fixture) {
			if err := mk(path, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	in := func(name string) func(fixture) string {
		return func(f fixture) string { return filepath.Join(f.dir, name) }
	}
	var privateDeviceSurvived bool

	tests := []struct {
		name          string
		input, output func(fixture) string
		says          func(fixture) string
		setup         func(t *testing.T, output string, f fixture) // makes the output path; may skip
	}{
		{name: "the input file",
			input: func(f fixture) string { return f.single }, output: func(f fixture) string { return f.single },
			says: func(fixture) string { return "is the input file (--input)" }},
		{name: "the input file spelled otherwise",
			input:  func(f fixture) string { return f.single },
			output: func(f fixture) string { return filepath.Join(f.folder, "..", ".", "single.parquet") },
			says:   func(fixture) string { return "is the input file" }},
		{name: "a file of the input folder",
			input: func(f fixture) string { return f.folder }, output: func(f fixture) string { return f.part0 },
			says: func(f fixture) string {
				return "is the input file " + f.part0 + " (found through --input " + f.folder + ")"
			}},
		{name: "a nested file of the input folder",
			input: func(f fixture) string { return f.folder }, output: func(f fixture) string { return f.part1 },
			says: func(fixture) string { return "found through --input" }},
		{name: "a file the input glob matches",
			input:  func(f fixture) string { return filepath.Join(f.folder, "dt=*", "*.parquet") },
			output: func(f fixture) string { return f.part0 },
			says:   func(fixture) string { return "found through --input" }},
		{name: "a hard link to an input file",
			input: func(f fixture) string { return f.folder }, output: in("hard.parquet"),
			says:  func(f fixture) string { return "is the input file " + f.part0 },
			setup: makes(func(p string, f fixture) error { return os.Link(f.part0, p) })},
		{name: "the model",
			input: func(f fixture) string { return f.single }, output: func(f fixture) string { return f.model },
			says: func(fixture) string { return "is the model file (--model)" }},
		{name: "a symlink to an input file",
			input: func(f fixture) string { return f.folder }, output: in("link.parquet"),
			says:  func(f fixture) string { return "is a symbolic link (to " + f.part0 + ")" },
			setup: makes(func(p string, f fixture) error { return os.Symlink(f.part0, p) })},
		{name: "a symlink to a fresh path",
			input: func(f fixture) string { return f.single }, output: in("fresh-link.csv"),
			says:  func(fixture) string { return "is a symbolic link" },
			setup: makes(func(p string, f fixture) error { return os.Symlink(filepath.Join(f.elsewhere, "fresh.csv"), p) })},
		{name: "a directory",
			input: func(f fixture) string { return f.single }, output: in("scores.parquet"),
			says:  func(fixture) string { return "is a directory" },
			setup: makes(func(p string, _ fixture) error { return os.Mkdir(p, 0o755) })},
		{name: "a path ending in a separator",
			input: func(f fixture) string { return f.single }, output: func(f fixture) string { return filepath.Join(f.dir, "new") + "/" },
			says: func(fixture) string { return "ends in a path separator" }},
		{name: "a FIFO",
			input: func(f fixture) string { return f.single }, output: in("fifo.csv"),
			says:  func(fixture) string { return "is a named pipe (FIFO), which vaejob will not replace" },
			setup: makes(func(p string, _ fixture) error { return mkfifo(p) })},
		{name: "a socket",
			input: func(f fixture) string { return f.single }, output: in("sock.csv"),
			says: func(fixture) string { return "is a socket" },
			setup: func(t *testing.T, p string, _ fixture) {
				l, err := net.Listen("unix", p)
				if err != nil {
					t.Skipf("cannot make a socket: %v", err)
				}
				t.Cleanup(func() { l.Close() })
			}},
		{name: "a device node",
			input: func(f fixture) string { return f.single }, output: in("null"),
			says: func(fixture) string { return "is a character device" },
			setup: func(t *testing.T, p string, _ fixture) {
				makeCharDevice(t, p)
				t.Cleanup(func() { privateDeviceSurvived = !t.Failed() })
			}},
		{name: "/dev/null",
			input: func(f fixture) string { return f.single }, output: func(fixture) string { return os.DevNull },
			says: func(fixture) string { return "is a character device" },
			setup: func(t *testing.T, _ string, _ fixture) {
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
			f := newFixture(t)
			input, output := tc.input(f), tc.output(f)
			if tc.setup != nil {
				tc.setup(t, output, f)
			}
			before := fileDigests(t, f.dir)
			lbefore, lerr := os.Lstat(output)
			done := make(chan error, 1)
			go func() {
				_, err := Score(context.Background(), ScoreOptions{Model: f.model, Input: input, Output: output, Keep: []string{"id"}})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("score still running after 20s: blocked on the output?")
			}
			if says := tc.says(f); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--output") || !strings.Contains(err.Error(), says) {
				t.Errorf("err = %v\nwant a usage error naming --output and saying %q", err, says)
			}
			if after := fileDigests(t, f.dir); !equalDigests(before, after) {
				t.Errorf("files changed: %d before, %d after, or their contents", len(before), len(after))
			}
			if lafter, err := os.Lstat(output); (lerr == nil) != (err == nil) || lerr == nil && (lafter.Mode() != lbefore.Mode() || !os.SameFile(lafter, lbefore)) {
				t.Errorf("%s was replaced: was %v, now %v", output, lbefore, lafter)
			}
			if left := tempFiles(t, f.dir); len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
			if entries, _ := os.ReadDir(f.elsewhere); len(entries) > 0 {
				t.Errorf("a file was created at a link's target: %v", entries)
			}
		})
	}
}

func equalDigests(a, b map[string][sha256.Size]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestScoreOutputAllowed: what the checks must still let through: a new
// file beside the inputs, inside the input folder, and an existing regular
// file that is not an input (replaced whole).
func TestScoreOutputAllowed(t *testing.T) {
	dir := t.TempDir()
	model := writeCentreModel(t, dir)
	folder := filepath.Join(dir, "in")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScoreInput(t, filepath.Join(folder, "part-0.parquet"), 20, 10, arrow.PrimitiveTypes.Int64)
	old := filepath.Join(dir, "old.csv")
	if err := os.WriteFile(old, []byte("yesterday's scores\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, output := range []string{filepath.Join(dir, "new.csv"), filepath.Join(folder, "scores.parquet"), old} {
		inputs := fileDigests(t, folder)
		res, err := Score(context.Background(), ScoreOptions{Model: model, Input: folder, Output: output})
		if err != nil {
			t.Fatalf("--output %s: %v", output, err)
		}
		if res.Rows != 20 {
			t.Errorf("--output %s: %d rows, want 20", output, res.Rows)
		}
		fi, err := os.Lstat(output)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
			t.Errorf("--output %s: %v, %v; want a regular file, mode 0644", output, fi, err)
		}
		// The next run must not find this output among its inputs.
		os.Remove(filepath.Join(folder, "scores.parquet"))
		if after := fileDigests(t, folder); !equalDigests(inputs, after) {
			t.Errorf("--output %s changed the input folder", output)
		}
	}
	if b, _ := os.ReadFile(old); strings.HasPrefix(string(b), "yesterday") {
		t.Errorf("the existing output was not replaced: %q", b)
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// TestCreateAtomicReplacesOnlyRegularFiles: should the path become a
// symbolic link, a folder or a FIFO while the file is written, createAtomic
// refuses to rename over it, leaves it as it is (a link's target is not
// created) and removes its temporary file.
func TestCreateAtomicReplacesOnlyRegularFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(path, target string) error
		kind string
	}{
		{"symlink", func(p, target string) error { return os.Symlink(target, p) }, "symbolic link"},
		{"directory", func(p, _ string) error { return os.Mkdir(p, 0o755) }, "directory"},
		{"fifo", func(p, _ string) error { return mkfifo(p) }, "named pipe (FIFO)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, target := filepath.Join(dir, "out.csv"), filepath.Join(dir, "target.csv")
			err := createAtomic(diskFS, path, 0o644, func(w io.Writer) error {
				if err := tc.make(path, target); err != nil {
					return err
				}
				_, err := io.WriteString(w, "scores\n")
				return err
			})
			var nr *notRegularTargetError
			if !errors.As(err, &nr) || !strings.Contains(err.Error(), tc.kind) {
				t.Fatalf("err = %v, want a refusal naming a %s", err, tc.kind)
			}
			if fi, err := os.Lstat(path); err != nil || fi.Mode().IsRegular() {
				t.Errorf("%s was replaced by a regular file (%v, %v)", path, fi, err)
			}
			if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the link's target was created")
			}
			if left := tempFiles(t, dir); len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}
