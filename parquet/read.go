package parquet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Selection says which columns of a file become features and which are
// carried along untouched.
type Selection struct {
	// Features names the feature columns explicitly, in this order. Empty
	// means every numeric column, in file order.
	Features []string
	// Exclude names columns to drop from the default selection. Every name
	// must exist. Setting both Features and Exclude is a usage error.
	Exclude []string
	// Keep names extra columns of any type to carry along unchanged, in
	// input row order, e.g. row ids for the score output or a label column.
	// A column may be both a feature and kept.
	Keep []string
	// Reserved names columns that must never be features (a label, a time
	// column): the default selection and patterns leave them out, and
	// naming one in Features is an error.
	Reserved []string
	// AllowMissing lets feature columns hold nulls, NaN and ±Inf: nulls
	// become NaN in Table.Data and non-finite values stay as they are. For
	// scoring, where such a row must be flagged, not refused. Without it
	// they are an error wrapping ErrBadInput.
	AllowMissing bool
}

// validate checks the Selection on its own, before any file is opened.
func (s Selection) validate() error {
	if len(s.Features) > 0 && len(s.Exclude) > 0 {
		return usageError("features and exclude were both given; name the features explicitly or exclude columns from the default selection, not both")
	}
	if err := checkNames("features", s.Features); err != nil {
		return err
	}
	if err := checkNames("exclude", s.Exclude); err != nil {
		return err
	}
	return checkNames("keep", s.Keep)
}

// SkippedColumn is a non-numeric column left out of the default selection.
type SkippedColumn struct {
	Name string // column name
	Type string // its type, e.g. "string" or "timestamp[us, tz=UTC]"
}

// Table is a dense float32 feature matrix read from a file, plus the columns
// carried along untouched.
type Table struct {
	// Names holds the feature names, in the column order of Data.
	Names []string
	// Rows is the number of rows in Data; for StreamInputs, the number of
	// rows handed out in batches (Data is then nil and Kept has no rows).
	Rows int
	// Notes lists schema differences between files that were handled
	// (another column order, another integer or float width), with file
	// names, for the log.
	Notes []string
	// RowsRead counts the rows of the input files; RowsMatched those that
	// passed ReadOptions.Filter. Rows is less than RowsMatched when
	// ReadOptions.MaxRows sampled them.
	RowsRead, RowsMatched int
	// Data holds the features row-major: feature j of row i is
	// Data[i*len(Names)+j].
	Data []float32
	// Skipped lists the non-numeric columns left out of the default
	// selection, in file order, except those named in Selection.Exclude.
	// It is empty when the features were named explicitly.
	Skipped []SkippedColumn
	// Kept holds the Selection.Keep columns, in that order, with Rows rows in
	// input order. It is never nil; it has no columns when nothing was kept.
	// Its memory is managed by the Go garbage collector; releasing it is
	// optional.
	Kept arrow.Table
}

// Row returns the features of row i. The slice aliases Data.
func (t *Table) Row(i int) []float32 {
	n := len(t.Names)
	return t.Data[i*n : (i+1)*n : (i+1)*n]
}

// maxCells bounds Rows*len(Names) so that a corrupt footer claiming billions
// of rows fails cleanly instead of exhausting memory (8 GiB of float32).
const maxCells = 1 << 31

// parquetMagic starts and ends every unencrypted Parquet file.
var parquetMagic = []byte("PAR1")

// ReadTable reads one input (a Parquet or Arrow IPC file, a folder or a
// glob) into a Table; see ReadDataset.
func ReadTable(path string, sel Selection) (*Table, error) {
	return ReadDataset([]string{path}, sel)
}

// ReadDataset reads the files that inputs name (see ResolveInputs) into one
// Table, converting the columns chosen by sel to float32. It reads only the
// columns it needs, one row group or record batch at a time. The first file
// decides the features (unless sel names them); every other file must hold
// them, under the same names, with numeric types (widths may differ, and
// columns may come in another order). Hive partition keys of the paths
// become columns that sel can name.
//
// Errors caused by the files or their contents wrap [ErrBadInput]; errors
// in sel itself wrap [ErrUsage].
func ReadDataset(inputs []string, sel Selection) (*Table, error) {
	t, err := readDataset(inputs, sel)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", strings.Join(inputs, ", "), err)
	}
	return t, nil
}

func readDataset(args []string, sel Selection) (*Table, error) {
	if err := sel.validate(); err != nil {
		return nil, err
	}
	ins, err := ResolveInputs(args)
	if err != nil {
		return nil, err
	}
	return readInputs(ins, sel, ReadOptions{}, len(ins) > 1 || ins[0].Path != args[0])
}

// ReadOptions choose the rows of a dataset read.
type ReadOptions struct {
	// Filter, when set, keeps only the rows it accepts.
	Filter *Filter
	// MaxRows, when above 0, keeps a uniform random sample of at most that
	// many of the (filtered) rows (reservoir sampling), so that memory is
	// bounded by the sample, not the input. Kept columns of a sample hold
	// float64 (numbers, booleans as 0/1, timestamps and dates as seconds
	// since the epoch) or strings.
	MaxRows int
	// Rand draws the sample; required with MaxRows.
	Rand *rand.Rand
	// Progress, when set, is called about twice a second while reading and
	// once after each file.
	Progress func(ReadProgress)
}

// Batch is one row group or record batch of a streamed read.
type Batch struct {
	// Rows is the number of rows in the batch.
	Rows int
	// Kept holds the batch's Selection.Keep columns, in that order, one
	// array each. KeptFields describes them and is the same for every
	// batch.
	Kept       []arrow.Array
	KeptFields []arrow.Field

	features     [][]arrow.Array // by feature, the column's chunks
	names        []string
	allowMissing bool
}

// StreamInputs reads inputs as ReadInputs does, but hands each batch of
// rows to each instead of collecting them, so that memory holds a few
// batches, not the table, and the caller can convert (Batch.Features) and
// work on the rows on other goroutines while the rest are read. Batches come in input order, on the calling goroutine. The
// returned Table describes what was read (Names, counts, Notes, Skipped,
// an empty Kept with the kept columns' schema); its Data is nil.
//
// ReadOptions.MaxRows is refused: a sample is not known before the end. A
// kept column must have the same type in every file. An error from each
// stops the read and is returned as it is.
func StreamInputs(ins []Input, sel Selection, opts ReadOptions, each func(*Batch) error) (*Table, error) {
	if err := sel.validate(); err != nil {
		return nil, err
	}
	switch {
	case len(ins) == 0:
		return nil, usageError("no input files")
	case opts.MaxRows != 0:
		return nil, usageError("a streamed read cannot sample rows (MaxRows %d)", opts.MaxRows)
	case each == nil:
		return nil, usageError("a streamed read needs a function to take the batches")
	}
	var callerErr error
	t, err := readInputsWith(ins, sel, opts, true, func(b *Batch) error {
		if callerErr = each(b); callerErr != nil {
			return errStopped
		}
		return nil
	})
	if callerErr != nil {
		return nil, callerErr
	}
	return t, err
}

// errStopped stands for an error of StreamInputs' caller while it unwinds
// the reader.
var errStopped = errors.New("stopped by the caller")

// ReadProgress reports how far a read has come.
type ReadProgress struct {
	File                  string // the file being read
	Files, FilesDone      int
	RowsRead, RowsKept    int64
	BytesDone, BytesTotal int64 // bytes of the files finished, of all files
	Elapsed               time.Duration
}

// ReadInputs is ReadDataset for inputs already resolved by ResolveInputs,
// with options for filtering, sampling and progress.
func ReadInputs(ins []Input, sel Selection, opts ReadOptions) (*Table, error) {
	if err := sel.validate(); err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, usageError("no input files")
	}
	if opts.MaxRows < 0 || opts.MaxRows > 0 && opts.Rand == nil {
		return nil, usageError("a row limit needs a positive MaxRows and a seeded Rand")
	}
	return readInputs(ins, sel, opts, true)
}

// readInputs reads resolved inputs; nameFiles prefixes a file's errors
// with its path.
func readInputs(ins []Input, sel Selection, opts ReadOptions, nameFiles bool) (*Table, error) {
	return readInputsWith(ins, sel, opts, nameFiles, nil)
}

// readInputsWith is readInputs, streaming the batches to each when it is
// set.
func readInputsWith(ins []Input, sel Selection, opts ReadOptions, nameFiles bool, each func(*Batch) error) (*Table, error) {
	d := &datasetReader{sel: sel, inputs: ins, t: &Table{}, opts: opts, start: time.Now(), each: each}
	for _, in := range ins {
		d.totalBytes += in.Size
	}
	if opts.Filter == nil { // a filter makes the footers' row counts useless for sizing
		d.expectRows = countRows(ins)
	}
	for i := range ins {
		if err := d.readFile(i); err != nil {
			if nameFiles {
				return nil, fmt.Errorf("%s: %w", ins[i].Path, err)
			}
			return nil, err
		}
	}
	return d.finish()
}

// openInput opens a regular file for reading, turning the usual failures
// into user-facing ErrBadInput errors.
func openInput(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, 0, badInput("the file does not exist; check the path")
		case errors.Is(err, fs.ErrPermission):
			return nil, 0, badInput("permission denied; make the file readable by this user")
		}
		return nil, 0, badInput("cannot open the file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, badInput("cannot stat the file: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, badInput("this is a directory, not a file; give the path of a Parquet file")
	}
	if !st.Mode().IsRegular() {
		// Pipes and devices cannot be read from the end, as Parquet needs.
		f.Close()
		return nil, 0, badInput("this is not a regular file (%s); give the path of a Parquet file", st.Mode().Type())
	}
	return f, st.Size(), nil
}

// checkParquetTail verifies the "PAR1" marker at the end of a file that
// starts with one.
func checkParquetTail(f *os.File, size int64) error {
	if size < 12 {
		return badInput("the file is truncated: %d bytes is too small for a Parquet file; re-create it", size)
	}
	tail := make([]byte, 4)
	if _, err := f.ReadAt(tail, size-4); err != nil {
		return badInput("cannot read the file: %w", err)
	}
	switch {
	case bytes.Equal(tail, []byte("PARE")):
		return badInput("the Parquet file is encrypted, which is not supported; write it without encryption")
	case !bytes.Equal(tail, parquetMagic):
		return badInput("the Parquet file is truncated or corrupt: it does not end with \"PAR1\"; re-create or re-download it")
	}
	return nil
}

// looksLikeText reports whether b is plausibly the start of a text file.
func looksLikeText(b []byte) bool {
	if len(b) == 0 || bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	// A read may cut a multi-byte rune at the end.
	for k := 0; k < utf8.UTFMax && len(b) > 1 && !utf8.Valid(b); k++ {
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// role says how a column is used.
type role struct {
	name    string
	feature int // position in Table.Names, or -1
	kept    int // position in Selection.Keep, or -1
}

// datasetReader accumulates the files of a dataset into one Table.
type datasetReader struct {
	sel    Selection
	inputs []Input
	t      *Table
	roles  []role
	first  []arrow.Field // the first file's fields, partition keys last
	stats  []valueStats

	keptFields []arrow.Field
	keptChunks [][]arrow.Array
	keptMixed  []bool // a kept column whose type differs between files

	opts     ReadOptions
	each     func(*Batch) error // set for a streamed read
	batch    []float32          // scratch for one batch's features when sampling or streaming
	offered  int64              // rows offered to the reservoir
	keptVals []keptStore        // kept columns when sampling

	expectRows        int64            // rows the Parquet footers announce; 0 if unknown
	partTypes         []arrow.DataType // the type of each partition key
	fileRowsHint      int64            // rows of the file being read, -1 if unknown
	fileStartRows     int              // RowsRead when it started
	start, lastReport time.Time
	done, totalBytes  int64 // bytes of the files read so far, and of all
	finished          int
}

// fieldsOf returns a file's fields followed by its partition keys.
func (d *datasetReader) fieldsOf(src batchSource, in Input) ([]arrow.Field, error) {
	if d.partTypes == nil {
		for k := range in.Partition {
			dt := arrow.DataType(arrow.BinaryTypes.String)
			if partitionIsInt(d.inputs, k) {
				dt = arrow.PrimitiveTypes.Int64
			}
			d.partTypes = append(d.partTypes, dt)
		}
	}
	fields := slices.Clone(src.fields())
	for k, p := range in.Partition {
		if slices.ContainsFunc(fields, func(f arrow.Field) bool { return f.Name == p.Key }) {
			return nil, badInput("the partition directory %s=... names a column the file also holds; rename the column or the partition key", p.Key)
		}
		fields = append(fields, arrow.Field{Name: p.Key, Type: d.partTypes[k], Nullable: true, Metadata: partitionMeta})
	}
	return fields, nil
}

// partitionMeta marks the fields made from hive partition keys.
var partitionMeta = arrow.NewMetadata([]string{"vaejob.partition"}, []string{"true"})

func isPartition(f arrow.Field) bool { return f.Metadata.FindKey("vaejob.partition") >= 0 }

// readFile reads input i, turning panics inside Arrow into ErrBadInput.
func (d *datasetReader) readFile(i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = badInput("the file is corrupt (the decoder failed: %v); re-create or re-download it", r)
		}
	}()
	in := d.inputs[i]
	f, _, err := openInput(in.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	src, err := openSource(f, in)
	if err != nil {
		return err
	}
	fields, err := d.fieldsOf(src, in)
	if err != nil {
		return err
	}
	d.fileRowsHint, d.fileStartRows = src.rowsHint(), d.t.RowsRead
	var idx []int // the field index of each role in this file
	if i == 0 {
		if d.roles, idx, err = plan(fields, d.sel, d.t); err != nil {
			return err
		}
		d.first = fields
		d.stats = make([]valueStats, len(d.t.Names))
		d.keptFields = make([]arrow.Field, len(d.sel.Keep))
		d.keptChunks = make([][]arrow.Array, len(d.sel.Keep))
		d.keptMixed = make([]bool, len(d.sel.Keep))
		d.keptVals = make([]keptStore, len(d.sel.Keep))
	} else if idx, err = d.match(fields, in); err != nil {
		return err
	}
	nf := len(d.t.Names)
	if h := src.rowsHint(); h > 0 && d.each == nil && d.opts.MaxRows == 0 && d.opts.Filter == nil && int64(d.t.Rows)+h > maxCells/int64(nf) {
		return badInput("the input is too large: %d rows × %d features exceeds %d values; select fewer rows or features, or sample with a row limit", int64(d.t.Rows)+h, nf, int64(maxCells))
	}
	// The filter's columns, by name, and every field to read.
	filterIdx := map[string]int{}
	if d.opts.Filter != nil {
		if err := d.opts.Filter.check(fields); err != nil {
			if i > 0 {
				return fmt.Errorf("%w (the column's type in %s differs from %s)", err, in.Path, d.inputs[0].Path)
			}
			return err
		}
		for _, name := range d.opts.Filter.Columns() {
			fi := slices.IndexFunc(fields, func(f arrow.Field) bool { return f.Name == name })
			if fi < 0 {
				return badInput("the schema drifted: %s lacks the --filter column %q, which %s has", in.Path, name, d.inputs[0].Path)
			}
			filterIdx[name] = fi
		}
	}
	var want []int
	for _, fi := range append(slices.Clone(idx), slices.Collect(maps.Values(filterIdx))...) {
		if !isPartition(fields[fi]) && !slices.Contains(want, fi) {
			want = append(want, fi)
		}
	}
	slices.Sort(want)
	column := func(cols map[int][]arrow.Array, fi, n int) []arrow.Array {
		if isPartition(fields[fi]) {
			p := in.Partition[fi-len(src.fields())]
			iv, _ := strconv.ParseInt(p.Value, 10, 64)
			return []arrow.Array{constantArray(fields[fi].Type, p.Value, iv, n)}
		}
		return cols[fi]
	}
	for batch := 0; ; batch++ {
		n, cols, err := src.next(want)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		d.t.RowsRead += n
		chunks := make([][]arrow.Array, len(idx))
		for r, fi := range idx {
			chunks[r] = column(cols, fi, n)
		}
		if d.opts.Filter != nil {
			arrays := map[string]arrow.Array{}
			for name, fi := range filterIdx {
				arrays[name] = single(column(cols, fi, n))
			}
			mask, err := d.opts.Filter.mask(n, arrays)
			if err != nil {
				return err
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
				n = kept
			}
		}
		if n == 0 {
			continue
		}
		d.t.RowsMatched += n
		switch {
		case d.each != nil:
			err = d.stream(idx, fields, chunks, n, in)
		case d.opts.MaxRows > 0:
			err = d.sample(idx, fields, chunks, n)
		default:
			err = d.append(idx, fields, chunks, n)
		}
		if err != nil {
			return err
		}
		d.report(in, false)
	}
	d.done += in.Size
	d.report(in, true)
	return nil
}

// append adds a batch's rows to the table.
func (d *datasetReader) append(idx []int, fields []arrow.Field, chunks [][]arrow.Array, n int) error {
	nf := len(d.t.Names)
	if int64(d.t.Rows+n) > maxCells/int64(nf) {
		return badInput("the input is too large: more than %d rows × %d features exceeds %d values; select fewer rows or features, or sample with a row limit", d.t.Rows+n, nf, int64(maxCells))
	}
	off := len(d.t.Data)
	if d.t.Data == nil && d.opts.Filter == nil && d.expectRows > 0 && d.expectRows <= maxCells/int64(nf) {
		// One allocation for the whole table, not a copy at every growth.
		d.t.Data = make([]float32, 0, d.expectRows*int64(nf))
		adviseHugePages(d.t.Data)
	}
	d.t.Data = slices.Grow(d.t.Data, n*nf)[:off+n*nf]
	// Convert in a reused buffer, then copy: the strided writes stay in
	// memory the cache and TLB already hold.
	if cap(d.batch) < n*nf {
		d.batch = make([]float32, n*nf)
	}
	if err := convertBatch(d.features(chunks), d.t.Names, n, d.batch[:n*nf], d.stats); err != nil {
		return err
	}
	copy(d.t.Data[off:], d.batch[:n*nf])
	for r, fi := range idx {
		if d.roles[r].kept >= 0 {
			d.keep(d.roles[r], fields[fi], chunks[r])
		}
	}
	d.t.Rows += n
	return nil
}

// stream hands a batch's feature and kept columns to the caller, who
// converts the features (Batch.Features), possibly on another goroutine
// while this one decodes the next batch.
func (d *datasetReader) stream(idx []int, fields []arrow.Field, chunks [][]arrow.Array, n int, in Input) error {
	kept := make([]arrow.Array, len(d.sel.Keep))
	for r, role := range d.roles {
		if role.kept < 0 {
			continue
		}
		field := fields[idx[r]]
		k := role.kept
		switch {
		case d.keptFields[k].Type == nil:
			d.keptFields[k] = field
		case !arrow.TypeEqual(d.keptFields[k].Type, field.Type):
			// Its type in the output was fixed by the first batch.
			return badInput("the kept column %q is %s in %s but %s in %s; a streamed read needs one type: cast the column in one of them", d.sel.Keep[k], typeName(field.Type), in.Path, typeName(d.keptFields[k].Type), d.inputs[0].Path)
		}
		kept[k] = single(chunks[r])
	}
	d.t.Rows += n
	return d.each(&Batch{Rows: n, Kept: kept, KeptFields: d.streamedFields(),
		features: d.features(chunks), names: d.t.Names, allowMissing: d.sel.AllowMissing})
}

// Features converts the batch's feature columns to float32 into dst,
// row-major (Rows × the number of features, as Table.Data), and returns
// dst. It may run on any goroutine, also after the reader has moved on.
// Without Selection.AllowMissing a missing or non-finite value is an error
// wrapping ErrBadInput.
func (b *Batch) Features(dst []float32) ([]float32, error) {
	nf := len(b.names)
	dst = slices.Grow(dst[:0], b.Rows*nf)[:b.Rows*nf]
	stats := make([]valueStats, nf)
	if err := convertBatch(b.features, b.names, b.Rows, dst, stats); err != nil {
		return nil, err
	}
	if !b.allowMissing {
		if err := checkStats(b.names, stats); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// streamedFields returns the kept columns' fields, without the reader's
// metadata.
func (d *datasetReader) streamedFields() []arrow.Field {
	out := make([]arrow.Field, len(d.keptFields))
	for k, f := range d.keptFields {
		f.Metadata = arrow.Metadata{}
		if f.Type == nil {
			f = arrow.Field{Name: d.sel.Keep[k], Type: arrow.Null, Nullable: true}
		}
		out[k] = f
	}
	return out
}

// sample offers a batch's rows to the reservoir: the first MaxRows rows
// fill it, then row k (counting from 1) replaces a random slot with
// probability MaxRows/k, so every row is kept with the same probability.
func (d *datasetReader) sample(idx []int, fields []arrow.Field, chunks [][]arrow.Array, n int) error {
	nf := len(d.t.Names)
	if cap(d.batch) < n*nf {
		d.batch = make([]float32, n*nf)
	}
	buf := d.batch[:n*nf]
	if err := convertBatch(d.features(chunks), d.t.Names, n, buf, d.stats); err != nil {
		return err
	}
	if d.t.Data == nil {
		// The reservoir's final size, allocated once.
		rows := int64(d.opts.MaxRows)
		if d.expectRows > 0 && d.opts.Filter == nil {
			rows = min(rows, d.expectRows)
		}
		d.t.Data = make([]float32, 0, rows*int64(nf))
		adviseHugePages(d.t.Data)
	}
	// Which slot each row of the batch goes to, -1 for none.
	slots := make([]int, n)
	for i := range slots {
		seen := d.offered
		d.offered++
		switch {
		case seen < int64(d.opts.MaxRows):
			slots[i] = int(seen)
			d.t.Data = append(d.t.Data, buf[i*nf:(i+1)*nf]...)
			d.t.Rows++
		default:
			slots[i] = -1
			if j := d.opts.Rand.Int63n(seen + 1); j < int64(d.opts.MaxRows) {
				slots[i] = int(j)
				copy(d.t.Data[int(j)*nf:], buf[i*nf:(i+1)*nf])
			}
		}
	}
	for r, role := range d.roles {
		if role.kept >= 0 {
			if err := d.keptVals[role.kept].put(role.name, fields[idx[r]], chunks[r], slots); err != nil {
				return err
			}
		}
	}
	return nil
}

// report calls the progress function at most every half second, and at
// the end of each file.
func (d *datasetReader) report(in Input, fileDone bool) {
	if d.opts.Progress == nil {
		return
	}
	now := time.Now()
	if !fileDone && now.Sub(d.lastReport) < 500*time.Millisecond {
		return
	}
	d.lastReport = now
	d.opts.Progress(ReadProgress{
		Files: len(d.inputs), FilesDone: d.filesDone(fileDone), File: in.Path,
		RowsRead: int64(d.t.RowsRead), RowsKept: int64(d.t.Rows), BytesDone: d.done + d.fileBytes(in, fileDone), BytesTotal: d.totalBytes,
		Elapsed: now.Sub(d.start),
	})
}

// fileBytes estimates the bytes read of the current file from the share of
// its rows read, when its footer gives the row count.
func (d *datasetReader) fileBytes(in Input, fileDone bool) int64 {
	if fileDone || d.fileRowsHint <= 0 {
		return 0
	}
	return int64(float64(in.Size) * min(1, float64(d.t.RowsRead-d.fileStartRows)/float64(d.fileRowsHint)))
}

func (d *datasetReader) filesDone(fileDone bool) int {
	if fileDone {
		d.finished++
	}
	return d.finished
}

// single returns the chunks of a batch column as one array.
func single(chunks []arrow.Array) arrow.Array {
	if len(chunks) == 1 {
		return chunks[0]
	}
	a, err := array.Concatenate(chunks, memory.DefaultAllocator)
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

// keep adds a batch of a kept column.
func (d *datasetReader) keep(r role, field arrow.Field, chunks []arrow.Array) {
	k := r.kept
	switch {
	case d.keptFields[k].Type == nil:
		d.keptFields[k] = field
	case !arrow.TypeEqual(d.keptFields[k].Type, field.Type):
		d.keptMixed[k] = true
	}
	d.keptChunks[k] = append(d.keptChunks[k], chunks...)
}

// features picks a batch's feature columns, in feature order, out of the
// chunks of every role.
func (d *datasetReader) features(chunks [][]arrow.Array) [][]arrow.Array {
	out := make([][]arrow.Array, len(d.t.Names))
	for r, role := range d.roles {
		if role.feature >= 0 {
			out[role.feature] = chunks[r]
		}
	}
	return out
}

// match finds the columns of the first file in a later one. A missing
// column or one whose type cannot stand in for the first file's is an
// error naming both files; other differences (order, integer or float
// widths) are handled.
func (d *datasetReader) match(fields []arrow.Field, in Input) ([]int, error) {
	byName := map[string]int{}
	for i, f := range fields {
		byName[f.Name] = i
	}
	first := d.inputs[0].Path
	idx := make([]int, len(d.roles))
	var missing []string
	for r, role := range d.roles {
		fi, ok := byName[role.name]
		if !ok {
			missing = append(missing, role.name)
			continue
		}
		idx[r] = fi
		if role.feature >= 0 && !isConvertible(fields[fi].Type) {
			was := d.first[slices.IndexFunc(d.first, func(f arrow.Field) bool { return f.Name == role.name })].Type
			return nil, badInput("column %q changed type: it is %s in %s but %s in %s; features must be numeric in every file",
				role.name, typeName(was), first, typeName(fields[fi].Type), in.Path)
		}
	}
	if len(missing) > 0 {
		return nil, badInput("the schema drifted: %s lacks %s, which %s has; fix the export or leave the column out", in.Path, quoteList(missing), first)
	}
	// Differences that are handled, noted for the log.
	for r, role := range d.roles {
		was := d.first[slices.IndexFunc(d.first, func(f arrow.Field) bool { return f.Name == role.name })].Type
		if now := fields[idx[r]].Type; !arrow.TypeEqual(was, now) {
			d.t.Notes = append(d.t.Notes, fmt.Sprintf("%s: column %q is %s, %s in %s; converted", in.Path, role.name, typeName(now), typeName(was), first))
		}
	}
	order := func(fs []arrow.Field) []string {
		var names []string
		for _, f := range fs {
			if _, ok := byName[f.Name]; ok && !isPartition(f) && slices.ContainsFunc(d.first, func(g arrow.Field) bool { return g.Name == f.Name }) {
				names = append(names, f.Name)
			}
		}
		return names
	}
	if len(d.sel.Features) == 0 {
		for _, f := range fields {
			if isNumeric(f.Type) && !isPartition(f) && !slices.ContainsFunc(d.first, func(g arrow.Field) bool { return g.Name == f.Name }) {
				d.t.Notes = append(d.t.Notes, fmt.Sprintf("%s: numeric column %q is not in %s, which decides the features; left out", in.Path, f.Name, first))
			}
		}
	}
	if !slices.Equal(order(d.first), order(fields)) {
		d.t.Notes = append(d.t.Notes, fmt.Sprintf("%s: columns in another order than in %s; read by name", in.Path, first))
	}
	return idx, nil
}

// finish checks the accumulated table and assembles the kept columns.
func (d *datasetReader) finish() (*Table, error) {
	t := d.t
	if t.Rows == 0 {
		if d.opts.Filter != nil && t.RowsRead > 0 {
			return nil, badInput("--filter %s keeps none of the %d rows read; check the condition", d.opts.Filter, t.RowsRead)
		}
		return nil, badInput("the input has no rows; a non-empty table is needed")
	}
	if !d.sel.AllowMissing {
		if err := checkStats(t.Names, d.stats); err != nil {
			return nil, err
		}
	}
	if d.each != nil {
		// The rows went to the caller; the table describes them.
		fields := d.streamedFields()
		cols := make([]arrow.Column, len(fields))
		for k, f := range fields {
			ch := arrow.NewChunked(f.Type, nil)
			cols[k] = *arrow.NewColumn(f, ch)
			ch.Release()
		}
		t.Kept = array.NewTable(arrow.NewSchema(fields, nil), cols, 0)
		return t, nil
	}
	cols := make([]arrow.Column, len(d.sel.Keep))
	for k := range d.sel.Keep {
		field, chunks := d.keptFields[k], d.keptChunks[k]
		if d.opts.MaxRows > 0 {
			field, chunks = d.keptVals[k].array(d.sel.Keep[k], t.Rows)
		}
		if d.keptMixed[k] {
			var err error
			if field, chunks, err = unifyKept(field, chunks); err != nil {
				return nil, err
			}
		}
		ch := arrow.NewChunked(field.Type, chunks)
		field.Metadata = arrow.Metadata{}
		cols[k] = *arrow.NewColumn(field, ch)
		ch.Release()
	}
	fields := make([]arrow.Field, len(cols))
	for k := range cols {
		fields[k] = cols[k].Field()
	}
	t.Kept = array.NewTable(arrow.NewSchema(fields, nil), cols, int64(t.Rows))
	return t, nil
}

// unifyKept converts the chunks of a kept column whose type differs between
// files to float64 (numbers; timestamps and dates as seconds since the
// epoch) or strings (text), or fails.
func unifyKept(field arrow.Field, chunks []arrow.Array) (arrow.Field, []arrow.Array, error) {
	numeric, text := true, true
	for _, c := range chunks {
		_, err := orderValue(c)
		numeric = numeric && err == nil
		text = text && isText(c.DataType())
	}
	if !numeric && !text {
		return field, nil, badInput("column %q has incompatible types in different files (%s and %s)", field.Name, typeName(chunks[0].DataType()), typeName(chunks[len(chunks)-1].DataType()))
	}
	// The conversion a sampled read applies to kept columns, every row kept.
	var k keptStore
	rows := 0
	for _, c := range chunks {
		slots := make([]int, c.Len())
		for j := range slots {
			slots[j] = rows + j
		}
		if err := k.put(field.Name, arrow.Field{Type: c.DataType()}, []arrow.Array{c}, slots); err != nil {
			return field, nil, err
		}
		rows += c.Len()
	}
	f, out := k.array(field.Name, rows)
	return f, out, nil
}

func isText(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	case arrow.DICTIONARY:
		return isText(dt.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// plan resolves sel against the first file's top-level fields. It fills
// t.Names and t.Skipped and returns one role per column to read, in file
// order, with the index of its field. Partition keys are never features by
// default, only when named.
func plan(fields []arrow.Field, sel Selection, t *Table) ([]role, []int, error) {
	var err error
	for _, r := range sel.Reserved {
		if slices.Contains(sel.Features, r) {
			return nil, nil, usageError("column %q is the label or time column and cannot also be a feature", r)
		}
	}
	reserved := func(f arrow.Field) bool { return slices.Contains(sel.Reserved, f.Name) }
	if sel.Features, err = expandPatterns("features", sel.Features, slices.DeleteFunc(slices.Clone(fields), reserved), true); err != nil {
		return nil, nil, err
	}
	if sel.Exclude, err = expandPatterns("exclude", sel.Exclude, fields, false); err != nil {
		return nil, nil, err
	}
	if len(sel.Features) == 0 {
		for _, r := range sel.Reserved {
			if !slices.Contains(sel.Exclude, r) && slices.ContainsFunc(fields, func(f arrow.Field) bool { return f.Name == r }) {
				sel.Exclude = append(slices.Clone(sel.Exclude), r)
			}
		}
	}
	byName := make(map[string][]int, len(fields))
	all := make([]string, len(fields))
	for i, f := range fields {
		all[i] = f.Name
		byName[f.Name] = append(byName[f.Name], i)
	}
	// lookup resolves names that must exist exactly once in the file.
	lookup := func(what string, names []string) ([]int, error) {
		idx := make([]int, len(names))
		var missing []string
		for i, n := range names {
			switch found := byName[n]; len(found) {
			case 0:
				missing = append(missing, n)
			case 1:
				idx[i] = found[0]
			default:
				return nil, badInput("column name %q appears %d times in the file; column names must be unique", n, len(found))
			}
		}
		if len(missing) > 0 {
			return nil, missingColumns(what, missing, all)
		}
		return idx, nil
	}

	keepIdx, err := lookup("kept", sel.Keep)
	if err != nil {
		return nil, nil, err
	}

	var featIdx []int
	if len(sel.Features) > 0 {
		featIdx, err = lookup("feature", sel.Features)
		if err != nil {
			return nil, nil, err
		}
		var wrong []string
		for i, fi := range featIdx {
			if dt := fields[fi].Type; !isConvertible(dt) {
				wrong = append(wrong, fmt.Sprintf("%q is %s", sel.Features[i], typeName(dt)))
			}
		}
		if len(wrong) > 0 {
			return nil, nil, badInput("feature columns must be numeric (integer, float, decimal or bool), but %s; leave them out of the features", strings.Join(wrong, ", "))
		}
		t.Names = append([]string(nil), sel.Features...)
	} else {
		exIdx, err := lookup("excluded", sel.Exclude)
		if err != nil {
			return nil, nil, err
		}
		excluded := make(map[int]bool, len(exIdx))
		for _, i := range exIdx {
			excluded[i] = true
		}
		numeric := 0
		for i, f := range fields {
			if isPartition(f) {
				continue
			}
			if !isNumeric(f.Type) {
				if !excluded[i] {
					t.Skipped = append(t.Skipped, SkippedColumn{Name: f.Name, Type: typeName(f.Type)})
				}
				continue
			}
			numeric++
			if excluded[i] {
				continue
			}
			if n := len(byName[f.Name]); n > 1 {
				return nil, nil, badInput("column name %q appears %d times in the file; column names must be unique", f.Name, n)
			}
			featIdx = append(featIdx, i)
			t.Names = append(t.Names, f.Name)
		}
		switch {
		case numeric == 0:
			return nil, nil, badInput("the file has no numeric columns (columns: %s); features must be integer, float or decimal columns", describe(fields))
		case len(featIdx) == 0:
			return nil, nil, badInput("every numeric column was excluded; exclude fewer columns")
		}
	}

	roles := make(map[int]*role)
	get := func(fi int) *role {
		r, ok := roles[fi]
		if !ok {
			r = &role{name: fields[fi].Name, feature: -1, kept: -1}
			roles[fi] = r
		}
		return r
	}
	for j, fi := range featIdx {
		get(fi).feature = j
	}
	for k, fi := range keepIdx {
		get(fi).kept = k
	}
	out := make([]role, 0, len(roles))
	var idx []int
	for i := range fields {
		if r, ok := roles[i]; ok {
			out = append(out, *r)
			idx = append(idx, i)
		}
	}
	return out, idx, nil
}

// leaves collects the leaf column indices under f.
func leaves(f *pqarrow.SchemaField) map[int]bool {
	out := make(map[int]bool)
	var walk func(f *pqarrow.SchemaField)
	walk = func(f *pqarrow.SchemaField) {
		if f.IsLeaf() {
			out[f.ColIndex] = true
		}
		for i := range f.Children {
			walk(&f.Children[i])
		}
	}
	walk(f)
	return out
}

// missingColumns explains that names do not exist and lists the columns
// that do, with a hint for names differing only in case.
func missingColumns(what string, missing, all []string) error {
	var hints []string
	for _, m := range missing {
		for _, a := range all {
			if strings.EqualFold(m, a) {
				hints = append(hints, fmt.Sprintf("%q instead of %q", a, m))
				break
			}
		}
	}
	noun := "column " + quoteList(missing) + " does"
	if len(missing) > 1 {
		noun = "columns " + quoteList(missing) + " do"
	}
	msg := fmt.Sprintf("%s %s not exist; available columns: %s", what, noun, quoteList(all))
	if len(hints) > 0 {
		msg += "; did you mean " + strings.Join(hints, ", ") + "?"
	}
	return badInput("%s", msg)
}

// describe lists fields with their types for error messages.
func describe(fields []arrow.Field) string {
	parts := make([]string, 0, len(fields))
	for i, f := range fields {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("... and %d more", len(fields)-maxListed))
			break
		}
		parts = append(parts, fmt.Sprintf("%q %s", f.Name, typeName(f.Type)))
	}
	return strings.Join(parts, ", ")
}

// checkStats reports every feature column holding nulls or non-finite values.
func checkStats(names []string, stats []valueStats) error {
	var parts []string
	for j, st := range stats {
		if st.bad() {
			parts = append(parts, fmt.Sprintf("column %q: %s", names[j], st))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return badInput("feature columns contain missing or non-finite values (%s); drop or impute those rows, or leave the columns out of the features", strings.Join(parts, "; "))
}

// countRows adds up the row counts in the footers of Parquet inputs; it
// returns 0 when an input is not Parquet or cannot be read (the read that
// follows reports the problem).
func countRows(ins []Input) (total int64) {
	defer func() {
		if recover() != nil {
			total = 0
		}
	}()
	for _, in := range ins {
		if in.Format != FormatParquet {
			return 0
		}
		f, _, err := openInput(in.Path)
		if err != nil {
			return 0
		}
		src, err := openParquet(f)
		if err != nil {
			f.Close()
			return 0
		}
		total += src.rowsHint()
		f.Close()
	}
	return total
}

// expandPatterns replaces each name holding a glob pattern (*, ?, [...])
// with the columns it matches, in file order; for features only numeric
// columns that are not partition keys match. Plain names stay as they are.
// A pattern that matches nothing is an error.
func expandPatterns(what string, names []string, fields []arrow.Field, numericOnly bool) ([]string, error) {
	if !slices.ContainsFunc(names, hasGlobMeta) {
		return names, nil
	}
	var out []string
	for _, n := range names {
		if !hasGlobMeta(n) {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
			continue
		}
		matched := 0
		for _, f := range fields {
			ok, err := path.Match(n, f.Name)
			if err != nil {
				return nil, usageError("--%s pattern %q: %v", what, n, err)
			}
			if !ok || numericOnly && (!isNumeric(f.Type) || isPartition(f)) {
				continue
			}
			matched++
			if !slices.Contains(out, f.Name) {
				out = append(out, f.Name)
			}
		}
		if matched == 0 {
			kind := "column"
			if numericOnly {
				kind = "numeric column"
			}
			return nil, badInput("--%s pattern %q matches no %s of the input", what, n, kind)
		}
	}
	return out, nil
}
