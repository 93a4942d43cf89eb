package parquet

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// read reads resolved inputs into s (see pipeline.go for how the work is
// spread over the cores, in input order); nameFiles prefixes a file's
// errors with its path.
func read(ctx context.Context, ins []Input, sel Selection, opts ReadOptions, s sink, nameFiles bool) (*Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &datasetReader{userCtx: ctx, sel: sel, inputs: ins, t: &Table{}, opts: opts, mem: opts.allocator(), sink: s, start: time.Now(), nameFiles: nameFiles}
	for _, in := range ins {
		d.totalBytes += in.Size
	}
	if opts.Filter == nil { // a filter makes the footers' row counts useless for sizing
		d.expectRows = countRows(ctx, ins, d.mem)
	}
	if err := d.run(); err != nil {
		return nil, err
	}
	return s.finish()
}

// datasetReader reads the files of a dataset into a sink. The producer
// (produce) opens the files and plans the read, the workers decode, and
// the caller's goroutine hands the batches to the sink (take); each field
// below says whose it is.
type datasetReader struct {
	// set up by read, then read-only
	userCtx   context.Context // the caller's
	ctx       context.Context // cancelled also when the read stops early
	sel       Selection
	inputs    []Input
	opts      ReadOptions
	mem       memory.Allocator
	sink      sink
	nameFiles bool
	// the producer's, until it plans the first file; then read-only
	t     *Table        // Names, Skipped, Notes: the producer's; the rest the sink's
	roles []role        // the columns read, decided by the first file
	first []arrow.Field // the first file's fields, partition keys last
	// partTypes holds the type of each partition key column.
	partTypes []arrow.DataType
	// expectRows is the number of rows the footers promise, 0 if unknown.
	expectRows int64
	// the producer's: rows in the batches handed to the workers so far
	produced int
	// the caller goroutine's: progress
	file              *openFile // the file being taken
	fileStartRows     int       // RowsRead when it began
	start, lastReport time.Time
	done, totalBytes  int64 // bytes of the files read so far, and of all
	finished          int
}

// newSource opens a file batch by batch; tests replace it to count the
// batches read, or to read through a file that fails as a failing disk
// does. A source other than openSource's own *parquetSource is read batch
// after batch by the producer (pipeline.go).
var newSource = openSource

// produceFile opens input i, plans it (columnsOf) and hands its batches to
// the workers, turning panics inside Arrow into ErrBadInput.
func (d *datasetReader) produceFile(p *pipeline, i int) (err error) {
	defer recoverDecoderPanic(&err)
	if err := d.ctx.Err(); err != nil {
		return err
	}
	in := d.inputs[i]
	f, _, err := openInput(in.Path)
	if err != nil {
		return err
	}
	of := &openFile{index: i, f: f}
	of.refs.Store(1)
	defer of.release() // the workers close f once they are done with it
	src, err := newSource(d.ctx, f, in, d.mem)
	if err != nil {
		return err
	}
	c, err := d.columnsOf(src, in, i)
	if err != nil {
		return err
	}
	of.c, of.rowsHint = c, src.rowsHint()
	if pq, ok := src.(*parquetSource); ok {
		err = d.produceGroups(p, of, pq)
	} else {
		err = d.produceBatches(p, of, src)
	}
	if err != nil {
		return err
	}
	return p.send(&unit{file: of, index: i, end: true})
}

// produceGroups hands the row groups of a Parquet file to the workers: a
// row group read whole is decoded by one; a larger one is decoded here a
// slice at a time (its column readers must advance in order), its columns
// on every core, and each slice handed on decoded.
func (d *datasetReader) produceGroups(p *pipeline, of *openFile, pq *parquetSource) error {
	want := of.c.want
	for rg := range pq.pf.NumRowGroups() {
		n := pq.groupRows(rg)
		if n == 0 {
			continue
		}
		if wholeGroup(n, len(want)) {
			if err := p.acquire(); err != nil {
				return err
			}
			of.refs.Add(1)
			p.submit(&unit{file: of, index: of.index, group: rg, rows: n, pq: pq})
			continue
		}
		if err := d.produceSlices(p, of, pq, rg, n); err != nil {
			return err
		}
	}
	return nil
}

// produceSlices decodes row group rg of n rows in slices of sliceRows.
func (d *datasetReader) produceSlices(p *pipeline, of *openFile, pq *parquetSource, rg, n int) error {
	if err := pq.open(of.c.want, rg); err != nil {
		return err
	}
	defer pq.release()
	for left := n; left > 0; {
		k := min(left, sliceRows)
		left -= k
		if err := p.acquire(); err != nil {
			return err
		}
		cols, err := pq.readColumns(of.c.want, rg, k, false)
		if err != nil {
			p.releaseSlot()
			return err
		}
		p.submit(&unit{file: of, index: of.index, group: -1, rows: k, cols: cols})
	}
	return nil
}

// produceBatches reads the batches of a source that decodes them in
// order (Arrow IPC) and hands each to the workers.
func (d *datasetReader) produceBatches(p *pipeline, of *openFile, src batchSource) error {
	for {
		if err := p.acquire(); err != nil {
			return err
		}
		n, cols, err := src.next(of.c.want)
		if err != nil {
			p.releaseSlot()
			if err == io.EOF {
				return nil
			}
			return err
		}
		if n == 0 {
			p.releaseSlot()
			continue
		}
		p.submit(&unit{file: of, index: of.index, group: -1, rows: n, cols: cols})
	}
}

// recoverDecoderPanic, deferred, turns a panic of the Arrow decoder into
// *err: a failing read of the system says the file cannot be read, any
// other panic that the file is corrupt. Both wrap ErrBadInput.
func recoverDecoderPanic(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if e, ok := r.(error); ok && isSystemError(e) {
		*err = badInput("cannot read the file: %w", e)
		return
	}
	*err = badInput("the file is corrupt (the decoder failed: %v); re-create or re-download it", r)
}

// fileColumns is where a file holds what the read needs.
type fileColumns struct {
	in     Input
	fields []arrow.Field  // the file's fields, its partition keys last
	idx    []int          // the field of each role
	filter map[string]int // the field of each of the filter's columns, by name
	want   []int          // the fields decoded from the file, in file order
	// drop holds the decoded fields whose arrays the read drops once a
	// batch is prepared (not kept), when the sink drops its features.
	drop map[int]bool
}

// columnsOf finds in the fields of input i (src) the columns to read, and
// refuses a file that a read gathering every row could not hold.
func (d *datasetReader) columnsOf(src batchSource, in Input, i int) (*fileColumns, error) {
	fields, err := d.fieldsOf(src, in)
	if err != nil {
		return nil, err
	}
	idx, err := d.placeRoles(fields, in, i)
	if err != nil {
		return nil, err
	}
	nf := len(d.t.Names)
	if h := src.rowsHint(); h > 0 && d.collects() && int64(d.produced)+h > maxCells/int64(nf) {
		return nil, badInput("the input is too large: %d rows × %d features exceeds %d values; select fewer rows or features, or sample with a row limit", int64(d.produced)+h, nf, int64(maxCells))
	}
	filterIdx, err := d.filterColumns(fields, in, i)
	if err != nil {
		return nil, err
	}
	var want []int
	for _, fi := range append(slices.Clone(idx), slices.Collect(maps.Values(filterIdx))...) {
		if !isPartition(fields[fi]) && !slices.Contains(want, fi) {
			want = append(want, fi)
		}
	}
	slices.Sort(want)
	drop := map[int]bool{}
	if d.sink.dropsFeatures() {
		for _, fi := range want {
			drop[fi] = true
		}
		for r, role := range d.roles {
			if role.kept >= 0 {
				drop[idx[r]] = false
			}
		}
	}
	return &fileColumns{in: in, fields: fields, idx: idx, filter: filterIdx, want: want, drop: drop}, nil
}

// placeRoles returns the field of each role in input i: the first file
// decides the roles (plan.go) and starts the sink; every later one is
// held to them (schema.go).
func (d *datasetReader) placeRoles(fields []arrow.Field, in Input, i int) ([]int, error) {
	if i > 0 {
		return d.match(fields, in)
	}
	roles, idx, err := plan(fields, d.sel, d.t)
	if err != nil {
		return nil, err
	}
	d.roles, d.first = roles, fields
	kept := make([]arrow.Field, len(d.sel.Keep))
	for r, role := range d.roles {
		if role.kept >= 0 {
			kept[role.kept] = fields[idx[r]]
		}
	}
	d.sink.begin(sinkStart{t: d.t, sel: d.sel, kept: kept, expectRows: d.expectRows, filter: d.opts.Filter, mem: d.mem})
	return idx, nil
}

// prepare filters the batch of unit u (decoding it first when a worker
// must) and lets the sink prepare the rows left, on a worker.
func (d *datasetReader) prepare(u *unit, decoded, out *scratch) (err error) {
	defer recoverDecoderPanic(&err)
	c := u.file.c
	if u.group >= 0 {
		u.cols, err = func() (map[int][]arrow.Array, error) {
			defer u.file.release()
			return u.pq.readGroup(c.want, u.group, u.rows, decoded, func(fi int) bool { return c.drop[fi] })
		}()
		if err != nil {
			return err
		}
	}
	n, cols := u.rows, u.cols
	u.cols = nil
	chunks := make([][]arrow.Array, len(c.idx))
	for r, fi := range c.idx {
		chunks[r] = d.column(c, cols, fi, n)
	}
	if d.opts.Filter != nil {
		arrays := map[string]arrow.Array{}
		for name, fi := range c.filter {
			arrays[name] = singleIn(d.mem, d.column(c, cols, fi, n))
		}
		if n, err = d.filter(n, arrays, chunks); err != nil {
			return err
		}
	}
	u.matched = n
	if n == 0 {
		return nil
	}
	u.batch = d.split(n, c.fields, c.idx, chunks, c.in)
	u.batch.off = u.off
	return d.sink.prepare(u.batch, out)
}

// take counts the batch of unit u and hands it to the sink, on the
// caller's goroutine, in input order; the end of a file reports progress.
func (d *datasetReader) take(u *unit) error {
	if u.file != d.file && u.file != nil {
		d.file, d.fileStartRows = u.file, d.t.RowsRead
	}
	in := d.inputs[u.index]
	if u.end {
		d.done += in.Size
		d.report(in, true)
		return nil
	}
	d.t.RowsRead += u.rows
	if u.matched == 0 {
		return nil
	}
	d.t.RowsMatched += u.matched
	if err := d.sink.add(u.batch); err != nil {
		return err
	}
	d.report(in, false)
	return nil
}

// column returns the chunks of field fi in a batch of n rows: those
// decoded (cols), or for a partition key its value n times.
func (d *datasetReader) column(c *fileColumns, cols map[int][]arrow.Array, fi, n int) []arrow.Array {
	if !isPartition(c.fields[fi]) {
		return cols[fi]
	}
	k := fi - (len(c.fields) - len(c.in.Partition))
	return []arrow.Array{partitionArray(d.mem, c.fields[fi].Type, c.in.Partition[k].Value, n)}
}

// collects reports whether the read gathers every row in memory.
func (d *datasetReader) collects() bool {
	_, ok := d.sink.(*collectSink)
	return ok && d.opts.Filter == nil
}

// filterColumns finds the filter's columns in a file, by name.
func (d *datasetReader) filterColumns(fields []arrow.Field, in Input, i int) (map[string]int, error) {
	filterIdx := map[string]int{}
	if d.opts.Filter == nil {
		return filterIdx, nil
	}
	if err := d.opts.Filter.check(fields); err != nil {
		if i > 0 {
			return nil, fmt.Errorf("%w (the column's type in %s differs from %s)", err, in.Path, d.inputs[0].Path)
		}
		return nil, err
	}
	for _, name := range d.opts.Filter.Columns() {
		fi := slices.IndexFunc(fields, func(f arrow.Field) bool { return f.Name == name })
		if fi < 0 {
			return nil, fieldError(ErrBadInput, "Filter", "column %q: the schema drifted: %s lacks it, which %s has", name, in.Path, d.inputs[0].Path)
		}
		filterIdx[name] = fi
	}
	return filterIdx, nil
}

// filter keeps the rows of a batch of n rows that the filter accepts, in
// chunks, and returns how many there are.
func (d *datasetReader) filter(n int, arrays map[string]arrow.Array, chunks [][]arrow.Array) (int, error) {
	mask, err := d.opts.Filter.mask(n, arrays)
	if err != nil {
		return 0, err
	}
	kept := 0
	for _, m := range mask {
		if m {
			kept++
		}
	}
	if kept < n {
		for r := range chunks {
			chunks[r] = filterChunks(chunks[r], mask)
		}
	}
	return kept, nil
}

// split sorts the columns of a batch (chunks, by role) into features and
// kept columns.
func (d *datasetReader) split(n int, fields []arrow.Field, idx []int, chunks [][]arrow.Array, in Input) *rowBatch {
	b := &rowBatch{rows: n, in: in, features: make([][]arrow.Array, len(d.t.Names)), kept: make([]keptBatch, len(d.sel.Keep))}
	for r, role := range d.roles {
		if role.feature >= 0 {
			b.features[role.feature] = chunks[r]
		}
		if role.kept >= 0 {
			b.kept[role.kept] = keptBatch{field: fields[idx[r]], chunks: chunks[r]}
		}
	}
	return b
}

// single returns the chunks of a batch column as one array.
func single(chunks []arrow.Array) arrow.Array {
	return singleIn(memory.DefaultAllocator, chunks)
}

// singleIn is single with the buffers of a new array from mem.
func singleIn(mem memory.Allocator, chunks []arrow.Array) arrow.Array {
	if len(chunks) == 1 {
		return chunks[0]
	}
	a, err := array.Concatenate(chunks, mem)
	if err != nil {
		panic(err) // chunks of one column share a type
	}
	return a
}

// filterChunks keeps the rows of chunks (one column of a batch, in order)
// whose mask entry is true, as slices of the chunks.
func filterChunks(chunks []arrow.Array, mask []bool) []arrow.Array {
	var out []arrow.Array
	off := 0
	for _, c := range chunks {
		n := c.Len()
		for i := 0; i < n; {
			if !mask[off+i] {
				i++
				continue
			}
			j := i
			for j < n && mask[off+j] {
				j++
			}
			out = append(out, array.NewSlice(c, int64(i), int64(j)))
			i = j
		}
		off += n
	}
	return out
}

// countRows adds up the row counts in the footers of Parquet inputs; it
// returns 0 when an input is not Parquet or cannot be read (the read that
// follows reports the problem), or when ctx is cancelled.
func countRows(ctx context.Context, ins []Input, mem memory.Allocator) (total int64) {
	defer func() {
		if recover() != nil {
			total = 0
		}
	}()
	for _, in := range ins {
		if in.Format != FormatParquet || ctx.Err() != nil {
			return 0
		}
		n, ok := footerRows(in.Path, mem)
		if !ok {
			return 0
		}
		total += n
	}
	return total
}

// footerRows returns the row count in the footer of a Parquet file.
func footerRows(path string, mem memory.Allocator) (int64, bool) {
	f, _, err := openInput(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	src, err := openParquet(context.Background(), f, mem)
	if err != nil {
		return 0, false
	}
	return src.rowsHint(), true
}
