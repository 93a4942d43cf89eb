package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// scheduler drives one --out directory through the runs a nightly
// scheduler produces, and checks the directory after each.
type scheduler struct {
	t   *testing.T
	out string
}

// train runs vaejob train on the demo table with a quick tutorial model.
func (s *scheduler) train(runID string, extra ...string) runResult {
	s.t.Helper()
	return vaejob(s.t, s.args(runID, extra...)...)
}

func (s *scheduler) args(runID string, extra ...string) []string {
	args := []string{"train", "--input", demo, "--exclude", "patient_id,diagnosis", "--out", s.out,
		"--seed", "0", "--preset", "tutorial", "--epochs", "3", "--run-id", runID}
	return append(args, extra...)
}

// start starts a long training run in the background and returns once it
// holds the lock and trains.
func (s *scheduler) start(runID string, extra ...string) (*exec.Cmd, *lockedWriter) {
	s.t.Helper()
	cmd := exec.Command(vaejobBin, s.args(runID, append([]string{"--epochs", "20000"}, extra...)...)...)
	stderr := &lockedWriter{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), "msg=epoch") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			s.t.Fatalf("run %s did not start training:\n%s", runID, stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd, stderr
}

// lockedWriter is a buffer a child process writes while the test reads.
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

// check asserts the state every step must leave: latest points at
// wantLatest, whose model.onnx matches the SHA-256 in its run.json and
// loads in ONNX Runtime; no temporary file or lock is left behind.
func (s *scheduler) check(step, wantLatest string) {
	s.t.Helper()
	target, err := os.Readlink(filepath.Join(s.out, "latest"))
	if err != nil || target != filepath.Join("runs", wantLatest) {
		s.t.Fatalf("%s: latest -> %q (%v), want runs/%s", step, target, err, wantLatest)
	}
	dir := filepath.Join(s.out, "runs", wantLatest)
	rec := readRunJSON(s.t, dir)
	model, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		s.t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	if got := rec.artifact("model.onnx"); got != hex.EncodeToString(sum[:]) {
		s.t.Errorf("%s: model.onnx SHA-256 %x, run.json says %s", step, sum, got)
	}
	if rec.Status != "succeeded" {
		s.t.Errorf("%s: latest run %s has status %q", step, wantLatest, rec.Status)
	}
	entries, err := os.ReadDir(s.out)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".") {
			s.t.Errorf("%s: %s left behind in --out", step, n)
		}
	}
	entries, _ = os.ReadDir(filepath.Join(s.out, "runs"))
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".") {
			s.t.Errorf("%s: %s left behind in runs/", step, n)
		}
	}
	loadsInORT(s.t, filepath.Join(dir, "model.onnx"), len(rec.Features))
}

type runJSON struct {
	RunID     string
	Status    string
	Features  []string
	Artifacts []struct{ Name, SHA256 string }
	Gate      struct {
		Decision string
		Baseline string `json:"baseline_run_id"`
		Reasons  []string
	}
}

func (r runJSON) artifact(name string) string {
	for _, a := range r.Artifacts {
		if a.Name == name {
			return a.SHA256
		}
	}
	return ""
}

func readRunJSON(t *testing.T, dir string) runJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec runJSON
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// loadsInORT scores one row of zeros and the model's embedded test vector
// with ONNX Runtime.
func loadsInORT(t *testing.T, model string, d int) {
	t.Helper()
	rows := filepath.Join(t.TempDir(), "rows.f32")
	writeRows(t, rows, make([]float32, d))
	res := scoreWithORT(t, model, rows, d)
	if len(res.ScoreBits) != 1 || res.TestVector == nil || !res.TestVector.OK {
		t.Fatalf("ONNX Runtime on %s: %+v", model, res)
	}
}

func wantCode(t *testing.T, step string, r runResult, code int, say string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, say) {
		t.Fatalf("%s: exit %d, want %d with %q:\n%s", step, r.code, code, say, r.stderr)
	}
}

// TestScheduledRuns drives the real binary through the nights of a
// scheduler: good runs, a killed run, two runs at once, corrupt input, a
// gate rejection, retries, a timeout, a stale lock and a manual rollback.
func TestScheduledRuns(t *testing.T) {
	s := &scheduler{t: t, out: t.TempDir()}

	wantCode(t, "first run", s.train("night-01"), 0, "no latest model yet")
	s.check("first run", "night-01")

	wantCode(t, "second run", s.train("night-02"), 0, "msg=published")
	s.check("second run", "night-02")
	if g := readRunJSON(t, filepath.Join(s.out, "runs", "night-02")).Gate; g.Decision != "promoted" || g.Baseline != "night-01" {
		t.Errorf("second run's gate: %+v, want promoted over night-01", g)
	}

	// SIGTERM in the middle of training.
	cmd, stderr := s.start("night-03")
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 143 {
		t.Fatalf("SIGTERM: %v, want exit 143:\n%s", err, stderr)
	}
	s.check("SIGTERM", "night-02")
	if _, err := os.Stat(filepath.Join(s.out, "runs", "night-03")); err == nil {
		t.Error("the killed run left runs/night-03")
	}

	// Two runs at once: the second finds the lock and exits 6; the first,
	// stopped by its own --timeout, exits 124.
	cmd, lw := s.start("night-04", "--timeout", "4s")
	wantCode(t, "second run at once", s.train("night-04b"), 6, "is held by pid")
	err = cmd.Wait()
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 124 {
		t.Fatalf("--timeout: %v, want exit 124:\n%s", err, lw)
	}
	if !strings.Contains(lw.String(), "timeout reached") {
		t.Errorf("--timeout run does not say why it stopped:\n%s", lw)
	}
	s.check("two at once and a timeout", "night-02")

	// A corrupt Parquet file.
	bad := filepath.Join(t.TempDir(), "export.parquet")
	if err := os.WriteFile(bad, []byte("PAR1 this is not really parquet PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := vaejob(t, "train", "--input", bad, "--out", s.out, "--run-id", "night-05")
	wantCode(t, "corrupt input", r, 3, "export.parquet")
	s.check("corrupt input", "night-02")

	// A schema change: the gate rejects the model and keeps it marked.
	r = s.train("night-06", "--exclude", "patient_id,diagnosis,mean_radius")
	wantCode(t, "schema change", r, 5, "missing mean_radius")
	s.check("schema change", "night-02")
	if rec := readRunJSON(t, filepath.Join(s.out, "runs", "night-06")); rec.Status != "rejected" || rec.Gate.Decision != "rejected" {
		t.Errorf("rejected run's record: status %q, gate %+v", rec.Status, rec.Gate)
	}

	// Retries: a finished run is not redone; a rejected one stays rejected.
	before, _ := os.ReadFile(filepath.Join(s.out, "runs", "night-02", "run.json"))
	wantCode(t, "retry of a finished run", s.train("night-02"), 0, "nothing to do")
	after, _ := os.ReadFile(filepath.Join(s.out, "runs", "night-02", "run.json"))
	if !bytes.Equal(before, after) {
		t.Error("a retry of a finished run rewrote its run.json")
	}
	s.check("retry", "night-02")
	wantCode(t, "retry of a rejected run", s.train("night-06", "--exclude", "patient_id,diagnosis,mean_radius"), 5, "rejected then")
	wantCode(t, "--force on latest", s.train("night-02", "--force"), 2, "latest points at")
	wantCode(t, "--force", s.train("night-01", "--force"), 0, "redoing a finished run")
	s.check("--force", "night-01")

	// A run stopped after publishing runs/night-01b but before moving
	// latest (its run.json still says publishing, latest still names
	// night-01): the next run marks it orphaned, says so in the log and the
	// audit log, and never promotes it; a retry of the same run id redoes it.
	wantCode(t, "run before the crash", s.train("night-01b"), 0, "msg=published")
	orphanRecord := filepath.Join(s.out, "runs", "night-01b", "run.json")
	b, err := os.ReadFile(orphanRecord)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"status": "succeeded"`), []byte(`"status": "publishing"`), 1)
	if err := os.WriteFile(orphanRecord, b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(s.out, "latest"))
	os.Symlink("runs/night-01", filepath.Join(s.out, "latest"))
	r = vaejob(t, "runs", "list", "--out", s.out)
	if !strings.Contains(r.stdout, "publishing") {
		t.Errorf("runs list does not show the unfinished run:\n%s", r.stdout)
	}
	wantCode(t, "retry after the crash", s.train("night-01b"), 0, "found an orphaned run")
	s.check("retry after the crash", "night-01b")
	audit, _ := os.ReadFile(filepath.Join(s.out, "audit.jsonl"))
	if !strings.Contains(string(audit), `"action":"orphaned","run_id":"night-01b","previous_latest":"night-01"`) {
		t.Errorf("audit log lacks the orphaned run:\n%s", audit)
	}
	os.RemoveAll(filepath.Join(s.out, "runs", "night-01b")) // keep the run list below short
	os.Remove(filepath.Join(s.out, "latest"))
	os.Symlink("runs/night-01", filepath.Join(s.out, "latest"))

	// A lock left by a killed process, and its half-written run directory.
	if err := os.WriteFile(filepath.Join(s.out, ".lock"), []byte(`{"pid":99999,"host":"gone","command":"train","started_at":"2026-11-24T00:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.out, ".tmp-night-07-123", "half"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = s.train("night-07")
	wantCode(t, "stale lock", r, 0, "took over a stale lock")
	if !strings.Contains(r.stderr, "removed a leftover") {
		t.Errorf("stale temporary directory not reported:\n%s", r.stderr)
	}
	s.check("stale lock", "night-07")

	// A rollback by hand, recorded in the audit log.
	cmdPromote := exec.Command(vaejobBin, "promote", "--out", s.out, "--reason", "rollback test", "night-02")
	cmdPromote.Env = append(os.Environ(), "VAEJOB_USER=oncall")
	if out, err := cmdPromote.CombinedOutput(); err != nil {
		t.Fatalf("promote: %v\n%s", err, out)
	}
	s.check("rollback", "night-02")
	audit, _ = os.ReadFile(filepath.Join(s.out, "audit.jsonl"))
	if !strings.Contains(string(audit), `"action":"promoted-by-hand","run_id":"night-02","previous_latest":"night-07","by":"oncall"`) {
		t.Errorf("audit log lacks the rollback:\n%s", audit)
	}
	wantCode(t, "promote a missing run", vaejob(t, "promote", "--out", s.out, "night-99"), 2, "no run night-99")

	// promote never replaces a file or a folder named latest (train
	// refuses them too).
	latestPath := filepath.Join(s.out, "latest")
	target, err := os.Readlink(latestPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"file", "folder"} {
		os.Remove(latestPath)
		if kind == "file" {
			err = os.WriteFile(latestPath, []byte("notes\n"), 0o644)
		} else {
			err = os.Mkdir(latestPath, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "promote over a "+kind+" named latest", vaejob(t, "promote", "--out", s.out, "night-01"), 2, "is not a symlink")
		if fi, err := os.Lstat(latestPath); err != nil || fi.IsDir() != (kind == "folder") || fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("after promote over a %s named latest: %v, %v", kind, fi, err)
		}
		os.RemoveAll(latestPath)
	}
	if err := os.Symlink(target, latestPath); err != nil {
		t.Fatal(err)
	}
	s.check("after refused promotes", "night-02")

	// runs list --json: every run, latest marked, files intact.
	r = vaejob(t, "runs", "list", "--out", s.out, "--json")
	var runs []struct {
		RunID  string `json:"run_id"`
		Latest bool
		Status string
		Intact bool `json:"artifacts_intact"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("runs list --json: %v\n%s", err, r.stdout)
	}
	var got []string
	for _, run := range runs {
		got = append(got, fmt.Sprintf("%s:%s:%v:%v", run.RunID, run.Status, run.Latest, run.Intact))
	}
	want := "night-02:succeeded:true:true night-06:rejected:false:true night-01:succeeded:false:true night-07:succeeded:false:true"
	if strings.Join(got, " ") != want {
		t.Errorf("runs list:\n got %s\nwant %s", strings.Join(got, " "), want)
	}

	// A damaged artifact shows in runs show and cannot be promoted.
	model := filepath.Join(s.out, "runs", "night-07", "model.onnx")
	if err := os.WriteFile(model, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = vaejob(t, "runs", "show", "--out", s.out, "night-07")
	if r.code != 0 || !strings.Contains(r.stdout, "model.onnx does not match its recorded SHA-256") {
		t.Errorf("runs show on a damaged run: exit %d\n%s", r.code, r.stdout)
	}
	wantCode(t, "promote a damaged run", vaejob(t, "promote", "--out", s.out, "night-07"), 3, "does not match")
	s.check("after refused promote", "night-02")

	// --keep 2 removes the oldest runs but never latest, the run it
	// replaced, or a directory that is not a run.
	os.MkdirAll(filepath.Join(s.out, "runs", "notes"), 0o755)
	wantCode(t, "--keep", s.train("night-08", "--keep", "2"), 0, "removed old run")
	s.check("--keep", "night-08")
	var left []string
	entries, _ := os.ReadDir(filepath.Join(s.out, "runs"))
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != "night-02 night-07 night-08 notes" {
		t.Errorf("--keep 2 left %v, want night-02 (replaced by latest), night-07, night-08, notes", left)
	}
}

// TestJobConfigFile trains from a YAML config with a flag and a variable
// overriding it, and refuses a config with an unknown key.
func TestJobConfigFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	config := filepath.Join(dir, "job.yaml")
	yaml := fmt.Sprintf("input: %s\nout: %s\nexclude: [patient_id, diagnosis]\npreset: tutorial\nepochs: 50\nseed: 7\nthreshold: quantile:0.95\nrun-id: from-config\n", demo, out)
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vaejobBin, "train", "--config", config, "--epochs", "2", "--log-format", "json")
	cmd.Env = append(os.Environ(), "VAEJOB_SEED=3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("train --config: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("--log-format json wrote a line that is not JSON: %q", line)
		}
		if entry["run_id"] != "from-config" {
			t.Errorf("log line without the run id: %q", line)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "runs", "from-config", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Config struct {
			Epochs    int
			Seed      int64
			Threshold string
			Preset    string
		}
		ConfigFile struct{ Path, SHA256 string } `json:"config_file"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(yaml))
	if rec.Config.Epochs != 2 || rec.Config.Seed != 3 || rec.Config.Threshold != "quantile:0.95" || rec.Config.Preset != "tutorial" ||
		rec.ConfigFile.Path != config || rec.ConfigFile.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("run.json: %+v", rec)
	}

	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "epoch: 5\n", `unknown setting "epoch" (did you mean "epochs"?)`},
		{"bad value", "epochs: many\n", "epochs"},
		{"not YAML", "epochs: [5\n", "not valid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "job.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o644)
			wantCode(t, tc.name, vaejob(t, "train", "--config", path, "--input", demo, "--out", t.TempDir()), 2, tc.want)
		})
	}
	wantCode(t, "missing config", vaejob(t, "train", "--config", filepath.Join(dir, "nope.yaml")), 2, "nope.yaml")
}
