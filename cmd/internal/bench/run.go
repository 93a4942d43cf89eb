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
	"syscall"
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

// PeakMB returns the peak resident memory of a finished process in MB, or
// 0 where the system does not report it.
func PeakMB(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	return 0
}

// RunJSON runs a command, decodes the JSON it prints into dst and returns
// its process state (for its resource usage).
func RunJSON(dst any, name string, args ...string) (*os.ProcessState, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), dst); err != nil {
		return nil, fmt.Errorf("%s printed %q: %v", name, out.String(), err)
	}
	return cmd.ProcessState, nil
}

// WallTime runs a command and returns its wall time in seconds and its
// process state.
func WallTime(name string, args ...string) (float64, *os.ProcessState, error) {
	cmd := exec.Command(name, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return time.Since(start).Seconds(), cmd.ProcessState, nil
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
