package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// manyRowGroups writes a folder of files many row groups each (hard links
// to one file, so that writing it costs little while reading it costs
// much) and returns the folder and the one file.
func manyRowGroups(t *testing.T, files, rows int) (dir, one string) {
	t.Helper()
	var cols []column
	for j := range 6 {
		cols = append(cols, column{name: fmt.Sprintf("x%d", j), vals: seq(rows, func(i int) float64 { return math.Sin(float64(i*(j+1))) + float64(j) })})
	}
	one = writeParquet(t, t.TempDir(), "part.parquet", cols) // row groups of 1024 rows
	dir = t.TempDir()
	for k := range files {
		if err := os.Link(one, filepath.Join(dir, fmt.Sprintf("part-%04d.parquet", k))); err != nil {
			t.Fatal(err)
		}
	}
	return dir, one
}

// startVaejob starts the binary with args and returns it with its stderr.
func startVaejob(t *testing.T, args ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(vaejobBin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stderr
}

// exitCodeOf waits for cmd and returns its exit code.
func exitCodeOf(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	}
	t.Fatalf("wait: %v", err)
	return -1
}

// TestSignalStopsRead sends SIGTERM while train and score read a folder of
// many files of many row groups, and gives train a --timeout shorter than
// the read: the read stops at the next row group and the run exits 143 (or
// 124) with nothing published (train: no run directory, no
// latest, no temporary directory, no lock; score: no output file and no
// temporary file).
func TestSignalStopsRead(t *testing.T) {
	// 100 files of 160 row groups: reading them all takes seconds, far
	// longer than a signal takes to arrive.
	dir, one := manyRowGroups(t, 100, 160*1024)
	for _, digest := range []string{"sha256", "size+footer"} {
		t.Run("train/"+digest, func(t *testing.T) {
			testSignalStopsTrainRead(t, dir, digest)
		})
	}
	t.Run("train/timeout", func(t *testing.T) {
		// The read takes seconds; the timeout ends it (or what comes
		// before it) with 124 and nothing published.
		out := t.TempDir()
		r := vaejob(t, trainArgs(dir, out, "--max-rows", "1000", "--digest", "size+footer", "--timeout", "500ms")...)
		if r.code != 124 {
			t.Fatalf("exit %d, want 124:\n%s", r.code, r.stderr)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("--out holds %v after the timeout, want nothing", entries)
		}
	})
	t.Run("score", func(t *testing.T) {
		testSignalStopsScoreRead(t, dir, one)
	})
}

// testSignalStopsTrainRead sends SIGTERM to train once it has begun to read
// dir. With the footer digest, which takes no time, only the read itself
// can notice the signal before the run logs the end of its read.
func testSignalStopsTrainRead(t *testing.T, dir, digest string) {
	out := t.TempDir()
	cmd, stderr := startVaejob(t, trainArgs(dir, out, "--max-rows", "1000", "--digest", digest)...)
	// The read has begun once the run says so.
	seen := waitFor(t, stderr, `msg="reading input"`)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	log := seen + string(rest)
	if code := exitCodeOf(t, cmd); code != 143 {
		t.Fatalf("exit %d, want 143:\n%s", code, log)
	}
	if strings.Contains(log, `msg="read input"`) {
		t.Errorf("the read went on to the end after SIGTERM:\n%s", log)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("--out holds %v after the signal, want nothing", entries)
	}
}

// testSignalStopsScoreRead trains a model on one, then sends SIGTERM to
// score once it has begun to read dir and write its output.
func testSignalStopsScoreRead(t *testing.T, dir, one string) {
	out := t.TempDir()
	if r := vaejob(t, trainArgs(one, out, "--max-rows", "2000", "--epochs", "2", "--run-id", "m")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	model := filepath.Join(out, "latest", "model.onnx")
	for _, name := range []string{"scores.parquet", "scores.csv"} {
		t.Run(name, func(t *testing.T) {
			outDir := t.TempDir()
			cmd, stderr := startVaejob(t, "score", "--model", model, "--input", dir, "--output", filepath.Join(outDir, name))
			var log strings.Builder
			copied := make(chan struct{})
			go func() { io.Copy(&log, stderr); close(copied) }()
			// The read has begun once the output's temporary file exists.
			for {
				if entries, _ := os.ReadDir(outDir); len(entries) > 0 {
					break
				}
				select {
				case <-copied:
					t.Fatalf("score ended before it began writing:\n%s", log.String())
				case <-time.After(time.Millisecond):
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			<-copied
			if code := exitCodeOf(t, cmd); code != 143 {
				t.Fatalf("exit %d, want 143:\n%s", code, log.String())
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("the output folder holds %v after the signal, want nothing", entries)
			}
		})
	}
}

// waitFor reads r until it has seen want and returns what it read.
func waitFor(t *testing.T, r io.Reader, want string) string {
	t.Helper()
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), want) {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("stderr ended before %s: %v\n%s", want, err, seen.String())
		}
		seen.Write(buf[:n])
	}
	return seen.String()
}

// TestSpecialInputRefused gives train and score a FIFO as input, directly
// and in a folder: each exits 3 at once, without waiting for a writer, and
// names the FIFO. A regression would block in open(2): the runs are
// killed after a minute and the test fails.
func TestSpecialInputRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "part-1.parquet")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("cannot make a FIFO: %v", err)
	}
	writeParquet(t, dir, "part-0.parquet", goodColumns(50))
	out := t.TempDir()
	if r := vaejob(t, trainArgs(filepath.Join(dir, "part-0.parquet"), out, "--exclude", "tag", "--run-id", "m")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	model := filepath.Join(out, "latest", "model.onnx")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"train fifo", trainArgs(fifo, t.TempDir(), "--exclude", "tag")},
		{"train folder with a fifo", trainArgs(dir, t.TempDir(), "--exclude", "tag")},
		{"score fifo", []string{"score", "--model", model, "--input", fifo, "--output", filepath.Join(t.TempDir(), "s.csv")}},
		{"evaluate fifo", []string{"evaluate", "--model", model, "--input", fifo, "--label-column", "tag", "--normal-value", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vaejobWithin(t, time.Minute, tc.args...)
			code, stderr := r.code, r.stderr
			if code != 3 || !strings.Contains(stderr, "FIFO") {
				t.Errorf("exit %d, want 3 naming the FIFO:\n%s", code, stderr)
			}
		})
	}
}

// TestFIFOModelOrConfigRefused gives score, verify and evaluate a FIFO, a
// device, a socket and a directory as --model, and train the same as
// --config: each is refused at once, without waiting for a writer, naming
// what the path is: exit 3 (bad input) for --model, as a missing model is,
// and 2 (usage) for --config, as a missing config is. A model over the
// 2 GiB bound (a sparse file) is refused before it is read. A regression
// would block in open(2): vaejobWithin kills the run and fails the test.
func TestFIFOModelOrConfigRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.onnx")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("cannot make a FIFO: %v", err)
	}
	sock := filepath.Join(dir, "s.onnx")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("cannot make a socket: %v", err)
	}
	defer l.Close()
	huge := filepath.Join(dir, "huge.onnx")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 2<<30+1); err != nil {
		t.Skipf("cannot make a sparse file: %v", err)
	}
	input := writeParquet(t, t.TempDir(), "in.parquet", goodColumns(50))
	specials := []struct{ name, path, says string }{
		{"fifo", fifo, "named pipe (FIFO)"},
		{"device", os.DevNull, "character device"},
		{"socket", sock, "socket"},
		{"directory", dir, "directory"},
	}
	for _, sp := range specials {
		for _, tc := range []struct {
			name string
			args []string
			code int
		}{
			{"score", []string{"score", "--model", sp.path, "--input", input, "--output", filepath.Join(t.TempDir(), "s.csv")}, 3},
			{"verify", []string{"verify", "--model", sp.path}, 3},
			{"evaluate", []string{"evaluate", "--model", sp.path, "--input", input, "--label-column", "tag", "--normal-value", "x"}, 3},
			{"train --config", []string{"train", "--config", sp.path, "--input", input, "--out", t.TempDir()}, 2},
		} {
			t.Run(sp.name+"/"+tc.name, func(t *testing.T) {
				r := vaejobWithin(t, time.Minute, tc.args...)
				code, stderr := r.code, r.stderr
				if code != tc.code || !strings.Contains(stderr, sp.says) || !strings.Contains(stderr, sp.path) {
					t.Errorf("exit %d, want %d naming %s a %s:\n%s", code, tc.code, sp.path, sp.says, stderr)
				}
			})
		}
	}
	t.Run("model over 2 GiB", func(t *testing.T) {
		r := vaejobWithin(t, time.Minute, "score", "--model", huge, "--input", input, "--output", filepath.Join(t.TempDir(), "s.csv"))
		if r.code != 3 || !strings.Contains(r.stderr, "larger than 2147483648 bytes") {
			t.Errorf("exit %d, want 3 saying the model is too large:\n%s", r.code, r.stderr)
		}
	})
}

// TestSentinelValues trains on a column holding ±3.4e38 sentinels: by
// default the run exits 3 naming the column and counting the values; with
// --missing impute-median it trains, and run.json counts them as missing.
func TestSentinelValues(t *testing.T) {
	cols := goodColumns(200)
	for _, i := range []int{3, 50, 120} {
		cols[1].vals[i] = 3.4e38
	}
	cols[1].vals[7] = -3.4e38
	train := writeParquet(t, t.TempDir(), "sentinels.parquet", cols)
	t.Run("fail", func(t *testing.T) {
		out := t.TempDir()
		r := vaejob(t, trainArgs(train, out, "--exclude", "tag")...)
		if r.code != 3 || !strings.Contains(r.stderr, `column "b": 4 values beyond ±1e+30 (treated as missing)`) {
			t.Fatalf("exit %d, want 3 naming column b and counting 4 values:\n%s", r.code, r.stderr)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("--out holds %v, want nothing", entries)
		}
	})
	t.Run("impute-median", func(t *testing.T) {
		out := t.TempDir()
		if r := vaejob(t, trainArgs(train, out, "--exclude", "tag", "--missing", "impute-median", "--run-id", "m")...); r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "runs", "m", "run.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Missing struct {
				PerColumn map[string]int     `json:"per_column"`
				Values    map[string]float32 `json:"imputation_values"`
			}
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Missing.PerColumn["b"] != 4 || rec.Missing.PerColumn["a"] != 0 || math.Abs(float64(rec.Missing.Values["b"])) > 3 {
			t.Errorf("run.json missing = %+v, want 4 values of b imputed with a median within its values", rec.Missing)
		}
	})
}

// TestFeatureNamesAndEmptyPartitions checks that a numeric column with an
// empty name is refused before training (exit 3, naming its position) and
// ignored when the features are named, and that an empty partition among
// others trains while a folder of only empty partitions exits 3.
func TestFeatureNamesAndEmptyPartitions(t *testing.T) {
	unnamed := goodColumns(60)
	unnamed = append(unnamed, column{name: "", vals: seq(60, func(i int) float64 { return float64(i % 7) })})
	unnamedFile := writeParquet(t, t.TempDir(), "unnamed.parquet", unnamed)
	mixed, empty := t.TempDir(), t.TempDir()
	for _, d := range []string{"dt=1", "dt=2", "dt=3"} {
		os.MkdirAll(filepath.Join(mixed, d), 0o755)
		os.MkdirAll(filepath.Join(empty, d), 0o755)
		writeParquet(t, filepath.Join(empty, d), "p.parquet", goodColumns(0))
	}
	writeParquet(t, filepath.Join(mixed, "dt=1"), "p.parquet", goodColumns(0))
	writeParquet(t, filepath.Join(mixed, "dt=2"), "p.parquet", goodColumns(80))
	writeParquet(t, filepath.Join(mixed, "dt=3"), "p.parquet", goodColumns(0))
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"unnamed feature", []string{"--exclude", "tag"}, 3, []string{`column 4 of the input has the name ""`}},
		{"unnamed column left out", []string{"--features", "a,b"}, 0, nil},
		{"empty partition among others", []string{"--exclude", "tag,dt"}, 0, nil},
		{"only empty partitions", []string{"--exclude", "tag,dt"}, 3, []string{"no rows"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := unnamedFile
			switch tc.name {
			case "empty partition among others":
				input = mixed
			case "only empty partitions":
				input = empty
			}
			out := t.TempDir()
			r := vaejob(t, trainArgs(input, out, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %s:\n%s", w, r.stderr)
				}
			}
			if tc.code != 0 && strings.Contains(r.stderr, "msg=epoch") {
				t.Errorf("refused after training began:\n%s", r.stderr)
			}
		})
	}
}

// TestScoreEmptyPartitions scores a folder of only empty partitions: the
// run exits 0 and writes an output with the kept columns, score and
// is_anomaly, and no rows.
func TestScoreEmptyPartitions(t *testing.T) {
	out := t.TempDir()
	if r := vaejob(t, trainArgs(writeParquet(t, t.TempDir(), "g.parquet", goodColumns(60)), out, "--exclude", "tag", "--run-id", "m")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	in := t.TempDir()
	for _, d := range []string{"dt=1", "dt=2"} {
		os.MkdirAll(filepath.Join(in, d), 0o755)
		writeParquet(t, filepath.Join(in, d), "p.parquet", goodColumns(0))
	}
	for _, name := range []string{"s.csv", "s.parquet"} {
		t.Run(name, func(t *testing.T) {
			o := filepath.Join(t.TempDir(), name)
			r := vaejob(t, "score", "--model", filepath.Join(out, "latest", "model.onnx"), "--input", in, "--output", o, "--keep-columns", "tag,dt")
			if r.code != 0 {
				t.Fatalf("exit %d, want 0:\n%s", r.code, r.stderr)
			}
			if name == "s.csv" {
				header, rows := readCSVScores(t, o)
				if strings.Join(header, ",") != "tag,dt,score,is_anomaly,tail_probability" || len(rows) != 0 {
					t.Errorf("header %q and %d rows, want tag,dt,score,is_anomaly,tail_probability and none", header, len(rows))
				}
			} else if st, err := os.Stat(o); err != nil || st.Size() == 0 {
				t.Errorf("no output file: %v", err)
			}
		})
	}
}
