//go:build windows

package jobs

import "golang.org/x/sys/windows"

// osMachineErrnos are Windows's codes for the machine faults of
// machineErrnos: Windows reports a full disk, write-protected media or a
// failing device with codes of its own, never ENOSPC, EROFS or EIO.
var osMachineErrnos = []machineErrno{
	{windows.ERROR_DISK_FULL, diskFull},
	{windows.ERROR_HANDLE_DISK_FULL, diskFull},
	{windows.ERROR_DISK_QUOTA_EXCEEDED, adviceQuota},
	{windows.ERROR_WRITE_PROTECT, "the medium is write-protected: make it writable, or write elsewhere, then run again"},
	{windows.ERROR_CRC, "the storage failed to read or write (a data error): " + adviceCheckDisk},
	{windows.ERROR_IO_DEVICE, "the storage failed to read or write (an I/O device error): " + adviceCheckDisk},
	{windows.ERROR_NETNAME_DELETED, "a network share went away while in use: retry later"},
}

// diskFull is the advice for Windows's two codes of a full disk.
const diskFull = "the disk is full: " + adviceFreeSpace
