package parquet

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// directColumn reads a flat column of float64, float32, int32 or int64
// values (the usual feature columns) straight from its column chunk into a
// Go slice, then wraps the slice as an Arrow array without copying. This
// skips pqarrow's record reader, whose buffers and builders cost about as
// much as the decoding on wide numeric tables.
type directColumn struct {
	ccr    file.ColumnChunkReader
	dt     arrow.DataType
	maxDef int16
	width  int              // the value size of a fixed-length column (flba.go)
	mem    memory.Allocator // the read's allocator, for fixed-length arrays
	// sc, when not nil, lends the buffers of the values and definition
	// levels, for a read whose arrays are dropped once converted.
	sc *scratch
}

// flatNumericLeaf returns the leaf column of field fi when it can be read
// directly: one flat, non-repeated leaf of a plain numeric type.
func (s *parquetSource) flatNumericLeaf(fi int) (int, bool) {
	switch s.fs[fi].Type.ID() {
	case arrow.FLOAT64, arrow.FLOAT32, arrow.INT32, arrow.INT64:
	default:
		return 0, false
	}
	if len(s.leaves[fi]) != 1 {
		return 0, false
	}
	for leaf := range s.leaves[fi] {
		col := s.pf.MetaData().Schema.Column(leaf)
		if col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
			return 0, false
		}
		return leaf, true
	}
	return 0, false
}

// openDirect opens field fi's leaf in row group rg. With pooled, a plain
// numeric column's pages are read into buffers of pagePool (when the file
// allows it): the caller then closes the column (directColumn.close) once
// read, which gives them back.
func (s *parquetSource) openDirect(fi, leaf, rg int, pooled bool) (*directColumn, error) {
	if s.directLeaves[fi] < 0 {
		return s.openDeltaFLBA(fi, leaf, rg)
	}
	pf := s.pf
	if pooled && s.pooledPages != nil {
		pf = s.pooledPages
	}
	ccr, err := pf.RowGroup(rg).Column(leaf)
	if err != nil {
		return nil, s.readFailure(fi, rg, err)
	}
	return &directColumn{ccr: ccr, dt: s.fs[fi].Type, maxDef: ccr.Descriptor().MaxDefinitionLevel()}, nil
}

// close closes the column's page reader, which gives its page buffers back
// to their allocator.
func (c *directColumn) close() {
	if cl, ok := c.ccr.(interface{ Close() error }); ok {
		cl.Close()
	}
}

// read reads the next n rows.
func (c *directColumn) read(n int) (arrow.Array, int, error) {
	var defs []int16
	if c.maxDef > 0 {
		defs = lendSlice[int16](c.sc, n)
	}
	var a arrow.Array
	var rows int
	var err error
	switch r := c.ccr.(type) {
	case *file.Float64ColumnChunkReader:
		a, rows, err = readDirect(r, c.dt, n, defs, c.maxDef, c.sc)
	case *file.Float32ColumnChunkReader:
		a, rows, err = readDirect(r, c.dt, n, defs, c.maxDef, c.sc)
	case *file.Int32ColumnChunkReader:
		a, rows, err = readDirect(r, c.dt, n, defs, c.maxDef, c.sc)
	case *file.Int64ColumnChunkReader:
		a, rows, err = readDirect(r, c.dt, n, defs, c.maxDef, c.sc)
	case *file.ByteArrayColumnChunkReader:
		a, rows, err = readFLBA(c.mem, r, c.dt, c.width, n, defs, c.maxDef)
	default:
		return nil, 0, badInput("the column's physical type does not match its type %s", typeName(c.dt))
	}
	if err == nil && rows != n {
		// ReadBatch stops short without an error when a page cannot be
		// read; the reader keeps the cause.
		err = c.ccr.Err()
	}
	return a, rows, err
}

// batchReader is a typed column chunk reader of package file.
type batchReader[T float64 | float32 | int32 | int64] interface {
	ReadBatch(batchSize int64, values []T, defLvls, repLvls []int16) (int64, int, error)
}

// readDirect reads n rows into a new slice (one lent by sc, when not nil)
// and returns them as an array of type dt, with the number of rows read
// (less than n only for a corrupt file).
func readDirect[T float64 | float32 | int32 | int64](r batchReader[T], dt arrow.DataType, n int, defs []int16, maxDef int16, sc *scratch) (arrow.Array, int, error) {
	vals := lendSlice[T](sc, n)
	rows, present, err := r.ReadBatch(int64(n), vals, defs, nil)
	if err != nil || int(rows) != n {
		return nil, int(rows), err
	}
	var validity *memory.Buffer
	nulls := n - present
	if nulls > 0 {
		// Values come packed; spread them to their rows, from the end.
		bits := make([]byte, bitutil.BytesForBits(int64(n)))
		j := present - 1
		for i := n - 1; i >= 0; i-- {
			if defs[i] == maxDef {
				vals[i] = vals[j]
				j--
				bitutil.SetBit(bits, i)
			} else {
				vals[i] = 0
			}
		}
		validity = memory.NewBufferBytes(bits)
	}
	var zero T
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(vals))), n*int(unsafe.Sizeof(zero)))
	data := array.NewData(dt, n, []*memory.Buffer{validity, memory.NewBufferBytes(raw)}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data), n, nil
}
