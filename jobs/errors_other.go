//go:build !windows

package jobs

// osMachineErrnos is empty where the system's errors are the errnos of
// machineErrnos.
var osMachineErrnos []machineErrno
