package jobs

import (
	"errors"
	"io/fs"
	"os"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// fileSystem is the seam through which the owner of --out (see outDir)
// changes the disk: every create, write, sync, rename, link and removal of
// publishing, promotion, the lock, the audit log, retention and repair goes
// through it, so tests make any one of them fail (faultFS in the tests) and
// check what is left. Reads go to the os package directly.
type fileSystem interface {
	// Mkdir creates a folder.
	Mkdir(name string, perm fs.FileMode) error
	// MkdirAll creates a folder and any missing parents.
	MkdirAll(name string, perm fs.FileMode) error
	// OpenFile opens a regular file without following a symbolic link
	// (see regfile.OpenNoFollow).
	OpenFile(name string, flag int) (ownedFile, error)
	// Rename renames, as os.Rename.
	Rename(oldpath, newpath string) error
	// Symlink creates newname as a symbolic link to oldname.
	Symlink(oldname, newname string) error
	// Remove removes a file, a link or an empty folder.
	Remove(name string) error
	// RemoveAll removes a folder and what it holds.
	RemoveAll(name string) error
	// SyncDir makes the creations, renames and removals in a folder
	// durable.
	SyncDir(name string) error
}

// ownedFile is an open file inside --out.
type ownedFile interface {
	Write(b []byte) (int, error)
	WriteAt(b []byte, off int64) (int, error)
	ReadAt(b []byte, off int64) (int, error)
	Truncate(size int64) error
	Chmod(mode fs.FileMode) error
	Sync() error
	Close() error
	Stat() (fs.FileInfo, error)
	Fd() uintptr
	Name() string
}

// osFS is the file system itself.
type osFS struct{}

func (osFS) Mkdir(name string, perm fs.FileMode) error    { return os.Mkdir(name, perm) }
func (osFS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }
func (osFS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (osFS) Symlink(oldname, newname string) error        { return os.Symlink(oldname, newname) }
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) RemoveAll(name string) error                  { return os.RemoveAll(name) }
func (osFS) SyncDir(name string) error                    { return syncDir(name) }

func (osFS) OpenFile(name string, flag int) (ownedFile, error) {
	f, err := regfile.OpenNoFollow(name, flag)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil interface
	}
	return f, nil
}

// diskFS is the file system vaejob writes through (outDir, and score's
// --output through createAtomic); tests replace it (as restic does
// with its file-system seams) to make a chosen step fail.
var diskFS fileSystem = osFS{}

// writeOwned creates name (which must not exist) through fsys, writes data
// and syncs it. A failure removes what it created.
func writeOwned(fsys fileSystem, name string, data []byte) error {
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return ownedErr(name, err)
	}
	err = writeSyncClose(f, data)
	if err != nil {
		fsys.Remove(name)
	}
	return err
}

// writeSyncClose writes data to f, syncs and closes it; it closes f on
// failure too.
func writeSyncClose(f ownedFile, data []byte) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return &fs.PathError{Op: "write", Path: f.Name(), Err: unwrapPathErr(err)}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return &fs.PathError{Op: "sync", Path: f.Name(), Err: unwrapPathErr(err)}
	}
	return f.Close()
}

// unwrapPathErr returns the error inside an *fs.PathError, so that the
// caller's PathError names the step without repeating the path.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ownedErr turns regfile's refusal of a path that is not a regular file
// into the usage error naming it (see notOwnedError); other errors pass.
func ownedErr(name string, err error) error {
	var nr *regfile.NotRegularError
	if errors.As(err, &nr) {
		return notOwnedError(name, nr.Mode)
	}
	return err
}
