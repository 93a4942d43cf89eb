package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vaejobEnv runs the binary with env added to the test's environment and
// returns its exit code and standard error.
func vaejobEnv(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	r := vaejobWith(t, 10*time.Minute, runWith{env: env}, args...)
	return r.code, r.stderr
}

// TestWorkersAndMemoryLimit: --workers, VAEJOB_WORKERS and a --config key
// set the parallelism train runs with, and GOMEMLIMIT is left as given:
// run.json's machine block records both. A value that is not a whole
// number of at least 0 is a usage error naming --workers.
func TestWorkersAndMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(config, []byte("workers: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args, env []string
		procs     int   // 0: every core the process may use, 1 to num_cpu
		limit     int64 // gomemlimit_bytes
	}{
		{name: "flag", args: []string{"--workers", "1"}, procs: 1},
		{name: "variable", env: []string{"VAEJOB_WORKERS=1"}, procs: 1},
		{name: "config file", args: []string{"--config", config}, procs: 1},
		{name: "flag over variable", args: []string{"--workers", "2"}, env: []string{"VAEJOB_WORKERS=1"}, procs: 2},
		{name: "0 is every core", args: []string{"--workers", "0"}, env: []string{"VAEJOB_WORKERS=1"}, procs: 0},
		{name: "none", procs: 3},
		{name: "GOMEMLIMIT", env: []string{"GOMEMLIMIT=512MiB"}, procs: 3, limit: 512 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			env := append([]string{"GOMAXPROCS=3"}, tt.env...) // without --workers, the runtime's default
			args := trainArgs(demo, out, append([]string{"--exclude", "patient_id,diagnosis", "--epochs", "2"}, tt.args...)...)
			if code, stderr := vaejobEnv(t, env, args...); code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			b, err := os.ReadFile(filepath.Join(out, "latest", "run.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Machine struct {
					GOMAXPROCS  int   `json:"gomaxprocs"`
					NumCPU      int   `json:"num_cpu"`
					MemoryLimit int64 `json:"gomemlimit_bytes"`
				}
			}
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			m := rec.Machine
			procsOK := m.GOMAXPROCS == tt.procs || tt.procs == 0 && m.GOMAXPROCS >= 1 && m.GOMAXPROCS <= m.NumCPU
			if !procsOK || m.MemoryLimit != tt.limit || m.NumCPU < 1 {
				t.Errorf("machine = %+v, want gomaxprocs %d, gomemlimit_bytes %d", m, tt.procs, tt.limit)
			}
			run, err := os.Readlink(filepath.Join(out, "latest"))
			if err != nil {
				t.Fatal(err)
			}
			show := vaejob(t, "runs", "show", "--out", out, filepath.Base(run))
			if want := fmt.Sprintf("machine:    GOMAXPROCS %d of %d cores", m.GOMAXPROCS, m.NumCPU); !strings.Contains(show.stdout, want) {
				t.Errorf("runs show does not say %q:\n%s", want, show.stdout)
			}
		})
	}
	for _, bad := range []string{"-1", "1.5", "two", ""} {
		t.Run("refused "+bad, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stderr := vaejobEnv(t, nil, trainArgs(demo, out, "--workers", bad)...)
			if code != exitUsage || !strings.Contains(stderr, "--workers") || !strings.Contains(stderr, "whole number") {
				t.Errorf("--workers %q: exit %d, want %d naming --workers:\n%s", bad, code, exitUsage, stderr)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("--workers %q left %s behind", bad, out)
			}
		})
	}
}

// TestScoreSameOnOneWorker: score, evaluate and verify take --workers, and
// score writes the same bytes on one worker as on every core.
func TestScoreSameOnOneWorker(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if r := vaejob(t, trainArgs(demo, out, "--exclude", "patient_id,diagnosis")...); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	model := filepath.Join(out, "latest", "model.onnx")
	var scores [2][]byte
	for i, workers := range []string{"0", "1"} {
		path := filepath.Join(dir, "scores"+workers+".csv")
		if r := vaejob(t, "score", "--model", model, "--input", demo, "--output", path, "--keep-columns", "patient_id", "--workers", workers); r.code != 0 {
			t.Fatalf("score --workers %s: exit %d\n%s", workers, r.code, r.stderr)
		}
		var err error
		if scores[i], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(scores[0], scores[1]) {
		t.Error("score wrote other bytes with --workers 1")
	}
	for _, args := range [][]string{
		{"evaluate", "--model", model, "--input", demo, "--label-column", "diagnosis", "--normal-value", "benign", "--workers", "1"},
		{"verify", "--model", model, "--workers", "1"},
	} {
		if r := vaejob(t, args...); r.code != 0 {
			t.Errorf("%s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}
