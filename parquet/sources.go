package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// inputFile is what the readers use of an open input file: an *os.File,
// or in tests one that fails as a failing disk does.
type inputFile interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	Stat() (fs.FileInfo, error)
}

// batchSource reads one file batch by batch (a Parquet row group, an Arrow
// record batch), only the columns asked for.
type batchSource interface {
	// fields returns the file's top-level fields, in file order.
	fields() []arrow.Field
	// next reads the next batch: its row count and, for each wanted field
	// index, its arrays (one or more chunks). It returns io.EOF after the
	// last batch.
	next(want []int) (rows int, cols map[int][]arrow.Array, err error)
	// rowsHint is the file's row count when the format records it, else -1.
	rowsHint() int64
}

// openSource opens in for reading batch by batch, with buffers from mem;
// the caller closes f. Cancelling ctx makes a Parquet source skip the
// columns of a row group it has not begun to decode.
func openSource(ctx context.Context, f inputFile, in Input, mem memory.Allocator) (batchSource, error) {
	switch in.Format {
	case FormatParquet:
		return openParquet(ctx, f, mem)
	case FormatArrowFile, FormatArrowStream:
		return openArrow(f, in.Format, mem)
	}
	return nil, badInput("unknown format %q", in.Format)
}

// parquetSource reads a Parquet file a slice of a row group at a time.
type parquetSource struct {
	ctx    context.Context
	mem    memory.Allocator // the read's allocator
	pf     *file.Reader
	fr     *pqarrow.FileReader
	leaves []map[int]bool // leaf columns of each top-level field
	fs     []arrow.Field
	// directLeaves holds each field's leaf column if the field can be
	// read directly (flatNumericLeaf), else -1.
	directLeaves []int
	rg           int  // the row group being read
	left         int  // its rows not yet read
	whole        bool // it is read in one batch, a column at a time
	// readers and direct hold the column readers of row group rg while it
	// is read in slices, by field index: pqarrow's, or a directColumn for
	// flat numeric fields.
	readers map[int]*pqarrow.ColumnReader
	direct  map[int]*directColumn
	// pooledPages reads the same file with its page buffers from
	// pagePool, for the plain numeric columns whose values are copied out
	// and dropped once converted; nil for an encrypted file.
	pooledPages *file.Reader
}

// A row group is read in one batch, one column after the other (each
// column's reader, with its dictionary and page buffers, freed before the
// next opens), when its decoded values take at most wholeGroupBytes.
// Larger row groups (millions of rows) are read in slices of sliceRows
// rows, every column's reader open at once, so that a batch stays small.
// Reading a column at a time keeps the heap, and the pages the system must
// map for it, about three times smaller on 32-column tables.
const sliceRows = 32 * 1024

// wholeGroupBytes is a variable for the tests, which read in slices
// without writing row groups of millions of rows.
var wholeGroupBytes int64 = 64 << 20

func openParquet(ctx context.Context, f inputFile, mem memory.Allocator) (*parquetSource, error) {
	props := pq.NewReaderProperties(mem)
	// Stream pages through a small buffer instead of reading each column
	// chunk whole into memory first.
	props.BufferedStreamEnabled = true
	props.BufferSize = 64 << 10
	pf, fr, err := openSchema(f, props, mem)
	if err != nil {
		return nil, err
	}
	s := &parquetSource{ctx: ctx, mem: mem, pf: pf, fr: fr}
	for i := range fr.Manifest.Fields {
		s.fs = append(s.fs, *fr.Manifest.Fields[i].Field)
		s.leaves = append(s.leaves, leaves(&fr.Manifest.Fields[i]))
		leaf, ok := s.flatNumericLeaf(i)
		if !ok {
			leaf = -1
		}
		s.directLeaves = append(s.directLeaves, leaf)
	}
	md := pf.MetaData()
	if !md.IsSetEncryptionAlgorithm() {
		pooled := pq.NewReaderProperties(pagePool{})
		pooled.BufferedStreamEnabled, pooled.BufferSize = props.BufferedStreamEnabled, props.BufferSize
		if s.pooledPages, err = file.NewParquetReader(f, file.WithReadProps(pooled), file.WithMetadata(md)); err != nil {
			s.pooledPages = nil
		}
	}
	for rg := 0; rg < pf.NumRowGroups(); rg++ {
		if n := md.RowGroup(rg).NumRows(); n < 0 {
			return nil, badInput("the Parquet footer is corrupt: row group %d claims %d rows; re-create the file", rg, n)
		}
	}
	return s, nil
}

// openSchema reads the footer of f and converts its schema to Arrow,
// turning arrow-go's panics on a schema it cannot read into errors.
func openSchema(f inputFile, props *pq.ReaderProperties, mem memory.Allocator) (pf *file.Reader, fr *pqarrow.FileReader, err error) {
	defer func() {
		if r := recover(); r != nil {
			pf, fr, err = nil, nil, schemaFailure(f, r)
		}
	}()
	pf, err = file.NewParquetReader(f, file.WithReadProps(props))
	switch {
	case isSystemError(err):
		return nil, nil, badInput("cannot read the Parquet footer: %w", err)
	case err != nil:
		return nil, nil, badInput("the Parquet footer is corrupt or truncated (%w); re-create or re-download the file", err)
	}
	// pf is not closed: closing it would close f, which the caller owns.
	fr, err = pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		// The physical types are a closed set: one outside it is damage.
		sc := pf.MetaData().Schema
		for i := range sc.NumColumns() {
			if t := sc.Column(i).PhysicalType(); t < pq.Types.Boolean || t > pq.Types.FixedLenByteArray {
				return nil, nil, badInput("the Parquet footer is corrupt: column %q has the physical type number %d, which the Parquet format does not define; re-create or re-download the file", sc.Column(i).Path(), int(t))
			}
		}
		return nil, nil, unsupported("the Parquet schema is unsupported or corrupt: its conversion to Arrow types failed: %w", err)
	}
	return pf, fr, nil
}

func (s *parquetSource) fields() []arrow.Field { return s.fs }

func (s *parquetSource) rowsHint() int64 { return s.pf.NumRows() }

func (s *parquetSource) next(want []int) (int, map[int][]arrow.Array, error) {
	for s.left == 0 {
		s.release()
		if s.rg >= s.pf.NumRowGroups() {
			return 0, nil, io.EOF
		}
		s.left = s.groupRows(s.rg)
		s.whole = wholeGroup(s.left, len(want))
		s.rg++
	}
	rg := s.rg - 1
	n := s.left
	if !s.whole {
		n = min(n, sliceRows)
		if s.readers == nil {
			if err := s.open(want, rg); err != nil {
				return 0, nil, err
			}
		}
	}
	s.left -= n
	cols, err := s.readColumns(want, rg, n, s.whole)
	if err != nil {
		return 0, nil, err
	}
	return n, cols, nil
}

// groupRows returns the row count of row group rg (openParquet refused a
// negative one).
func (s *parquetSource) groupRows(rg int) int {
	return int(s.pf.MetaData().RowGroup(rg).NumRows())
}

// wholeGroup reports whether a row group of n rows is read in one batch
// when cols fields are read from it.
func wholeGroup(n, cols int) bool {
	return int64(n)*int64(cols)*8 <= wholeGroupBytes
}

// readColumns reads the next n rows of the wanted fields of row group rg,
// whole (a reader of its own per column) or from the readers that open
// opened, decoding the columns on every core; each column's result does not
// depend on the others, so the order of work does not matter, and the
// error returned is that of the first failing field in want's order.
func (s *parquetSource) readColumns(want []int, rg, n int, whole bool) (map[int][]arrow.Array, error) {
	chunks := make([][]arrow.Array, len(want))
	errs := make([]error, len(want))
	forEachParallel(len(want), func(k int) {
		if errs[k] = s.ctx.Err(); errs[k] == nil {
			chunks[k], errs[k] = s.readSafely(want[k], rg, n, whole, nil)
		}
	})
	cols := make(map[int][]arrow.Array, len(want))
	for k, fi := range want {
		if errs[k] != nil {
			return nil, errs[k]
		}
		cols[fi] = chunks[k]
	}
	return cols, nil
}

// readGroup reads the n rows of row group rg whole, the wanted fields one
// after the other on the calling goroutine, so that several row groups
// decode at once on several. The values of a flat numeric field for which
// lend reports true are read into buffers of sc, which the caller gives
// back once it no longer uses the arrays.
func (s *parquetSource) readGroup(want []int, rg, n int, sc *scratch, lend func(fi int) bool) (map[int][]arrow.Array, error) {
	cols := make(map[int][]arrow.Array, len(want))
	for _, fi := range want {
		if err := s.ctx.Err(); err != nil {
			return nil, err
		}
		var buf *scratch
		if lend(fi) {
			buf = sc
		}
		ch, err := s.readSafely(fi, rg, n, true, buf)
		if err != nil {
			return nil, err
		}
		cols[fi] = ch
	}
	return cols, nil
}

// open opens the readers of every wanted field of row group rg, for a read
// in slices.
func (s *parquetSource) open(want []int, rg int) error {
	s.readers = make(map[int]*pqarrow.ColumnReader, len(want))
	s.direct = make(map[int]*directColumn, len(want))
	for _, fi := range want {
		if leaf := s.directLeaf(fi, rg); leaf >= 0 {
			dc, err := s.openDirect(fi, leaf, rg, false)
			if err != nil {
				s.release()
				return err
			}
			s.direct[fi] = dc
			continue
		}
		rdr, err := s.columnReader(fi, rg)
		if err != nil {
			s.release()
			return err
		}
		s.readers[fi] = rdr
	}
	return nil
}

// release drops the column readers of the row group just read.
func (s *parquetSource) release() {
	for _, r := range s.readers {
		r.Release()
	}
	s.readers, s.direct = nil, nil
}

// columnReader opens field fi of row group rg.
func (s *parquetSource) columnReader(fi, rg int) (*pqarrow.ColumnReader, error) {
	name := s.fs[fi].Name
	rdr, err := s.fr.GetFieldReader(s.ctx, fi, s.leaves[fi], []int{rg})
	if err != nil {
		return nil, s.readFailure(fi, rg, err)
	}
	if rdr == nil {
		return nil, badInput("column %q, row group %d: no data found", name, rg)
	}
	return rdr, nil
}

// readSafely reads the next n rows of field fi in row group rg, the whole
// column (with a reader of its own) or a slice (from the readers open
// opened), with the decoder's panics on corrupt data turned into errors:
// it runs on a goroutine of its own, where the reader's recover cannot
// reach. A direct column's values go into buffers of sc, when not nil.
func (s *parquetSource) readSafely(fi, rg, n int, whole bool, sc *scratch) (chunks []arrow.Array, err error) {
	defer func() {
		if r := recover(); r != nil {
			chunks, err = nil, s.readFailure(fi, rg, r)
		}
	}()
	if whole {
		return s.readColumn(fi, rg, n, sc)
	}
	return s.readSlice(s.direct[fi], s.readers[fi], fi, rg, n)
}

// readColumn reads field fi of row group rg whole (n rows), with a reader
// of its own.
func (s *parquetSource) readColumn(fi, rg, n int, sc *scratch) ([]arrow.Array, error) {
	if leaf := s.directLeaf(fi, rg); leaf >= 0 {
		// With sc, the arrays are dropped once converted: the pages can
		// be read into pooled buffers too, the values being copied out.
		dc, err := s.openDirect(fi, leaf, rg, sc != nil)
		if err != nil {
			return nil, err
		}
		if sc != nil {
			defer dc.close()
		}
		dc.sc = sc
		return s.readSlice(dc, nil, fi, rg, n)
	}
	rdr, err := s.columnReader(fi, rg)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	return s.readSlice(nil, rdr, fi, rg, n)
}

// readSlice reads the next n rows of field fi in row group rg from dc, or
// else from rdr.
func (s *parquetSource) readSlice(dc *directColumn, rdr *pqarrow.ColumnReader, fi, rg, n int) ([]arrow.Array, error) {
	if dc != nil {
		a, rows, err := dc.read(n)
		if err != nil {
			return nil, s.readFailure(fi, rg, err)
		}
		if rows != n {
			return nil, s.shortColumn(fi, rg)
		}
		return []arrow.Array{a}, nil
	}
	ch, err := rdr.NextBatch(int64(n))
	if err != nil {
		return nil, s.readFailure(fi, rg, err)
	}
	if ch.Len() != n {
		ch.Release()
		return nil, s.shortColumn(fi, rg)
	}
	// The chunks outlive ch; with the Go allocator the garbage collector
	// frees them once they are no longer referenced.
	return ch.Chunks(), nil
}

// shortColumn explains a read of field fi in row group rg that ended
// before the footer's row count: a codec or encoding arrow-go cannot
// decode, else a corrupt file.
func (s *parquetSource) shortColumn(fi, rg int) error {
	if err := s.unsupportedIn(fi, rg); err != nil {
		return err
	}
	return badInput("the Parquet file is corrupt: column %q has fewer rows in row group %d than the footer's %d", s.fs[fi].Name, rg, s.pf.MetaData().RowGroup(rg).NumRows())
}

// ipcFailure words a failure to read what (an Arrow IPC file or stream,
// a record batch of one): the system could not read it, or it is corrupt
// or truncated.
func ipcFailure(what string, err error) error {
	if isSystemError(err) {
		return badInput("cannot read %s: %w", what, err)
	}
	return badInput("%s is corrupt or truncated (%w); re-create it", what, err)
}

// isSystemError reports whether a reader's error came from the system (a
// failed read, with the file's path and the errno), not from the bytes it
// read: such a file is not corrupt, and the errno must stay in the chain
// (an I/O error is the machine's fault).
func isSystemError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// arrowFileSource reads an Arrow IPC file one record batch at a time.
type arrowFileSource struct {
	r *ipc.FileReader
	i int
}

func (s *arrowFileSource) fields() []arrow.Field { return s.r.Schema().Fields() }

func (s *arrowFileSource) rowsHint() int64 { return -1 }

func (s *arrowFileSource) next(want []int) (int, map[int][]arrow.Array, error) {
	if s.i >= s.r.NumRecords() {
		return 0, nil, io.EOF
	}
	rec, err := s.r.RecordAt(s.i)
	s.i++
	if err != nil {
		return 0, nil, ipcFailure(fmt.Sprintf("record batch %d of the Arrow IPC file", s.i-1), err)
	}
	return recordColumns(rec, want)
}

// arrowStreamSource reads an Arrow IPC stream one record batch at a time.
type arrowStreamSource struct {
	r *ipc.Reader
}

func (s *arrowStreamSource) fields() []arrow.Field { return s.r.Schema().Fields() }

func (s *arrowStreamSource) rowsHint() int64 { return -1 }

func (s *arrowStreamSource) next(want []int) (int, map[int][]arrow.Array, error) {
	if !s.r.Next() {
		if err := s.r.Err(); err != nil && !errors.Is(err, io.EOF) {
			return 0, nil, ipcFailure("the Arrow IPC stream", err)
		}
		return 0, nil, io.EOF
	}
	rec := s.r.Record()
	rec.Retain() // the reader releases it at the next call
	return recordColumns(rec, want)
}

// recordColumns takes the wanted columns out of rec, which it releases.
func recordColumns(rec arrow.Record, want []int) (int, map[int][]arrow.Array, error) {
	defer rec.Release()
	cols := make(map[int][]arrow.Array, len(want))
	for _, fi := range want {
		c := rec.Column(fi)
		c.Retain()
		cols[fi] = []arrow.Array{c}
	}
	return int(rec.NumRows()), cols, nil
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
