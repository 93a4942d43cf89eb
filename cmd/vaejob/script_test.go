package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScript runs the scenarios in testdata/script against the vaejob
// binary TestMain built: each scenario states a behaviour of the README's
// "Scheduling" and "Exit codes" sections as commands and the outcomes they
// must have (exit code, log lines, files there or not, where latest
// points, fields of run.json and lines of audit.jsonl).
//
// A scenario's work folder holds demo.parquet, the demo table; `vaejob`
// on its PATH is the binary under test. Besides testscript's own
// commands (see its package documentation), a scenario may use those of
// scriptCommands.
func TestScript(t *testing.T) {
	demoTable, err := filepath.Abs(demo)
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", filepath.Dir(vaejobBin)+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Values[backgroundKey{}] = &background{runs: map[string]*backgroundRun{}}
			b, err := os.ReadFile(demoTable)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(env.WorkDir, "demo.parquet"), b, 0o644)
		},
		Cmds: scriptCommands,
	})
}

// scriptCommands are the commands scenarios use beyond testscript's own:
//
//	exits CODE prog [args...]     run prog; fail unless it exits with CODE
//	start NAME prog [args...]     run prog in the background as NAME
//	await NAME REGEXP             wait until NAME's stderr matches
//	signal NAME TERM|INT          send NAME a signal
//	finish NAME CODE              wait for NAME; fail unless it exits with CODE
//	latest OUT RUN                OUT/latest is a link to runs/RUN
//	jsonfield FILE PATH VALUE     a field of a JSON file (run.json) has VALUE
//	setjson FILE PATH VALUE       set a string field (the state a killed run leaves)
//	tree DIR                      list every path below DIR on stdout
//	eachline stdout|stderr REGEXP every line matches
//	parquet FILE ROWS             write a small table (numeric a and b, string tag)
var scriptCommands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"exits":     cmdExits,
	"start":     cmdStart,
	"await":     cmdAwait,
	"signal":    cmdSignal,
	"finish":    cmdFinish,
	"latest":    cmdLatest,
	"jsonfield": cmdJSONField,
	"setjson":   cmdSetJSON,
	"tree":      cmdTree,
	"eachline":  cmdEachLine,
	"parquet":   cmdParquet,
}

// cmdExits runs a program in the foreground and fails unless it exits
// with the given code; its stdout and stderr are kept for stdout and
// stderr.
//
//	exits CODE program [args...]
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want := atoi(ts, args[0])
	got := exitStatus(ts, ts.Exec(args[1], args[2:]...))
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// exitStatus returns the exit code of a finished command from the error
// its run returned.
func exitStatus(ts *testscript.TestScript, err error) int {
	if err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		ts.Fatalf("%v", err)
	}
	return exitErr.ExitCode()
}

func atoi(ts *testscript.TestScript, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		ts.Fatalf("%q is not a number", s)
	}
	return n
}

// backgroundKey keys a scenario's background runs in its Values.
type backgroundKey struct{}

// background holds the programs a scenario started with start, by name.
type background struct {
	runs map[string]*backgroundRun
}

// backgroundRun is one program started with start: its output, read
// while it runs, and its end.
type backgroundRun struct {
	cmd            *exec.Cmd
	stdout, stderr lockedWriter
	done           chan struct{}
	err            error
}

func backgroundRuns(ts *testscript.TestScript) *background {
	return ts.Value(backgroundKey{}).(*background)
}

// cmdStart starts a program in the background under a name that await,
// signal and finish use. A program still running at the end of the
// scenario is killed.
//
//	start NAME program [args...]
func cmdStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: start NAME program [args...]")
	}
	bg := backgroundRuns(ts)
	if bg.runs[args[0]] != nil {
		ts.Fatalf("a program named %s was started already", args[0])
	}
	path := lookPath(ts, args[1])
	run := &backgroundRun{cmd: exec.Command(path, args[2:]...), done: make(chan struct{})}
	run.cmd.Dir = ts.MkAbs(".")
	run.cmd.Env = scriptEnv(ts)
	run.cmd.Stdout, run.cmd.Stderr = &run.stdout, &run.stderr
	ts.Check(run.cmd.Start())
	go func() {
		run.err = run.cmd.Wait()
		close(run.done)
	}()
	ts.Defer(func() {
		run.cmd.Process.Kill()
		<-run.done
	})
	bg.runs[args[0]] = run
}

// scriptEnv returns the environment of a program start runs: the
// scenario's PATH, HOME, TMPDIR and WORK (not the VAEJOB_* variables a
// scenario sets with env).
func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, name := range []string{"PATH", "HOME", "TMPDIR", "WORK"} {
		env = append(env, name+"="+ts.Getenv(name))
	}
	return env
}

// lookPath finds a program on the scenario's PATH.
func lookPath(ts *testscript.TestScript, program string) string {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, program)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	ts.Fatalf("%s is not on the scenario's PATH", program)
	return ""
}

func runNamed(ts *testscript.TestScript, name string) *backgroundRun {
	run := backgroundRuns(ts).runs[name]
	if run == nil {
		ts.Fatalf("no program named %s was started", name)
	}
	return run
}

// cmdAwait blocks until the stderr of a background program matches a
// regular expression; it fails if the program ends first. It waits for a
// state (a run that is training), not for a time.
//
//	await NAME REGEXP
func cmdAwait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: await NAME REGEXP")
	}
	run := runNamed(ts, args[0])
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !re.MatchString(run.stderr.String()) {
		select {
		case <-run.done:
			if re.MatchString(run.stderr.String()) {
				return
			}
			ts.Fatalf("%s ended (%v) before its stderr matched %q:\n%s", args[0], run.err, args[1], run.stderr.String())
		case <-tick.C:
		}
	}
}

// cmdSignal sends SIGTERM or SIGINT to a background program.
//
//	signal NAME TERM|INT
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	sigs := map[string]os.Signal{"TERM": syscall.SIGTERM, "INT": os.Interrupt}
	if neg || len(args) != 2 || sigs[args[1]] == nil {
		ts.Fatalf("usage: signal NAME TERM|INT")
	}
	ts.Check(runNamed(ts, args[0]).cmd.Process.Signal(sigs[args[1]]))
}

// cmdFinish waits for a background program to end and fails unless it
// exits with the given code; its stdout and stderr are kept for stdout
// and stderr.
//
//	finish NAME CODE
func cmdFinish(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: finish NAME CODE")
	}
	run := runNamed(ts, args[0])
	want := atoi(ts, args[1])
	<-run.done
	fmt.Fprint(ts.Stdout(), run.stdout.String())
	fmt.Fprint(ts.Stderr(), run.stderr.String())
	if got := exitStatus(ts, run.err); got != want {
		ts.Fatalf("%s exited %d, want %d", args[0], got, want)
	}
}

// cmdLatest checks that OUT/latest is a symbolic link to runs/RUN (with
// !, that it is not: another run, or no latest).
//
//	latest OUT RUN
func cmdLatest(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: latest OUT RUN")
	}
	target, err := os.Readlink(ts.MkAbs(filepath.Join(args[0], "latest")))
	if err != nil && neg {
		return
	}
	ts.Check(err)
	want := filepath.Join("runs", args[1])
	if (target == want) == neg {
		ts.Fatalf("%s/latest -> %s (want %s%s)", args[0], target, not(neg), want)
	}
}

// cmdJSONField checks one field of a JSON file, named by a dotted path of
// keys and array indices (gate.decision, artifacts.0.name). A string
// compares as itself, anything else as its JSON text.
//
//	jsonfield FILE PATH VALUE
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonfield FILE PATH VALUE")
	}
	doc := readJSON(ts, args[0])
	v, ok := jsonLookup(doc, args[1])
	if !ok {
		ts.Fatalf("%s has no %s", args[0], args[1])
	}
	got, isString := v.(string)
	if !isString {
		b, err := json.Marshal(v)
		ts.Check(err)
		got = string(b)
	}
	if (got == args[2]) == neg {
		ts.Fatalf("%s: %s is %s (want %s%s)", args[0], args[1], got, not(neg), args[2])
	}
}

// not returns "not " for a negated check, for its failure message.
func not(neg bool) string {
	if neg {
		return "not "
	}
	return ""
}

// cmdSetJSON sets one string field of a JSON file, to put an output
// folder in a state a killed run leaves (run.json still publishing).
//
//	setjson FILE PATH VALUE
func cmdSetJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: setjson FILE PATH VALUE")
	}
	doc := readJSON(ts, args[0])
	dot := strings.LastIndex(args[1], ".")
	parent, key := doc, args[1]
	if dot >= 0 {
		var ok bool
		parent, ok = jsonLookup(doc, args[1][:dot])
		key = args[1][dot+1:]
		if !ok {
			ts.Fatalf("%s has no %s", args[0], args[1][:dot])
		}
	}
	obj, ok := parent.(map[string]any)
	if !ok {
		ts.Fatalf("%s: %s is not an object", args[0], args[1])
	}
	obj[key] = args[2]
	b, err := json.MarshalIndent(doc, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

func readJSON(ts *testscript.TestScript, file string) any {
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(file)))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		ts.Fatalf("%s: %v", file, err)
	}
	return doc
}

func jsonLookup(v any, path string) (any, bool) {
	for _, key := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = node[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// cmdTree writes every path below DIR to stdout, one a line, sorted: a
// folder ends in /, a symbolic link shows its target, a special file its
// type. Compared with cmp, it states that a run wrote nothing, or exactly
// what it left.
//
//	tree DIR
func cmdTree(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tree DIR")
	}
	root := ts.MkAbs(args[0])
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch t := d.Type(); {
		case t.IsDir():
			rel += "/"
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			rel += " -> " + target
		case !t.IsRegular():
			rel += " (" + t.String() + ")"
		}
		lines = append(lines, rel)
		return nil
	})
	ts.Check(err)
	for _, l := range lines {
		fmt.Fprintln(ts.Stdout(), l)
	}
}

// cmdEachLine checks that every non-empty line of stdout or stderr (as the
// last command left them) matches a regular expression.
//
//	eachline stdout|stderr REGEXP
func cmdEachLine(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || args[0] != "stdout" && args[0] != "stderr" {
		ts.Fatalf("usage: eachline stdout|stderr REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	text := ts.ReadFile(args[0])
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !re.MatchString(line) {
			ts.Fatalf("%s line %q does not match %q", args[0], line, args[1])
		}
	}
}

// cmdParquet writes a small learnable table of ROWS rows (goodColumns:
// numeric a and b, string tag).
//
//	parquet FILE ROWS
func cmdParquet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: parquet FILE ROWS")
	}
	f, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	ts.Check(writeParquetTo(f, goodColumns(atoi(ts, args[1]))))
}

// lockedWriter is a buffer a child process writes while a test reads.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
