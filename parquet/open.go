package parquet

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"unicode/utf8"
)

// parquetMagic starts and ends every unencrypted Parquet file.
var parquetMagic = []byte("PAR1")

// openInput opens a regular file for reading, turning the usual failures
// into user-facing ErrBadInput errors.
//
// A FIFO, socket or device is refused without ever being opened for
// reading: opening a FIFO blocks until a writer appears, deaf to any
// cancellation, and none of them can be read from the end as Parquet
// needs. The path is checked with stat first (a symbolic link
// to a regular file is fine), then opened non-blocking and checked again
// on the open descriptor, so that a file swapped for a FIFO between the
// two steps is refused too.
func openInput(path string) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, openError(err)
	}
	if err := checkRegular(st.Mode()); err != nil {
		return nil, 0, err
	}
	return openRegular(path)
}

// openRegular opens path without waiting for a writer, should it have
// become a FIFO since it was checked, and refuses anything but a regular
// file on the open descriptor.
func openRegular(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, 0, openError(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, badInput("cannot stat the file: %w", err)
	}
	if err := checkRegular(st.Mode()); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// openError words a failed stat or open of an input.
func openError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return badInput("the file does not exist; check the path")
	case errors.Is(err, fs.ErrPermission):
		return badInput("permission denied; make the file readable by this user")
	}
	return badInput("cannot open the file: %w", err)
}

// checkRegular refuses anything but a regular file.
func checkRegular(mode fs.FileMode) error {
	switch {
	case mode.IsDir():
		return badInput("this is a directory, not a file; give the path of a Parquet file")
	case !mode.IsRegular():
		return badInput("this is not a regular file but a %s, which cannot be read as a table; give the path of a Parquet or Arrow file", fileKind(mode))
	}
	return nil
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
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

// checkParquetTail verifies the "PAR1" marker at the end of a file that
// starts with one.
func checkParquetTail(f *os.File, size int64) error {
	if size < 12 {
		return badInput("the file is truncated: %d bytes is too small for a Parquet file; re-create it", size)
	}
	tail := make([]byte, 4)
	if _, err := f.ReadAt(tail, size-4); err != nil {
		return badInput("cannot read the file: %w", err)
	}
	switch {
	case bytes.Equal(tail, []byte("PARE")):
		return badInput("the Parquet file is encrypted, which is not supported; write it without encryption")
	case !bytes.Equal(tail, parquetMagic):
		return badInput("the Parquet file is truncated or corrupt: it does not end with \"PAR1\"; re-create or re-download it")
	}
	return nil
}

// looksLikeText reports whether b is plausibly the start of a text file.
func looksLikeText(b []byte) bool {
	if len(b) == 0 || bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	// A read may cut a multi-byte rune at the end.
	for k := 0; k < utf8.UTFMax && len(b) > 1 && !utf8.Valid(b); k++ {
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}
