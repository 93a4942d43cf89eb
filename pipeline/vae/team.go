package vae

import (
	"runtime"
	"sync/atomic"
)

// team runs the fixed pieces of a training step (the shards of a
// minibatch, the pieces of the gradients' sum, the learnables of the Adam
// update) on the caller's goroutine and up to GOMAXPROCS-1 helpers, each
// taking the next piece not yet taken. The pieces are fixed by the work,
// not by the number of goroutines, and each piece writes only its own
// results, so what a step computes does not depend on how many run it.
type team struct {
	helpers []*helper // started as a step first needs them
	n       int
	work    func(i int)
	next    atomic.Int64
	take    func() // takeAll, made once so that a step does not allocate it
}

func newTeam() *team {
	t := &team{}
	t.take = t.takeAll
	return t
}

// run runs work(i) for every i < n and returns when all have run. With
// one processor, or one piece, they run on the caller's goroutine in order.
func (t *team) run(n int, work func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			work(i)
		}
		return
	}
	for len(t.helpers) < workers-1 {
		t.helpers = append(t.helpers, newHelper())
	}
	t.n, t.work = n, work
	t.next.Store(0)
	helpers := t.helpers[:workers-1]
	for _, h := range helpers {
		h.start(t.take)
	}
	t.takeAll()
	for _, h := range helpers {
		h.wait()
	}
	t.work = nil
}

// takeAll runs pieces until none is left.
func (t *team) takeAll() {
	for {
		i := int(t.next.Add(1)) - 1
		if i >= t.n {
			return
		}
		t.work(i)
	}
}

// close stops the helpers.
func (t *team) close() {
	for _, h := range t.helpers {
		h.close()
	}
	t.helpers = nil
}
