package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/parquet/regfile"
)

// checkOutputPath checks the path a flag names for a file vaejob will write
// (created beside it and renamed over it, see createAtomic): its folder must
// exist, and the path itself must be absent or a regular file. A symbolic
// link there is refused, never followed, as are a folder, a device, a FIFO
// and a socket, which a rename would replace. It returns what is at the
// path now (nil when nothing is); its errors wrap ErrUsage, and the
// system's error where a check failed (an I/O error stays a machine fault,
// see IsMachineFault). wants names the file the flag takes, for the
// messages ("a .parquet or .csv file").
func checkOutputPath(flag, wants, path string) (fs.FileInfo, error) {
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator)) {
		return nil, fmt.Errorf("%w: %s %s ends in a path separator, so it names a folder; name %s", ErrUsage, flag, path, wants)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), err == nil && !fi.IsDir():
		return nil, fmt.Errorf("%w: %s %s: the directory %s does not exist; create it or choose another %s", ErrUsage, flag, path, dir, flag)
	case err != nil:
		return nil, fmt.Errorf("%w: %s %s: the directory %s cannot be checked (%w); choose a folder this user can read and write", ErrUsage, flag, path, dir, err)
	}
	fi, err = os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %s %s cannot be checked (%w); choose a path in a folder this user can read and write", ErrUsage, flag, path, err)
	}
	if err := checkOutputMode(flag, wants, path, fi.Mode()); err != nil {
		return nil, err
	}
	return fi, nil
}

// checkOutputMode refuses anything but a regular file at an output path,
// mode being what Lstat found there; wants is as checkOutputPath's.
func checkOutputMode(flag, wants, path string, mode fs.FileMode) error {
	switch {
	case mode.IsRegular():
		return nil
	case mode&fs.ModeSymlink != 0:
		target, _ := os.Readlink(path)
		return fmt.Errorf("%w: %s %s is a symbolic link (to %s); vaejob writes a regular file and never follows a link there: name the file itself, or remove the link", ErrUsage, flag, path, target)
	case mode.IsDir():
		return fmt.Errorf("%w: %s %s is a directory; name %s (e.g. inside it)", ErrUsage, flag, path, wants)
	}
	return fmt.Errorf("%w: %s %s is a %s, which vaejob will not replace: it writes only regular files; name %s", ErrUsage, flag, path, regfile.Kind(mode), wants)
}

// outputSource is a flag that names files a run reads: Arg as given, and
// Files, the files it resolved to (through folders and globs); What names
// them for a message ("input file").
type outputSource struct {
	What, Flag, Arg string
	Files           []string
}

// inputFiles lists the paths of inputs, for an outputSource.
func inputFiles(ins []parquet.Input) []string {
	paths := make([]string, len(ins))
	for i, in := range ins {
		paths[i] = in.Path
	}
	return paths
}

// checkOutputNotInput refuses an output file that is one of the files the
// run reads (the files --input resolved to, through folders, globs and
// symbolic links, and the --model): writing it would replace them.
// existing is what checkOutputPath found at the output path (nil: nothing,
// so no input). The comparison is by file identity (device and inode), so
// another spelling of the same path, a hard link or a link to an input
// all count. Its errors wrap ErrUsage.
func checkOutputNotInput(flag, path string, existing fs.FileInfo, sources ...outputSource) error {
	if existing == nil {
		return nil
	}
	for _, src := range sources {
		for _, file := range src.Files {
			fi, err := os.Stat(file)
			if err != nil || !os.SameFile(fi, existing) {
				continue
			}
			if filepath.Clean(file) == filepath.Clean(src.Arg) {
				return fmt.Errorf("%w: %s %s is the %s (%s); writing it would replace it: choose another %s", ErrUsage, flag, path, src.What, src.Flag, flag)
			}
			return fmt.Errorf("%w: %s %s is the %s %s (found through %s %s); writing it would replace it: choose an %s that is not among the inputs, e.g. outside that folder", ErrUsage, flag, path, src.What, file, src.Flag, src.Arg, flag)
		}
	}
	return nil
}
