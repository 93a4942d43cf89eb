package jobs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestFileLock: the system's lock (flock, LockFileEx) is exclusive between
// two opens of the lock file, even in one process; what the holder wrote
// stays readable through the other open (LockFileEx locks a byte beyond
// it); release removes the file and lets the lock go, so that the next
// open of the path can take it. It runs on Linux in CI; on Windows it
// checks LockFileEx the same way.
func TestFileLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFile)
	open := func() ownedFile {
		t.Helper()
		f, err := osFS{}.OpenFile(path, os.O_RDWR|os.O_CREATE)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	holder, other := open(), open()
	if err := osLock.tryLock(holder); err != nil {
		t.Fatalf("the first lock: %v", err)
	}
	if _, err := holder.WriteAt([]byte(`{"pid":42,"host":"h","command":"train"}`), 0); err != nil {
		t.Fatal(err)
	}
	if err := osLock.tryLock(other); !errors.Is(err, errLockHeld) {
		t.Fatalf("a second lock while held: %v, want errLockHeld", err)
	}
	if got := readLockOwner(other); got == "" || got == "an unknown process" {
		t.Errorf("the holder's description read %q through the other open", got)
	}
	other.Close() // Windows removes no file another handle holds open
	osLock.release(osFS{}, holder, path)
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the lock file is still there after release: %v", err)
	}
	next := open()
	defer next.Close()
	if err := osLock.tryLock(next); err != nil {
		t.Errorf("a lock after release: %v", err)
	}
}
