package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vaejob/vaejob/cmd/internal/repo"
)

// BuildVaejob builds the checkout's vaejob command into dir and returns the
// binary's path.
func BuildVaejob(dir string) (string, error) {
	bin := filepath.Join(dir, "vaejob")
	build := exec.Command("go", "build", "-o", bin, "./cmd/vaejob")
	build.Dir = repo.Root()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build vaejob: %v\n%s", err, out)
	}
	return bin, nil
}

// TempVaejob makes a temporary folder named with prefix and builds the
// checkout's vaejob command into it. It returns the folder, which the
// caller removes, and the binary's path; on error it leaves nothing.
func TempVaejob(prefix string) (dir, bin string, err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", err
	}
	if bin, err = BuildVaejob(dir); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	return dir, bin, nil
}

// Finished is a child process that has ended: its state and, where the
// system reports it, its peak resident memory (peak.go).
type Finished struct {
	*os.ProcessState
	peakBytes uint64
}

// PeakMB returns the peak resident memory of a finished process in MB, or
// 0 where the system does not report it. On Linux it is at least the
// parent's peak resident memory up to the child's start: exec keeps in
// the child's maxrss the high-water mark of the memory it replaces, which
// Go's vfork-style start shares with the parent. Measure children before
// the parent grows.
func PeakMB(p *Finished) float64 {
	return float64(p.peakBytes) / (1 << 20)
}

// run runs cmd to its end and returns what Finished holds.
func run(cmd *exec.Cmd) (*Finished, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	peak := watchPeak(cmd.Process)
	err := cmd.Wait()
	// Read even for a failed run: on Windows it also closes the handle
	// watchPeak opened.
	peakBytes := peak(cmd.ProcessState)
	if err != nil {
		return nil, err
	}
	return &Finished{ProcessState: cmd.ProcessState, peakBytes: peakBytes}, nil
}

// RunJSON runs a command, decodes the JSON it prints into dst and returns
// the finished process (for its resource usage).
func RunJSON(dst any, name string, args ...string) (*Finished, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	ps, err := run(cmd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), dst); err != nil {
		return nil, fmt.Errorf("%s printed %q: %v", name, out.String(), err)
	}
	return ps, nil
}

// WallTime runs a command and returns its wall time in seconds and the
// finished process.
func WallTime(name string, args ...string) (float64, *Finished, error) {
	return WallTimeEnv(nil, name, args...)
}

// WallTimeEnv is WallTime with env added to the environment the command
// inherits (e.g. "GOMEMLIMIT=64MiB").
func WallTimeEnv(env []string, name string, args ...string) (float64, *Finished, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	ps, err := run(cmd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return time.Since(start).Seconds(), ps, nil
}

// Median returns the median of v (the mean of the middle two for an even
// count).
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
