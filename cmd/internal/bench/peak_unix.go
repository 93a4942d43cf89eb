//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// watchPeak returns how to read a child's peak resident memory in bytes
// once it has ended: the maxrss of its resource usage, which Darwin (and
// iOS) count in bytes and the other Unix systems in KiB.
func watchPeak(*os.Process) func(*os.ProcessState) uint64 {
	return func(ps *os.ProcessState) uint64 {
		if ps == nil { // Wait failed before the child ended
			return 0
		}
		ru, ok := ps.SysUsage().(*syscall.Rusage)
		if !ok {
			return 0
		}
		if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
			return uint64(ru.Maxrss)
		}
		return uint64(ru.Maxrss) << 10
	}
}
