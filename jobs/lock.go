package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the name of the lock file in the output directory.
const LockFile = ".lock"

// ErrLocked: another run holds the output directory.
var ErrLocked = errors.New("output directory is locked")

// lockOwner is what a lock file says about the process holding it.
type lockOwner struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	RunID     string    `json:"run_id,omitempty"`
	Command   string    `json:"command"`
	StartedAt time.Time `json:"started_at"`
}

// dirLock is a held lock on an output directory.
type dirLock struct {
	f    *os.File
	path string
	// createdOut is the output directory when lockOut created it: unlock
	// removes it again if the run left it empty.
	createdOut string
}

// lockOut takes the lock on out (created if missing) without waiting. The
// lock is an flock(2) on out/.lock, so the kernel lets it go when the
// holding process dies, however it dies; the file's content only names the
// holder. A lock file left behind by a killed process is taken over, with a
// log line saying whose it was. When another live process holds the lock,
// the error wraps ErrLocked and names the holder.
func lockOut(out, command, runID string, log *slog.Logger) (*dirLock, error) {
	createdOut := ""
	if _, err := os.Stat(out); errors.Is(err, fs.ErrNotExist) {
		createdOut = out
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create --out %s: %v", ErrUsage, out, err)
	}
	path := filepath.Join(out, LockFile)
	for attempt := 0; ; attempt++ {
		f, err := openOwned(path, os.O_RDWR|os.O_CREATE)
		if errors.Is(err, ErrUsage) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("%w: --out %s is not writable (cannot create its lock file): %v", ErrUsage, out, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			holder := readLockOwner(f)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%w: %s is held by %s; wait for that run to end (or stop it) and run again", ErrLocked, path, holder)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The holder before us may have removed the file between our open
		// and our flock: then we hold a lock on a file nobody else sees.
		// Start again on the file that is there now.
		if !samePath(f, path) {
			f.Close()
			if attempt > 10 {
				return nil, fmt.Errorf("lock %s: the lock file keeps being replaced", path)
			}
			continue
		}
		// The audit log is appended to at the end of a run: a link or a
		// special file there is refused now, before anything is written.
		if err := checkOwned(filepath.Join(out, AuditFile)); err != nil {
			(&dirLock{f: f, path: path, createdOut: createdOut}).unlock()
			return nil, err
		}
		if prev := readLockOwner(f); prev != "" {
			log.Warn("took over a stale lock: its holder is gone without releasing it", "lock", path, "previous_holder", prev)
		}
		host, _ := os.Hostname()
		b, _ := json.Marshal(lockOwner{PID: os.Getpid(), Host: host, RunID: runID, Command: command, StartedAt: time.Now().UTC()})
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &dirLock{f: f, path: path, createdOut: createdOut}, nil
	}
}

// unlock empties and removes the lock file, then lets the lock go. The file
// is removed while still locked, so a process waiting on it finds a fresh
// file (see samePath in lockOut).
func (l *dirLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	os.Remove(l.path)
	l.f.Close()
	l.f = nil
	if l.createdOut != "" {
		os.Remove(l.createdOut) // fails, as it should, unless empty
	}
}

// readLockOwner describes the holder named in a lock file, "" when empty.
func readLockOwner(f *os.File) string {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	if n == 0 {
		return ""
	}
	var o lockOwner
	if err := json.Unmarshal(b[:n], &o); err != nil {
		return "an unknown process"
	}
	s := fmt.Sprintf("pid %d on %s (vaejob %s", o.PID, o.Host, o.Command)
	if o.RunID != "" {
		s += ", run " + o.RunID
	}
	return s + ", since " + o.StartedAt.Format(time.RFC3339) + ")"
}

// samePath reports whether f is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
