//go:build windows

package bench

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// watchPeak opens a handle of its own on the child, while os/exec's handle
// still keeps its process id from being reused, and returns how to read,
// once the child has ended, its peak working set (PeakWorkingSetSize of
// GetProcessMemoryInfo): the handle keeps the ended process's counters
// readable. 0 where the handle or the counters cannot be had.
func watchPeak(p *os.Process) func(*os.ProcessState) uint64 {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_VM_READ, false, uint32(p.Pid))
	if err != nil {
		return func(*os.ProcessState) uint64 { return 0 }
	}
	return func(*os.ProcessState) uint64 {
		defer windows.CloseHandle(h)
		var c processMemoryCounters
		c.cb = uint32(unsafe.Sizeof(c))
		ok, _, _ := getProcessMemoryInfo.Call(uintptr(h), uintptr(unsafe.Pointer(&c)), uintptr(c.cb))
		if ok == 0 {
			return 0
		}
		return uint64(c.peakWorkingSetSize)
	}
}

// getProcessMemoryInfo is kernel32's K32GetProcessMemoryInfo (psapi's
// GetProcessMemoryInfo since Windows 7), which golang.org/x/sys/windows
// does not wrap.
var getProcessMemoryInfo = windows.NewLazySystemDLL("kernel32.dll").NewProc("K32GetProcessMemoryInfo")

// processMemoryCounters is PROCESS_MEMORY_COUNTERS.
type processMemoryCounters struct {
	cb                         uint32
	pageFaultCount             uint32
	peakWorkingSetSize         uintptr
	workingSetSize             uintptr
	quotaPeakPagedPoolUsage    uintptr
	quotaPagedPoolUsage        uintptr
	quotaPeakNonPagedPoolUsage uintptr
	quotaNonPagedPoolUsage     uintptr
	pagefileUsage              uintptr
	peakPagefileUsage          uintptr
}
