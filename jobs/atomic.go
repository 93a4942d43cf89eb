package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// writeFileSync writes data to path (a new file in a directory that is not
// yet published) and syncs it to disk.
func writeFileSync(path string, data []byte) error {
	return writeSynced(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, data)
}

// openOwned opens a file vaejob keeps inside --out (the lock, the audit
// log, the files of a run) with flag through regfile.OpenNoFollow: a link
// planted there would have vaejob write outside --out, a FIFO would block
// it. Such a path is a usage error (exit 2) naming it.
func openOwned(path string, flag int) (*os.File, error) {
	f, err := regfile.OpenNoFollow(path, flag)
	var nr *regfile.NotRegularError
	if errors.As(err, &nr) {
		return nil, notOwnedError(path, nr.Mode)
	}
	return f, err
}

// checkOwned refuses, as openOwned does, a path inside --out that exists
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

// writeSynced opens path with flag (see openOwned), writes data, syncs and
// closes it.
func writeSynced(path string, flag int, data []byte) error {
	f, err := openOwned(path, flag)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
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
func createAtomic(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
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
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
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

// syncDir makes a rename or create in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// pointLatest makes out/latest a symlink to target (relative to out),
// replacing any previous link in one rename. The temporary link has a unique
// name, so two runs publishing at once cannot remove each other's.
func pointLatest(out, target string) error {
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	tmp := filepath.Join(out, ".latest.tmp-"+hex.EncodeToString(suffix[:]))
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("create latest link: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(out, "latest")); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("move latest link: %w", err)
	}
	return syncDir(out)
}
