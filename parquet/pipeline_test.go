package parquet

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pipelineFixture is a file of 200 row groups of 100 rows, read twice (a
// second input linking to it): far more units than inFlight on any core
// count of coreCounts.
func pipelineFixture(t *testing.T) []Input {
	t.Helper()
	vals := make([]float64, 20000)
	for i := range vals {
		vals[i] = float64(i)
	}
	path := writeFixture(t, "many.parquet", 100, col{"x", f64s(vals)}, col{"y", f64s(vals)})
	ins, err := ResolveInputs([]string{path, linkTo(t, path)})
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

// waitFor polls cond until it holds, failing the test after a minute: a
// pipeline that hangs or leaks fails, one that is merely slow does not.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute, still not: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// stacks returns the stacks of every goroutine.
func stacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestPipelineMemoryBound holds the caller's function on the first batch
// and waits for the producer to stop at acquire, waiting for a slot of
// inFlight: with the caller stalled, the read decodes no more than
// inFlight units ahead instead of the whole input.
func TestPipelineMemoryBound(t *testing.T) {
	ins := pipelineFixture(t)
	for _, procs := range coreCounts {
		withProcs(procs, func() {
			release := make(chan struct{})
			batches := 0
			done := make(chan error, 1)
			go func() {
				_, err := StreamInputs(context.Background(), ins, Selection{}, ReadOptions{}, func(*Batch) error {
					if batches++; batches == 1 {
						<-release
					}
					return nil
				})
				done <- err
			}()
			waitFor(t, "the producer waits for a slot while the caller holds the first batch", func() bool {
				select {
				case err := <-done:
					t.Fatalf("GOMAXPROCS %d: the read ended (%v) while the caller held its first batch", procs, err)
				default:
				}
				return strings.Contains(stacks(), "(*pipeline).acquire")
			})
			close(release)
			if err := <-done; err != nil || batches != 400 {
				t.Fatalf("GOMAXPROCS %d: %d batches, err = %v; want 400", procs, batches, err)
			}
		})
	}
}

// TestPipelineNoGoroutineLeft ends reads in every way a read ends (all
// read, the caller's error, cancellation, a corrupt file) on every core
// count, and checks that each leaves no goroutine of its own behind.
func TestPipelineNoGoroutineLeft(t *testing.T) {
	ins := pipelineFixture(t)
	bad := writeBytes(t, "bad.parquet", append(append([]byte("PAR1"), make([]byte, 64)...), "PAR1"...))
	withBad, err := ResolveInputs([]string{ins[0].Path, bad})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	for _, tc := range []struct {
		name string
		ins  []Input
		each func(cancel context.CancelFunc) func(*Batch) error
		want error
	}{
		{"all read", ins, func(context.CancelFunc) func(*Batch) error { return func(*Batch) error { return nil } }, nil},
		{"the caller's error", ins, func(context.CancelFunc) func(*Batch) error { return func(*Batch) error { return stop } }, stop},
		{"cancelled", ins, func(cancel context.CancelFunc) func(*Batch) error {
			return func(*Batch) error { cancel(); return nil }
		}, context.Canceled},
		{"a corrupt file", withBad, func(context.CancelFunc) func(*Batch) error { return func(*Batch) error { return nil } }, ErrBadInput},
	} {
		for _, procs := range coreCounts {
			before := runtime.NumGoroutine()
			withProcs(procs, func() {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				_, err = StreamInputs(ctx, tc.ins, Selection{}, ReadOptions{}, tc.each(cancel))
			})
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("%s, GOMAXPROCS %d: err = %v, want %v", tc.name, procs, err, tc.want)
			}
			waitFor(t, tc.name+": the read's goroutines have ended", func() bool {
				return runtime.NumGoroutine() <= before && !strings.Contains(stacks(), "parquet.(*datasetReader)")
			})
		}
	}
}
