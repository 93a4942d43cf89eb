//go:build windows

package regfile

import "syscall"

// openNonblock is 0: a file path on Windows never names a pipe that blocks
// an open (named pipes live apart, under \\.\pipe\).
const openNonblock = 0

// openNoFollow opens a symbolic link or junction at the last element as
// itself, not its target (CreateFile's FILE_FLAG_OPEN_REPARSE_POINT, which
// os.OpenFile passes on from the flag's high bits): OpenNoFollow then
// finds a link, not a regular file, on the open handle and refuses it.
const openNoFollow = syscall.FILE_FLAG_OPEN_REPARSE_POINT
