package vae

import "syscall"

// yieldThread gives the processor to another thread the system has queued
// on it, if any (sched_yield).
func yieldThread() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
