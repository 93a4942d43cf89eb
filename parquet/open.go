package parquet

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"unicode/utf8"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// parquetMagic starts and ends every unencrypted Parquet file.
var parquetMagic = []byte("PAR1")

// encryptedParquetMagic starts and ends a Parquet file whose footer is
// encrypted; one with a plaintext footer ends with it.
var encryptedParquetMagic = []byte("PARE")

// openInput opens a regular file for reading (see regfile.Open: a FIFO,
// socket or device is refused without ever being opened for reading, as
// opening a FIFO blocks until a writer appears, deaf to any cancellation,
// and none of them can be read from the end as Parquet needs), turning the
// usual failures into user-facing ErrBadInput errors.
func openInput(path string) (*os.File, int64, error) {
	f, size, err := regfile.Open(path)
	if err != nil {
		return nil, 0, openError(err)
	}
	return f, size, nil
}

// openError words a failed stat or open of an input.
func openError(err error) error {
	var notRegular *regfile.NotRegularError
	switch {
	case errors.As(err, &notRegular):
		return checkRegular(notRegular.Mode)
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
		return badInput("this is not a regular file but a %s, which cannot be read as a table; give the path of a Parquet or Arrow file", regfile.Kind(mode))
	}
	return nil
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
	case bytes.Equal(tail, encryptedParquetMagic):
		return unsupported("the Parquet file is encrypted (Parquet modular encryption), which vaejob cannot read; write it without encryption")
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
