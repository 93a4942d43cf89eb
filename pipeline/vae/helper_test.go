package vae

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestHelper hands the helper jobs back to back (it polls) and after
// pauses longer than its polling (it parks and must be woken), then checks
// that close ends its goroutine.
func TestHelper(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newHelper()
	var ran atomic.Int64
	for i := range 200 {
		if i%20 == 0 {
			time.Sleep(2 * helperSpin) // long enough to park
		}
		h.start(func() { ran.Add(1) })
		h.wait()
		if got := ran.Load(); got != int64(i+1) {
			t.Fatalf("after job %d, %d jobs ran", i+1, got)
		}
	}
	time.Sleep(2 * helperSpin) // close a parked helper
	h.close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after close, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}
