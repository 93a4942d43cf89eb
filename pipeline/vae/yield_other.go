//go:build !linux

package vae

import "runtime"

// yieldThread lets other goroutines run; elsewhere than Linux there is no
// portable way to yield the thread itself.
func yieldThread() { runtime.Gosched() }
