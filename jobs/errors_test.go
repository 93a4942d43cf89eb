package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

// TestIsMachineFault: a full, read-only or failing file system is a
// machine fault however deep in the chain its errno sits, inside a usage
// or bad-input error too; permission denied, the process's own file
// limit, other errors and a chain that lost the errno are not. Each
// machine fault comes with advice naming what to do.
func TestIsMachineFault(t *testing.T) {
	path := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "write", Path: "/out/.scores.tmp-1", Err: errno}
	}
	tests := []struct {
		name   string
		err    error
		want   bool
		advice string // a substring of MachineFaultAdvice
	}{
		{"nil", nil, false, ""},
		{"ErrMachine", fmt.Errorf("sync /out: %w", ErrMachine), true, "retry later"},
		{"no space", fmt.Errorf("write scores: %w", path(syscall.ENOSPC)), true, "free space"},
		{"quota", path(syscall.EDQUOT), true, "quota"},
		{"read-only", path(syscall.EROFS), true, "read-only"},
		{"I/O error", fmt.Errorf("read x.parquet: %w", path(syscall.EIO)), true, "retry later"},
		{"system file table full", path(syscall.ENFILE), true, "retry later"},
		{"stale NFS handle", path(syscall.ESTALE), true, "retry later"},
		{"usage error around EROFS", kind(ErrUsage, fmt.Errorf("--out /ro: %w", path(syscall.EROFS))), true, "read-only"},
		{"bad input around EIO", kind(ErrBadInput, path(syscall.EIO)), true, "I/O error"},
		{"joined", errors.Join(errors.New("first"), path(syscall.ENOSPC)), true, "free space"},
		{"permission denied", kind(ErrUsage, path(syscall.EACCES)), false, ""},
		{"operation not permitted", path(syscall.EPERM), false, ""},
		{"this process's file limit", path(syscall.EMFILE), false, ""},
		{"not found", path(syscall.ENOENT), false, ""},
		{"bad input", fmt.Errorf("%w: not a Parquet file", ErrBadInput), false, ""},
		{"errno lost by %v", fmt.Errorf("write: %v", path(syscall.ENOSPC)), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsMachineFault(tc.err); got != tc.want {
				t.Errorf("IsMachineFault(%v) = %v, want %v", tc.err, got, tc.want)
			}
			advice := MachineFaultAdvice(tc.err)
			if tc.advice == "" && advice != "" || !strings.Contains(advice, tc.advice) {
				t.Errorf("MachineFaultAdvice(%v) = %q, want one saying %q", tc.err, advice, tc.advice)
			}
		})
	}
}
