//go:build !unix && !windows

package bench

import "os"

// watchPeak reads nothing where the system reports no peak memory.
func watchPeak(*os.Process) func(*os.ProcessState) uint64 {
	return func(*os.ProcessState) uint64 { return 0 }
}
