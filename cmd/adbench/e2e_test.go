package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinary runs the real adbench on two small dev tables (testdata/dev:
// glass and WBC, split seed0, copied from the ADBench dev folder) with a
// baseline and the study, and checks that the three reports agree.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four models")
	}
	bin := buildBinary(t)
	cmd := exec.Command(bin, "--data", "testdata/dev", "--steps", "150", "--baseline", "tutorial", "--study",
		"--study-combinations", "vae,vae+0.5*l1-robust")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("adbench: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"baseline preset tutorial on the same splits",
		"| glass | A | 1 |", "| WBC | B | 1 |",
		"| **mean, half A** |", "| **mean, half B** |", "| **mean** |",
		"cost against the baseline, mean of tables: training ",
		"| vae+0.5*l1-robust | q90 | sum |", "| vae+0.5*l1-robust | tail | max |",
		"2 runs, 0 failed",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// The study's "vae" row ranks by the model's own score: its mean
	// ROC-AUC is the main table's.
	mean := field(t, text, "| **mean** |", 4)
	study := field(t, text, "| vae |  |  |", 6)
	if mean != study {
		t.Errorf("main table's mean ROC %s, study's vae row %s", mean, study)
	}

	// Bad flags fail before any training.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--study-combinations", "vae+nope"}, `unknown term "nope"`},
		{[]string{"--baseline", "bogus"}, `--baseline "bogus": unknown preset; known presets: default, default-v1, tutorial`},
		{[]string{"--datasets", "Glass"}, `--datasets: no dataset folder "Glass" in testdata/dev`},
		{[]string{"--trim", "2"}, "trim 2: want a fraction"},
		{[]string{"--trainer", "x"}, `--trainer "x": want graph or fused`},
	} {
		bad := exec.Command(bin, append([]string{"--data", "testdata/dev"}, c.args...)...)
		if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), c.want) || strings.Contains(string(out), "| dataset |") {
			t.Errorf("%v: err %v, output %s", c.args, err, out)
		}
	}
}

// buildBinary builds adbench into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "adbench")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

// TestInterrupt stops the real binary with SIGINT while it trains: it
// exits 130 without a report and leaves nothing in its temporary folder.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	bin := buildBinary(t)
	tmp := t.TempDir()
	cmd := exec.Command(bin, "--data", "testdata/dev", "--repeats", "20")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until a run has its output folder, then interrupt.
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs, _ := filepath.Glob(filepath.Join(tmp, "adbench-*", "model", "*"))
		if len(runs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no run started in 30 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit: %v, want code 130\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "interrupted: no report") || strings.Contains(out.String(), "| dataset |") {
		t.Errorf("output after an interrupt:\n%s", out.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left in TMPDIR after the interrupt: %v", left)
	}
}

// field returns the i-th |-separated field of the line that starts with
// prefix, without spaces and asterisks.
func field(t *testing.T, text, prefix string, i int) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			f := strings.Split(line, "|")
			if i < len(f) {
				return strings.Trim(f[i], " *")
			}
		}
	}
	t.Fatalf("no line %q in\n%s", prefix, text)
	return ""
}
