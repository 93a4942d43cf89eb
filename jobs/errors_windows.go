//go:build windows

package jobs

import "golang.org/x/sys/windows"

// osMachineErrnos are Windows's codes for the machine faults of
// machineErrnos: Windows reports a full disk, write-protected media or a
// failing device with codes of its own, never ENOSPC, EROFS or EIO.
var osMachineErrnos = []machineErrno{
	{windows.ERROR_DISK_FULL, "the disk is full: free space on it, or write elsewhere, then run again"},
	{windows.ERROR_HANDLE_DISK_FULL, "the disk is full: free space on it, or write elsewhere, then run again"},
	{windows.ERROR_DISK_QUOTA_EXCEEDED, "the disk quota is used up: free space or raise the quota, then run again"},
	{windows.ERROR_WRITE_PROTECT, "the medium is write-protected: make it writable, or write elsewhere, then run again"},
	{windows.ERROR_CRC, "the storage failed to read or write (a data error): check the disk, and retry later, possibly on another machine"},
	{windows.ERROR_IO_DEVICE, "the storage failed to read or write (an I/O device error): check the disk, and retry later, possibly on another machine"},
	{windows.ERROR_NETNAME_DELETED, "a network share went away while in use: retry later"},
}
