package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// killTries is how many times TestKilledWhilePublishing kills a run.
const killTries = 60

// slowStep is how long the vaejob_slowfs build waits before each step it
// takes in --out: a publication of about 25 steps then lasts long enough to
// be hit at any of them.
const slowStep = 4 * time.Millisecond

var (
	slowBinOnce sync.Once
	slowBin     string
	slowBinErr  error
)

// slowVaejob builds vaejob with -tags vaejob_slowfs (see jobs/slowfs.go).
func slowVaejob(t *testing.T) string {
	t.Helper()
	slowBinOnce.Do(func() {
		slowBin = filepath.Join(filepath.Dir(vaejobBin), "vaejob-slowfs")
		out, err := exec.Command("go", "build", "-tags", "vaejob_slowfs", "-o", slowBin, ".").CombinedOutput()
		if err != nil {
			slowBinErr = fmt.Errorf("build vaejob -tags vaejob_slowfs: %v\n%s", err, out)
		}
	})
	if slowBinErr != nil {
		t.Fatal(slowBinErr)
	}
	return slowBin
}

// TestKilledWhilePublishing kills the real binary with SIGKILL at seeded
// random moments of publishing (and of the steps after it), again and
// again in one --out, and checks after each kill and after its retry:
// latest resolves to a run whose files match their SHA-256, the runs
// published before are untouched, and once the retry (the same command,
// as a scheduler retries) has run, latest is the new run, nothing is left
// in a .tmp- name, no run is still publishing, and the audit log names the
// new run (and any orphan the kill made).
func TestKilledWhilePublishing(t *testing.T) {
	phases := stopWhilePublishing(t, syscall.SIGKILL, killTries, 20261205)
	if phases["orphan"] == 0 || phases["before the rename"] == 0 || phases["after the commit point"] == 0 {
		t.Errorf("the kills missed a phase of publishing (%v): change the seed or slowStep", phases)
	}
}

// TestSignalWhilePublishing sends SIGTERM at seeded random moments of
// publishing: before the commit point the run exits 143 and leaves nothing
// (latest unchanged, no run folder, nothing in .tmp-); after it, the run
// finishes publishing, says so in the log and exits 0.
func TestSignalWhilePublishing(t *testing.T) {
	phases := stopWhilePublishing(t, syscall.SIGTERM, 24, 5)
	if phases["exit 143, nothing published"] == 0 || phases["exit 0, published"] == 0 {
		t.Errorf("the signals missed a side of the commit point (%v): change the seed or slowStep", phases)
	}
}

// stopWhilePublishing sends sig to tries train runs in one --out, each at
// a seeded random moment after it starts publishing, checks what each
// leaves and retries it, and counts where the signals landed.
func stopWhilePublishing(t *testing.T, sig syscall.Signal, tries int, seed int64) map[string]int {
	if testing.Short() {
		t.Skipf("stops %d training runs", tries)
	}
	bin := slowVaejob(t)
	out := t.TempDir()
	rng := rand.New(rand.NewSource(seed))
	args := func(runID string) []string {
		return []string{"train", "--input", demo, "--exclude", "patient_id,diagnosis", "--out", out,
			"--seed", "0", "--preset", "tutorial", "--epochs", "1", "--run-id", runID}
	}
	if r := vaejob(t, args("first")...); r.code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	phases := map[string]int{}
	earlier := []string{"first"}
	for try := range tries {
		runID := fmt.Sprintf("try-%02d", try)
		before := hashRuns(t, out, earlier)
		prevLatest := readLatest(t, out)

		// Up to 40 steps into publishing: past the commit point and the
		// release of the lock.
		delay := time.Duration(rng.Int63n(int64(40 * slowStep)))
		cmd := exec.Command(bin, args(runID)...)
		cmd.Env = append(os.Environ(), "VAEJOB_SLOWFS_STEP="+slowStep.String())
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		publishing := make(chan struct{})
		var logText lockedWriter
		go func() {
			sc := bufio.NewScanner(stderr)
			signalled := false
			for sc.Scan() {
				logText.Write([]byte(sc.Text() + "\n"))
				if !signalled && strings.Contains(sc.Text(), "msg=publishing") {
					close(publishing)
					signalled = true
				}
			}
			if !signalled {
				close(publishing)
			}
		}()
		select {
		case <-publishing:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%s never started publishing", runID)
		}
		time.Sleep(delay)
		cmd.Process.Signal(sig)
		werr := cmd.Wait()
		code := cmd.ProcessState.ExitCode()

		// Right after it stopped.
		latest := readLatest(t, out)
		if latest != prevLatest && latest != runID {
			t.Fatalf("%s stopped %v in: latest is %q, want %q or %q", runID, delay, latest, prevLatest, runID)
		}
		checkRunFiles(t, out, latest)
		checkHashes(t, out, before, runID+" stopped")
		var phase string
		switch {
		case sig == syscall.SIGKILL && werr == nil:
			phase = "finished before the kill"
		case sig == syscall.SIGKILL:
			phase = killPhase(t, out, runID, latest)
		case code == 143:
			phase = "exit 143, nothing published"
			if latest != prevLatest {
				t.Errorf("%s: exit 143 but latest moved to it", runID)
			}
			if _, err := os.Lstat(filepath.Join(out, "runs", runID)); err == nil {
				t.Errorf("%s: exit 143 but runs/%s exists", runID, runID)
			}
			checkNoLeftovers(t, out, runID+" after exit 143")
		case code == 0:
			phase = "exit 0, published"
			if latest != runID {
				t.Errorf("%s: exit 0 but latest is %s", runID, latest)
			}
			checkNoLeftovers(t, out, runID+" after exit 0")
		default:
			t.Fatalf("%s: %v %v into publishing: exit %d, want 143 or 0:\n%s", runID, sig, delay, code, logText.String())
		}
		phases[phase]++

		// The retry: the same command, as the scheduler runs it again.
		r := vaejob(t, args(runID)...)
		if r.code != 0 {
			t.Fatalf("%s: retry after %v %v into publishing (%s): exit %d\n%s", runID, sig, delay, phase, r.code, r.stderr)
		}
		if got := readLatest(t, out); got != runID {
			t.Fatalf("%s: after the retry latest is %q", runID, got)
		}
		checkRunFiles(t, out, runID)
		checkHashes(t, out, before, runID+" retried")
		checkNoLeftovers(t, out, runID)
		audit, _ := os.ReadFile(filepath.Join(out, "audit.jsonl"))
		if !strings.Contains(string(audit), `"action":"promoted","run_id":"`+runID+`"`) {
			t.Errorf("%s: the audit log has no promotion of the run", runID)
		}
		if phase == "orphan" && !strings.Contains(string(audit), `"action":"orphaned","run_id":"`+runID+`"`) {
			t.Errorf("%s: the orphan the kill made has no audit line", runID)
		}
		earlier = append(earlier, runID)
	}
	t.Logf("%d × %v: %v", tries, sig, phases)
	return phases
}

// killPhase says where in publishing a kill landed, from what it left.
func killPhase(t *testing.T, out, runID, latest string) string {
	t.Helper()
	var rec struct{ Status string }
	b, err := os.ReadFile(filepath.Join(out, "runs", runID, "run.json"))
	switch {
	case os.IsNotExist(err):
		return "before the rename"
	case err != nil:
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("%s: run.json: %v", runID, err)
	}
	switch {
	case latest != runID:
		if rec.Status != "publishing" {
			t.Fatalf("%s: not latest, status %q", runID, rec.Status)
		}
		return "orphan"
	case rec.Status == "publishing":
		return "after the commit point"
	}
	return "after the final status"
}

// readLatest returns the run latest points at.
func readLatest(t *testing.T, out string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatalf("latest: %v", err)
	}
	dir, id := filepath.Split(target)
	if filepath.Clean(dir) != "runs" {
		t.Fatalf("latest -> %s", target)
	}
	return id
}

// checkRunFiles checks that a run's files match the SHA-256 its run.json
// records.
func checkRunFiles(t *testing.T, out, runID string) {
	t.Helper()
	dir := filepath.Join(out, "runs", runID)
	rec := readRunJSON(t, dir)
	if len(rec.Artifacts) == 0 {
		t.Fatalf("run %s records no artifacts", runID)
	}
	for _, a := range rec.Artifacts {
		b, err := os.ReadFile(filepath.Join(dir, a.Name))
		if err != nil {
			t.Fatalf("run %s: %v", runID, err)
		}
		if fmt.Sprintf("%x", sha256.Sum256(b)) != a.SHA256 {
			t.Fatalf("run %s: %s does not match its SHA-256", runID, a.Name)
		}
	}
}

// hashRuns hashes every file of the named runs.
func hashRuns(t *testing.T, out string, runs []string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	for _, r := range runs {
		entries, err := os.ReadDir(filepath.Join(out, "runs", r))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(out, "runs", r, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			sums[filepath.Join(r, e.Name())] = sha256.Sum256(b)
		}
	}
	return sums
}

// checkHashes checks that the runs hashed before are as they were.
func checkHashes(t *testing.T, out string, before map[string][32]byte, step string) {
	t.Helper()
	for p, sum := range before {
		b, err := os.ReadFile(filepath.Join(out, "runs", p))
		if err != nil || sha256.Sum256(b) != sum {
			t.Fatalf("%s: earlier run file %s changed or went away (%v)", step, p, err)
		}
	}
}

// checkNoLeftovers checks that nothing is left in a .tmp- name and that no
// run is still publishing.
func checkNoLeftovers(t *testing.T, out, step string) {
	t.Helper()
	for _, dir := range []string{out, filepath.Join(out, "runs")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-") || e.Name() == ".lock" {
				t.Errorf("%s: %s left in %s", step, e.Name(), dir)
			}
			if dir != out && e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				if rec := readRunJSON(t, filepath.Join(dir, e.Name())); rec.Status == "publishing" {
					t.Errorf("%s: run %s is still publishing", step, e.Name())
				}
			}
		}
	}
}
