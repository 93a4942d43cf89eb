//go:build !windows

package jobs

// replaceLink renames the new link tmp over the link at path, in one
// rename: the commit point of moving latest.
func replaceLink(fsys fileSystem, tmp, path string) error {
	return fsys.Rename(tmp, path)
}

// linkError is the error of creating a symbolic link, as it is.
func linkError(err error) error { return err }
