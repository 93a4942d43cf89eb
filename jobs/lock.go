package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

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
	f    ownedFile
	path string
	// createdOut is the output directory when takeLock created it: unlock
	// removes it again if the run left it empty.
	createdOut string
}

// errLockHeld is fileLock.tryLock's error when another process holds the
// lock.
var errLockHeld = errors.New("held by another process")

// fileLock is the operating system's lock on an open file, the one part of
// the lock on --out that differs between systems: flock(2) on Unix
// (lock_unix.go), LockFileEx on Windows (lock_windows.go). Either way the
// kernel lets the lock go when the holding process dies, however it dies.
type fileLock interface {
	// tryLock takes an exclusive lock on f without waiting; errLockHeld
	// when another process holds it.
	tryLock(f ownedFile) error
	// release lets the lock on f go and removes the file at path, in the
	// order the system allows, and closes f.
	release(fsys fileSystem, f ownedFile, path string)
}

// takeLock takes the lock on d.root (created if missing) without waiting.
// The lock is osLock's (flock(2) or LockFileEx) on OUT/.lock, so the
// kernel lets it go when the holding process dies, however it dies; the
// file's content only names the holder. A lock file left behind by a
// killed process is taken over, with a log line saying whose it was. When another live process holds the lock,
// the error wraps ErrLocked and names the holder. (On a network file system
// flock may not lock across machines: see the README.) A failure leaves
// neither a lock file nor a --out folder it created.
func (d *outDir) takeLock(command, runID string) error {
	createdOut := ""
	if _, err := os.Stat(d.root); errors.Is(err, fs.ErrNotExist) {
		createdOut = d.root
	}
	if err := d.fs.MkdirAll(d.root, 0o755); err != nil {
		return fmt.Errorf("%w: create --out %s: %w", ErrUsage, d.root, err)
	}
	path := d.root + string(os.PathSeparator) + LockFile
	fail := func(l *dirLock, err error) error {
		d.lock = l
		d.unlock()
		return err
	}
	for attempt := 0; ; attempt++ {
		f, err := d.fs.OpenFile(path, os.O_RDWR|os.O_CREATE)
		if err != nil {
			err = ownedErr(path, err)
			if !errors.Is(err, ErrUsage) {
				err = fmt.Errorf("%w: --out %s is not writable (cannot create its lock file %s): %w", ErrUsage, d.root, LockFile, err)
			}
			return fail(&dirLock{path: path, createdOut: createdOut}, err)
		}
		l := &dirLock{f: f, path: path, createdOut: createdOut}
		if err := osLock.tryLock(f); err != nil {
			holder := readLockOwner(f)
			f.Close()
			if errors.Is(err, errLockHeld) {
				return fmt.Errorf("%w: %s is held by %s; wait for that run to end (or stop it) and run again", ErrLocked, path, holder)
			}
			return fmt.Errorf("lock %s: %w", path, err)
		}
		// The holder before us may have removed the file between our open
		// and our flock: then we hold a lock on a file nobody else sees.
		// Start again on the file that is there now.
		if !samePath(f, path) {
			f.Close()
			if attempt > 10 {
				return fmt.Errorf("lock %s: the lock file keeps being replaced", path)
			}
			continue
		}
		// The audit log is appended to at the end of a run: a link or a
		// special file there is refused now, before anything is written.
		if err := checkOwned(d.auditPath()); err != nil {
			return fail(l, err)
		}
		if prev := readLockOwner(f); prev != "" {
			d.log.Warn("took over a stale lock: its holder is gone without releasing it", "lock", path, "previous_holder", prev)
		}
		host, _ := os.Hostname()
		b, _ := json.Marshal(lockOwner{PID: os.Getpid(), Host: host, RunID: runID, Command: command, StartedAt: time.Now().UTC()})
		if err := f.Truncate(0); err != nil {
			return fail(l, fmt.Errorf("lock %s: %w", path, err))
		}
		if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
			return fail(l, fmt.Errorf("lock %s: %w", path, err))
		}
		d.lock = l
		return nil
	}
}

// unlock empties and removes the lock file and lets the lock go (in the
// order osLock.release gives). A --out folder takeLock created is removed
// again when the run left it empty.
func (d *outDir) unlock() {
	l := d.lock
	d.lock = nil
	if l == nil {
		return
	}
	if l.f != nil {
		l.f.Truncate(0)
		osLock.release(d.fs, l.f, l.path)
	}
	if l.createdOut != "" {
		d.fs.Remove(l.createdOut) // fails, as it should, unless empty
	}
}

// readLockOwner describes the holder named in a lock file, "" when empty.
func readLockOwner(f ownedFile) string {
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
func samePath(f ownedFile, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
