//go:build unix

package regfile

import "syscall"

// openNonblock makes opening a FIFO return at once instead of waiting for
// a writer; on a regular file it changes nothing.
const openNonblock = syscall.O_NONBLOCK

// openNoFollow makes an open fail on a symbolic link at the last element.
const openNoFollow = syscall.O_NOFOLLOW
