//go:build windows

package jobs

import (
	"errors"

	"golang.org/x/sys/windows"
)

// osLock is LockFileEx.
var osLock fileLock = lockFileEx{}

// lockFileEx locks with LockFileEx: a lock on one byte of the file's
// handle, let go when the handle closes or the process ends. Windows locks
// are mandatory (no other handle may read or write a locked byte), so the
// locked byte lies beyond the end of the file, where nothing is written
// (Windows allows that): the holder's description at the start stays
// readable to the run that finds the lock held.
type lockFileEx struct{}

// lockedByte is the offset of the byte locked: 1 GiB, far past the few
// hundred bytes a lock file holds, and within the 32-bit offsets of every
// file system and SMB dialect (SQLite puts its lock bytes there too).
const lockedByte = 1 << 30

func (lockFileEx) tryLock(f ownedFile) error {
	ol := windows.Overlapped{Offset: lockedByte}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errLockHeld
	}
	return err
}

// release closes the file first, which lets the lock go, and removes it
// after: Go opens files without FILE_SHARE_DELETE, so Windows refuses to
// remove a file while any process holds it open, ours included. A process
// that opened the file in between keeps it (the removal fails, as it
// should), and the file it locks is the one at the path, which samePath in
// takeLock relies on.
func (lockFileEx) release(fsys fileSystem, f ownedFile, path string) {
	f.Close()
	fsys.Remove(path)
}
