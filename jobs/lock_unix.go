//go:build unix

package jobs

import (
	"errors"
	"syscall"
)

// osLock is flock(2).
var osLock fileLock = flockLock{}

// flockLock locks with flock(2): a lock on the open file description, let
// go when the last descriptor of it closes.
type flockLock struct{}

func (flockLock) tryLock(f ownedFile) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLockHeld
	}
	return err
}

// release removes the file while it is still locked, then closes it, which
// lets the lock go: a process that opened the file meanwhile and waits on
// it finds it gone once it holds the lock, and starts again on a fresh
// file (see samePath in takeLock).
func (flockLock) release(fsys fileSystem, f ownedFile, path string) {
	fsys.Remove(path)
	f.Close()
}
