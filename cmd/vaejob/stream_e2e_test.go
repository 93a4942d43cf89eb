package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// streamRow is row i of the table testdata/interop/stream.mjs writes (its
// row function is the same): a is null in one row of 97.
func streamRow(i int) (a float64, aNull bool, b float64, tag string) {
	a = float64((i*7919)%10007-5003) / 5003
	b = float64((i*104729)%10009-5004) / 1668
	return a, i%97 == 5, b, "r" + strconv.Itoa(i)
}

// streamColumns is the table of streamRow with n rows, for Parquet.
func streamColumns(n int) []column {
	a := column{name: "a", vals: make([]float64, n), null: make([]bool, n)}
	b := column{name: "b", vals: make([]float64, n)}
	tag := column{name: "tag", label: make([]string, n)}
	for i := range n {
		a.vals[i], a.null[i], b.vals[i], tag.label[i] = streamRow(i)
		if a.null[i] {
			a.vals[i] = math.NaN()
		}
	}
	return []column{a, b, tag}
}

// node runs testdata/interop/stream.mjs with args and stdin, and returns
// its standard output.
func node(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("node", append([]string{"stream.mjs"}, args...)...)
	cmd.Dir = interopDir
	cmd.Stdin = bytes.NewReader(stdin)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node stream.mjs %v: %v\n%s", args, err, errb.Bytes())
	}
	return out
}

// TestScoreArrowStreamsThroughNode pipes an Arrow IPC stream written by
// apache-arrow (npm) through `vaejob score --input - --output -` and reads
// the stream it writes back with apache-arrow: every row equals the
// file-based run's (the same table as Parquet), score and tail probability
// bit for bit, the kept column as it was, a null feature scoring NaN; one
// record batch out per batch in; the columns and types those of the
// Parquet output. CSV out of the same stream equals the file-based CSV
// byte for byte. A stream cut short fails (exit 3) with standard output
// lacking the end-of-stream marker.
func TestScoreArrowStreamsThroughNode(t *testing.T) {
	requireInterop(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if r := vaejob(t, trainArgs(writeParquet(t, dir, "train.parquet", goodColumns(400)), out, "--exclude", "tag")...); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	model := filepath.Join(out, "latest", "model.onnx")
	const rows, batch = 3000, 700
	table := writeParquet(t, dir, "table.parquet", streamColumns(rows))
	fileCSV, fileParquet := filepath.Join(dir, "scores.csv"), filepath.Join(dir, "scores.parquet")
	for _, o := range []string{fileCSV, fileParquet} {
		if r := vaejob(t, "score", "--model", model, "--input", table, "--output", o, "--keep-columns", "tag"); r.code != 0 {
			t.Fatalf("score %s: exit %d\n%s", o, r.code, r.stderr)
		}
	}
	_, want := readCSVScores(t, fileCSV)

	stream := node(t, nil, "write", strconv.Itoa(rows), strconv.Itoa(batch))
	piped := vaejobPiped(t, stream, "score", "--model", model, "--input", "-", "--output", "-", "--keep-columns", "tag")
	if piped.code != 0 {
		t.Fatalf("score --input - --output -: exit %d\n%s", piped.code, piped.stderr)
	}
	var got struct {
		Fields  [][2]string `json:"fields"`
		Batches int         `json:"batches"`
		Rows    [][]any     `json:"rows"`
	}
	if err := json.Unmarshal(node(t, []byte(piped.stdout), "read"), &got); err != nil {
		t.Fatal(err)
	}
	if wantBatches := (rows + batch - 1) / batch; got.Batches != wantBatches {
		t.Errorf("%d record batches out, want one per batch in (%d)", got.Batches, wantBatches)
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("%d rows out of the pipe, %d out of the file", len(got.Rows), len(want))
	}
	nan := 0
	for i, g := range got.Rows {
		w := want[i]
		score, tail := csvFloat32Bits(t, w[1]), csvFloat32Bits(t, w[3])
		if g[0] != w[0] || g[1] != float64(score) || g[2] != (w[2] == "true") || g[3] != float64(tail) {
			t.Fatalf("row %d: piped %v, file %v", i, g, w)
		}
		if w[1] == "NaN" {
			nan++
		}
	}
	if nan != (rows+91)/97 {
		t.Errorf("%d rows score NaN, want the %d with a null feature", nan, (rows+91)/97)
	}
	checkSameSchema(t, []byte(piped.stdout), fileParquet)

	asCSV := vaejobPiped(t, stream, "score", "--model", model, "--input", "-", "--output", "-", "--output-format", "csv", "--keep-columns", "tag")
	if b, err := os.ReadFile(fileCSV); err != nil || asCSV.code != 0 || asCSV.stdout != string(b) {
		t.Errorf("Arrow in, CSV out: exit %d, %d bytes; the file-based run wrote %d (%v)\n%s", asCSV.code, len(asCSV.stdout), len(b), err, asCSV.stderr)
	}

	cut := vaejobPiped(t, stream[:len(stream)*2/3], "score", "--model", model, "--input", "-", "--output", "-", "--keep-columns", "tag")
	eos := []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}
	if cut.code != exitBadInput || bytes.HasSuffix([]byte(cut.stdout), eos) {
		t.Errorf("a stream cut short: exit %d, stdout of %d bytes ending in the end-of-stream marker: %v\n%s",
			cut.code, len(cut.stdout), bytes.HasSuffix([]byte(cut.stdout), eos), cut.stderr)
	}
}

// csvFloat32Bits reads a float of a CSV score file as its float32 bits.
func csvFloat32Bits(t *testing.T, s string) uint32 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		t.Fatalf("score file: %q: %v", s, err)
	}
	return math.Float32bits(float32(v))
}

// checkSameSchema checks that the Arrow stream's columns have the names
// and types of the Parquet score file's, read back by arrow-go.
func checkSameSchema(t *testing.T, stream []byte, parquetFile string) {
	t.Helper()
	r, err := ipc.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	pf, err := file.OpenParquetFile(parquetFile, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	got := r.Schema()
	if got.NumFields() != want.NumFields() {
		t.Fatalf("the stream has columns %v, the Parquet file %v", got, want)
	}
	for i, f := range got.Fields() {
		if w := want.Field(i); f.Name != w.Name || !arrow.TypeEqual(f.Type, w.Type) {
			t.Errorf("column %d: the stream has %s %s, the Parquet file %s %s", i, f.Name, f.Type, w.Name, w.Type)
		}
	}
}

// TestSignalStopsStdinWait: score --input - waiting on a pipe whose
// writer neither sends nor closes stops at SIGTERM with exit 143, and
// writes nothing to standard output or to --output.
func TestSignalStopsStdinWait(t *testing.T) {
	model, _ := trainedForStreams(t)
	dir := t.TempDir()
	for _, output := range []string{"-", filepath.Join(dir, "scores.csv")} {
		cmd := exec.Command(vaejobBin, "score", "--model", model, "--input", "-", "--output", output)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		// Rows beyond what a pipe buffers (64 KiB): once they are all
		// written, vaejob has read some, so it is past its start (its
		// signal handler in place), and it then waits for more.
		var rows bytes.Buffer
		rows.WriteString("a,b,tag\n")
		for i := 0; rows.Len() < 256<<10; i++ {
			rows.WriteString("0.5,1.5,row" + strconv.Itoa(i) + "\n")
		}
		if _, err := stdin.Write(rows.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := exitCodeOf(t, cmd); code != exitTerminated {
			t.Errorf("--output %s: exit %d, want %d\n%s", output, code, exitTerminated, stderr.Bytes())
		}
		stdin.Close()
		if stdout.Len() != 0 {
			t.Errorf("--output %s: %d bytes on standard output", output, stdout.Len())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "scores.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--output left behind: %v", err)
	}
}

// TestSignalStopsStdoutWait: score --output - writing to a pipe whose
// reader stops reading stops at SIGTERM with exit 143, instead of waiting
// for the reader for ever.
func TestSignalStopsStdoutWait(t *testing.T) {
	cmd, pr, stderr := scoreIntoPipe(t)
	defer pr.Close()
	// The first bytes out say vaejob is past its start (its signal
	// handler in place); then nothing reads any more.
	if _, err := io.ReadFull(pr, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// A run that ignores the signal is killed, and fails the test, instead
	// of hanging it.
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if code := exitCodeOf(t, cmd); code != exitTerminated {
		t.Errorf("exit %d, want %d\n%s", code, exitTerminated, stderr.Bytes())
	}
}

// TestScoreStdoutFull: score --output - whose standard output is full
// (/dev/full) is a machine fault: exit 8, with a message that names
// standard output, the fault and what to do, each said once.
func TestScoreStdoutFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to inject the fault: %v", err)
	}
	defer full.Close()
	model, table := trainedForStreams(t)
	for _, format := range []string{"csv", "arrow", "parquet"} {
		cmd := exec.Command(vaejobBin, "score", "--model", model, "--input", table,
			"--output", "-", "--output-format", format)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if code := exitCodeOf(t, cmd); code != exitMachine {
			t.Errorf("%s: exit %d, want %d\n%s", format, code, exitMachine, stderr.Bytes())
		}
		for _, s := range []string{"write standard output: ", "no space left on device", "free space"} {
			if strings.Count(stderr.String(), s) != 1 {
				t.Errorf("%s: stderr says %q %d times, want once\n%s", format, s, strings.Count(stderr.String(), s), stderr.Bytes())
			}
		}
	}
}

// TestScoreStdoutClosedEarly: score --output - whose reader closes the
// pipe before the end (vaejob score ... --output - | head -c 100) is
// stopped by SIGPIPE, as cat or grep would be, with nothing said on
// standard error: the reader wanted no more.
func TestScoreStdoutClosedEarly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no SIGPIPE")
	}
	cmd, pr, stderr := scoreIntoPipe(t)
	if _, err := io.ReadFull(pr, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	var exitErr *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exitErr) {
		t.Fatalf("vaejob went on to the end with its reader gone: %v\n%s", err, stderr.Bytes())
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
		t.Errorf("%v, want stopped by SIGPIPE\n%s", exitErr, stderr.Bytes())
	}
	if stderr.Len() != 0 {
		t.Errorf("standard error: %s", stderr.Bytes())
	}
}

// trainedForStreams trains a model on a table of goodColumns (tag
// excluded) and returns the model and the table.
func trainedForStreams(t *testing.T) (model, table string) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	table = writeParquet(t, dir, "train.parquet", goodColumns(400))
	if r := vaejob(t, trainArgs(table, out, "--exclude", "tag")...); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	return filepath.Join(out, "latest", "model.onnx"), table
}

// scoreIntoPipe starts score --output - on far more rows than a pipe and
// vaejob's buffer hold (a few MiB of CSV), its standard output the
// returned pipe's write end (held by vaejob alone): vaejob cannot finish
// unless the test reads.
func scoreIntoPipe(t *testing.T) (cmd *exec.Cmd, pr *os.File, stderr *bytes.Buffer) {
	t.Helper()
	model, _ := trainedForStreams(t)
	table := writeParquet(t, t.TempDir(), "table.parquet", streamColumns(200_000))
	cmd = exec.Command(vaejobBin, "score", "--model", model, "--input", table,
		"--output", "-", "--output-format", "csv", "--keep-columns", "tag")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = pw, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, pr, stderr
}
