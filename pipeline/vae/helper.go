package vae

import (
	"runtime"
	"sync/atomic"
	"time"
)

// helper is a goroutine that stays alive for a whole training run to take
// its share of the pieces of every training step (see team). A training
// step hands it work about
// every few hundred microseconds; waking a parked thread each time costs
// tens of microseconds, more in a virtual machine, so the helper polls
// between steps and parks only after a pause (an epoch's validation pass,
// the end of training). While it polls it yields its processor to any
// other thread queued there: gorgonia's tape machine hands every step
// between two OS threads, and a thread woken behind a poller that does not
// yield waits for a scheduler tick, about a millisecond (measured).
type helper struct {
	work     func()
	posted   atomic.Uint64 // jobs handed out
	finished atomic.Uint64 // jobs done
	sleeping atomic.Bool
	quit     atomic.Bool
	wake     chan struct{}
}

// helperSpin is how long the helper polls for its next job at most.
const helperSpin = 200 * time.Microsecond

func newHelper() *helper {
	h := &helper{wake: make(chan struct{}, 1)}
	go h.loop()
	return h
}

// start hands work to the helper; wait returns when it has run.
func (h *helper) start(work func()) {
	h.work = work
	h.posted.Add(1)
	h.rouse()
}

// wait returns when every job handed out has finished. It polls, as the
// job is usually moments from done; if it is not (the helper is waiting
// for a processor another goroutine holds), it yields after a while.
func (h *helper) wait() {
	want := h.posted.Load()
	var began time.Time
	for i := 0; h.finished.Load() < want; i++ {
		switch {
		case i%64 != 63:
		case began.IsZero():
			began = time.Now()
		case time.Since(began) > helperSpin:
			runtime.Gosched()
		default:
			yieldThread()
		}
	}
}

// close stops the helper once it has finished its jobs.
func (h *helper) close() {
	h.quit.Store(true)
	h.rouse()
}

// rouse wakes the helper if it has parked.
func (h *helper) rouse() {
	if h.sleeping.CompareAndSwap(true, false) {
		h.wake <- struct{}{}
	}
}

func (h *helper) loop() {
	for done := uint64(0); ; {
		if !h.await(done + 1) {
			return
		}
		h.work()
		done++
		h.finished.Store(done)
	}
}

// await waits until job want has been posted (true) or the helper is to
// quit (false).
func (h *helper) await(want uint64) bool {
	ready := func() bool { return h.posted.Load() >= want || h.quit.Load() }
	began := time.Now()
	for i := 0; !ready(); i++ {
		if i%64 != 63 {
			continue
		}
		if time.Since(began) < helperSpin {
			// Let any thread the system queued on this processor run
			// (gorgonia's tape machine wakes one at every step).
			yieldThread()
			continue
		}
		// Park. A poster that finds sleeping set sends one wake-up; if
		// the job arrived between the check and the flag, take it back.
		h.sleeping.Store(true)
		if ready() && h.sleeping.CompareAndSwap(true, false) {
			break
		}
		<-h.wake
		began, i = time.Now(), 0
	}
	return h.posted.Load() >= want
}
