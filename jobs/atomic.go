package jobs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// checkOwned refuses, as fileSystem.OpenFile does, a path inside --out that exists
// and is not a regular file; a missing path is fine.
func checkOwned(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return notOwnedError(path, fi.Mode())
	}
	return nil
}

// notOwnedError is the usage error for a path in --out that vaejob would
// write but that is not a regular file.
func notOwnedError(path string, mode fs.FileMode) error {
	return fmt.Errorf("%w: %s is a %s, not a regular file; vaejob writes only its own regular files inside --out and never follows a link there: remove it", ErrUsage, path, regfile.Kind(mode))
}

// createAtomic replaces path with what write writes: it writes a temporary
// file in the same directory, syncs it, renames it over path and syncs the
// directory, so a reader sees either the old file or the whole new one, and
// a failure leaves no partial file behind. It replaces only a regular file
// or nothing: should path be anything else just before the rename (a
// symbolic link, a folder, a device, a FIFO, a socket), it removes its
// temporary file and returns a *notRegularTargetError, so a rename never
// replaces a link or a device node with a regular file. (The callers check
// the path before any work; this check narrows the window in which the
// path could be swapped to the moment between it and the rename.)
//
// Every step goes through fsys (see fileSystem), so the fault tests reach
// it; the temporary file is named .tmp-<name>-<random>, a leftover the
// owner of --out removes.
func createAtomic(fsys fileSystem, path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp := tmpName(dir, tmpPrefix+filepath.Base(path)+"-")
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			fsys.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return err
	}
	if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
		return &notRegularTargetError{Path: path, Mode: fi.Mode()}
	}
	if err = fsys.Rename(tmp, path); err != nil {
		return err
	}
	return fsys.SyncDir(dir)
}

// notRegularTargetError is createAtomic's refusal to rename over what is
// not a regular file; Mode is what Lstat found at Path.
type notRegularTargetError struct {
	Path string
	Mode fs.FileMode
}

func (e *notRegularTargetError) Error() string {
	return fmt.Sprintf("%s is a %s, not a regular file: not replaced", e.Path, regfile.Kind(e.Mode))
}

// syncDir makes a rename or create in dir durable. Windows has no way to
// sync a folder (FlushFileBuffers wants a handle open for writing, which
// a folder's cannot be): there NTFS's journal makes renames and creations
// durable on its own schedule, and syncDir does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync() // an *fs.PathError naming the step and dir
}
