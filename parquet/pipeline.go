package parquet

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
)

// A read runs on every core, with the same result on any number of them.
// It is split into units in a fixed way, from the files alone: a Parquet
// row group whose decoded values fit wholeGroupBytes, a slice of
// sliceRows rows of a larger one, an Arrow record batch. Three kinds of
// goroutine share the work:
//
//   - the producer (one) opens the files in input order, plans each
//     (columnsOf) and hands out its units; it decodes itself what must be
//     decoded in order (the slices of a large row group, whose columns it
//     decodes on every core, and Arrow IPC batches);
//   - the workers (GOMAXPROCS of them) decode whole row groups, filter
//     the rows and do the sink's work that needs no order (prepare:
//     converting the features to float32, into their place in Table.Data
//     when the read collects every row);
//   - the caller's goroutine takes the units in input order (take): it
//     counts the rows, reports progress and hands each batch to the sink
//     (add: the reservoir sample, the caller of StreamInputs), so that what
//     the sinks see does not depend on the number of cores or on timing.
//
// Memory stays bounded: at most inFlight units are decoded and not yet
// taken at once (the producer waits for a slot before it decodes or hands
// out a unit), each at most wholeGroupBytes of decoded values (64 MiB)
// plus its rows as float32 (half that for float64 columns; nothing when
// converted in place), beside the output itself.
//
// A unit that fails carries its error, and so does the producer's failure
// (a file that cannot be opened or does not match the plan) as a unit of
// its own after the units before it: the caller's goroutine meets the
// failures in input order and reports the first, whatever the number of
// cores. It then cancels the rest and waits for every goroutine before
// returning.

// inFlight is how many units may be decoded and not yet taken at once:
// enough to keep every worker busy while the caller's goroutine takes the
// oldest.
func inFlight() int { return runtime.GOMAXPROCS(0) + 2 }

// unit is one piece of a read, taken in input order: the rows of one batch
// of a file, the end of a file, or a failure that ends the read.
type unit struct {
	file  *openFile // the file it belongs to; nil for a failure before it was opened
	index int       // the input it belongs to
	end   bool      // the end of the file
	err   error     // the failure: decoding, preparing, or the producer's
	// group is the row group a worker decodes whole (with pq), or -1
	// when cols holds the batch decoded already.
	group int
	pq    *parquetSource
	rows  int // rows of the batch before the filter
	cols  map[int][]arrow.Array
	off   int // rows of the units before it
	// set by the worker
	matched int       // rows that passed the filter
	batch   *rowBatch // those rows, prepared; nil when none
	out     *scratch  // buffers of batch, given back once taken
	slot    bool      // it holds a slot of inFlight
	done    chan struct{}
}

// openFile is an input file whose units are being read. The producer and
// every unit a worker decodes from it hold a reference; the last to let go
// closes the file.
type openFile struct {
	index    int
	f        *os.File
	refs     atomic.Int32
	c        *fileColumns
	rowsHint int64 // its row count, or -1 when its format does not tell
}

func (o *openFile) release() {
	if o.refs.Add(-1) == 0 {
		o.f.Close()
	}
}

// pipeline connects the producer, the workers and the caller's goroutine
// of one read.
type pipeline struct {
	ctx   context.Context
	d     *datasetReader
	slots chan struct{} // one per unit in flight
	jobs  chan *unit    // units for the workers
	order chan *unit    // every unit, in input order
}

// acquire waits for a slot of inFlight, or returns the context's error:
// a cancelled read decodes nothing more.
func (p *pipeline) acquire() error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// releaseSlot gives back a slot taken by acquire and not used.
func (p *pipeline) releaseSlot() { <-p.slots }

// submit hands u, for which acquire took a slot, to the workers and to
// the caller's goroutine. Neither send waits long: the jobs channel has
// room for every unit that holds a slot, and the caller's goroutine
// receives every unit sent to order until the producer closes it.
func (p *pipeline) submit(u *unit) {
	u.slot = true
	u.done = make(chan struct{})
	u.off = p.d.produced
	p.d.produced += u.rows
	p.jobs <- u
	p.order <- u
}

// send hands the caller's goroutine a unit without work: the end of a
// file, or a failure.
func (p *pipeline) send(u *unit) error {
	u.done = make(chan struct{})
	close(u.done)
	select {
	case p.order <- u:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// run reads every input into the sink (see above) and returns the first
// error in input order.
func (d *datasetReader) run() error {
	ctx, cancel := context.WithCancel(d.userCtx)
	defer cancel()
	d.ctx = ctx
	n := inFlight()
	p := &pipeline{ctx: ctx, d: d, slots: make(chan struct{}, n), jobs: make(chan *unit, n), order: make(chan *unit, n)}
	var workers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for u := range p.jobs {
				d.work(u)
			}
		}()
	}
	go d.produce(p)
	var err error
	for u := range p.order {
		<-u.done // quickly, once cancelled: the workers skip the units left
		if err == nil {
			err = d.takeSafely(u)
			if err != nil {
				cancel()
			}
		}
		u.out.giveBack()
		if u.slot {
			p.releaseSlot()
		}
	}
	workers.Wait() // the producer closed jobs when it closed order
	if err == nil {
		err = d.userCtx.Err() // a producer cancelled leaves no failure
	}
	return err
}

// produce runs the producer: it hands out the units of every input, in
// order, and a failure as a unit of its own.
func (d *datasetReader) produce(p *pipeline) {
	defer close(p.order)
	defer close(p.jobs)
	i := 0
	defer func() {
		// A panic outside the decoders is a bug, but still the read's
		// failure rather than the process's.
		if r := recover(); r != nil {
			p.send(&unit{index: i, err: fmt.Errorf("internal error reading the input: %v", r)})
		}
	}()
	for ; i < len(d.inputs); i++ {
		if err := d.produceFile(p, i); err != nil {
			p.send(&unit{index: i, err: err})
			return
		}
	}
}

// work decodes and prepares u on a worker, unless the read has stopped.
func (d *datasetReader) work(u *unit) {
	defer close(u.done)
	if err := d.ctx.Err(); err != nil {
		if u.group >= 0 {
			u.file.release()
		}
		u.err = err
		return
	}
	var decoded scratch
	u.out = &scratch{}
	u.err = d.prepare(u, &decoded, u.out)
	decoded.giveBack()
}

// takeSafely takes u (take) on the caller's goroutine: its failure, or its
// batch. A panic there (the caller's function of StreamInputs, a batch
// Arrow decoded wrongly) becomes ErrBadInput. An error is prefixed with the
// file's path when nameFiles asks it and the read was not cancelled.
func (d *datasetReader) takeSafely(u *unit) (err error) {
	if err := d.userCtx.Err(); err != nil {
		return err
	}
	err = u.err
	if err == nil {
		err = func() (err error) {
			defer recoverDecoderPanic(&err)
			return d.take(u)
		}()
	}
	if err == nil {
		return nil
	}
	if ctxErr := d.userCtx.Err(); ctxErr != nil {
		return ctxErr
	}
	if d.nameFiles && err != errStopped {
		return fmt.Errorf("%s: %w", d.inputs[u.index].Path, err)
	}
	return err
}

// forEachParallel calls f(0) … f(n-1) on up to runtime.GOMAXPROCS(0)
// goroutines and returns when all are done.
func forEachParallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}
