//go:build windows

package jobs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// replaceLink puts the new link tmp at path. Windows renames a file over a
// file but not over a folder, and a link to a folder is one: when a link
// is there, it is renamed aside first, then tmp into its place (the commit
// point), then the old link removed. Not one rename as on Unix: a run
// killed between the two renames leaves no latest (see the README,
// "Windows"), and the next run removes the old link's temporary name.
func replaceLink(fsys fileSystem, tmp, path string) error {
	err := fsys.Rename(tmp, path)
	if err == nil {
		return nil
	}
	if _, lerr := os.Lstat(path); lerr != nil {
		return err // nothing to move aside: the rename failed for itself
	}
	old := tmpName(filepath.Dir(path), latestOldTmp)
	if err := fsys.Rename(path, old); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, path); err != nil {
		fsys.Rename(old, path)
		return err
	}
	fsys.Remove(old)
	return nil
}

// linkError says how to get the right to create symbolic links when
// Windows refused it: a usage error, as the job cannot publish latest
// until the machine is set up.
func linkError(err error) error {
	if errors.Is(err, windows.ERROR_PRIVILEGE_NOT_HELD) {
		return fmt.Errorf("%w: %w: vaejob keeps latest as a symbolic link, which Windows lets a user create only in Developer Mode (Settings, System, For developers) or with the \"Create symbolic links\" right (SeCreateSymbolicLinkPrivilege); turn one on, or run as an administrator", ErrUsage, err)
	}
	return err
}
