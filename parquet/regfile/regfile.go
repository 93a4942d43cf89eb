// Package regfile opens the files users name (tables, models, configs)
// for reading, refusing anything but a regular file without ever blocking.
//
// Opening a FIFO for reading waits until a writer appears, in open(2),
// where no context, timeout or signal handler can reach it; opening some
// devices has side effects. Open therefore checks the path with stat
// first (a symbolic link to a regular file is fine), then opens it
// non-blocking and checks the open descriptor again, so that a file
// swapped for a FIFO between the two steps is refused too.
package regfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// NotRegularError is the error for a path that names a directory, FIFO,
// socket or device rather than a regular file.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is a %s, not a regular file", e.Path, Kind(e.Mode))
}

// TooLargeError is the error of ReadFile for a file larger than its
// limit.
type TooLargeError struct {
	Path  string
	Size  int64 // at least this many bytes
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes (at least %d)", e.Path, e.Limit, e.Size)
}

// Open opens the regular file at path for reading and returns it with its
// size. A path that does not name a regular file is a *NotRegularError;
// other failures are those of os.Stat and os.Open (errors.Is(err,
// fs.ErrNotExist) and fs.ErrPermission hold as usual).
func Open(path string) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return openRegular(path)
}

// openRegular opens path without waiting for a writer, should it have
// become a FIFO since it was checked, and refuses anything but a regular
// file on the open descriptor.
func openRegular(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return f, st.Size(), nil
}

// OpenNoFollow opens path with flag (os.O_* flags; with os.O_CREATE a new
// file gets mode 0644) for a file a program keeps for itself: it never
// follows a symbolic link at the last element of path, never waits on a
// FIFO, and refuses anything but a regular file. A link, FIFO, socket,
// device or directory there is a *NotRegularError naming its kind.
func OpenNoFollow(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|openNoFollow|openNonblock, 0o644)
	if err != nil {
		// A link refused by O_NOFOLLOW, or a FIFO without a reader.
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return f, nil
}

// ReadFile reads the regular file at path (see Open) whole. A file of
// more than limit bytes is a *TooLargeError, found from its size before
// anything is read, or after limit+1 bytes if it grows meanwhile.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, size, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, &TooLargeError{Path: path, Size: size, Limit: limit}
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, &TooLargeError{Path: path, Size: int64(len(b)), Limit: limit}
		}
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// Kind names the type of a file: "regular file", "directory", "named pipe
// (FIFO)", "socket", "character device", ...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return "special file (" + m.Type().String() + ")"
}
