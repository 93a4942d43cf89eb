package parquet

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// arrow-go v18 decodes DELTA_BYTE_ARRAY for BYTE_ARRAY columns only, but
// the format allows it for FIXED_LEN_BYTE_ARRAY too, and arrow-rs and
// parquet-mr's v2 writers use it for fixed-length decimals. Both types
// encode a DELTA_BYTE_ARRAY page the same way (prefix lengths, suffix
// lengths, suffixes), so such a column chunk is read here with arrow-go's
// BYTE_ARRAY column reader, over a page reader that turns the chunk's
// other pages, which lay out fixed-length values another way (PLAIN and
// BYTE_STREAM_SPLIT data, the PLAIN dictionary), into their BYTE_ARRAY
// form. Dictionary-index pages are the same for both types.

// deltaFLBALeaf returns the leaf column of field fi when its chunk in row
// group rg holds fixed-length values in DELTA_BYTE_ARRAY and the field is
// flat, of a type flbaArray builds.
func (s *parquetSource) deltaFLBALeaf(fi, rg int) (int, bool) {
	if len(s.leaves[fi]) != 1 || !flbaArrayType(s.fs[fi].Type) {
		return 0, false
	}
	for leaf := range s.leaves[fi] {
		col := s.pf.MetaData().Schema.Column(leaf)
		if col.PhysicalType() != pq.Types.FixedLenByteArray || col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
			return 0, false
		}
		md, err := s.pf.MetaData().RowGroup(rg).ColumnChunk(leaf)
		if err != nil || !slices.Contains(md.Encodings(), pq.Encodings.DeltaByteArray) {
			return 0, false
		}
		return leaf, true
	}
	return 0, false
}

// directLeaf returns the leaf column of field fi to read with a
// directColumn in row group rg, or -1 to read it with pqarrow.
func (s *parquetSource) directLeaf(fi, rg int) int {
	if leaf := s.directLeaves[fi]; leaf >= 0 {
		return leaf
	}
	if leaf, ok := s.deltaFLBALeaf(fi, rg); ok {
		return leaf
	}
	return -1
}

// flbaArrayType says whether flbaArray builds arrays of type dt.
func flbaArrayType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.DECIMAL128, arrow.DECIMAL256, arrow.FIXED_SIZE_BINARY, arrow.FLOAT16:
		return true
	case arrow.EXTENSION:
		return dt.(arrow.ExtensionType).StorageType().ID() == arrow.FIXED_SIZE_BINARY
	}
	return false
}

// openDeltaFLBA opens leaf column leaf of row group rg as BYTE_ARRAY values.
func (s *parquetSource) openDeltaFLBA(fi, leaf, rg int) (*directColumn, error) {
	col := s.pf.MetaData().Schema.Column(leaf)
	pr, err := s.pf.RowGroup(rg).GetColumnPageReader(leaf)
	if err != nil {
		return nil, s.readFailure(fi, rg, err)
	}
	rep := pq.Repetitions.Required
	if col.MaxDefinitionLevel() > 0 {
		rep = pq.Repetitions.Optional
	}
	node, err := schema.NewPrimitiveNode(col.Name(), rep, pq.Types.ByteArray, -1, -1)
	if err != nil {
		return nil, s.readFailure(fi, rg, err)
	}
	mem := s.mem
	pool := &sync.Pool{New: func() any { return memory.NewResizableBuffer(mem) }}
	width := col.TypeLength()
	ccr := file.NewColumnReader(schema.NewColumn(node, col.MaxDefinitionLevel(), 0), &flbaPages{PageReader: pr, width: width, maxDef: col.MaxDefinitionLevel()}, mem, pool)
	return &directColumn{ccr: ccr, dt: s.fs[fi].Type, maxDef: col.MaxDefinitionLevel(), width: width, mem: mem}, nil
}

// flbaPages turns the pages of a FIXED_LEN_BYTE_ARRAY column chunk into
// pages of a BYTE_ARRAY one. Every page it returns owns a copy of its
// bytes, so the values the column reader hands out stay valid after the
// next page is read.
type flbaPages struct {
	file.PageReader
	width  int
	maxDef int16
	cur    file.Page
	err    error
}

func (p *flbaPages) Next() bool {
	if p.err != nil || !p.PageReader.Next() {
		return false
	}
	p.cur, p.err = p.convert(p.PageReader.Page())
	return p.err == nil
}

func (p *flbaPages) Page() file.Page { return p.cur }

func (p *flbaPages) Err() error {
	if p.err != nil {
		return p.err
	}
	return p.PageReader.Err()
}

func (p *flbaPages) GetDictionaryPage() (*file.DictionaryPage, error) {
	d, err := p.PageReader.GetDictionaryPage()
	if err != nil || d == nil {
		return d, err
	}
	c, err := p.convert(d)
	if err != nil {
		return nil, err
	}
	return c.(*file.DictionaryPage), nil
}

// convert returns pg as a page of BYTE_ARRAY values.
func (p *flbaPages) convert(pg file.Page) (file.Page, error) {
	data := pg.Data()
	enc := pq.Encoding(pg.Encoding())
	switch pg := pg.(type) {
	case *file.DictionaryPage:
		// A dictionary page holds PLAIN values, whichever of PLAIN
		// and PLAIN_DICTIONARY it names.
		vals, err := p.values(data, true, false, int(pg.NumValues()))
		if err != nil {
			return nil, err
		}
		return file.NewDictionaryPage(memory.NewBufferBytes(vals), pg.NumValues(), pq.Encodings.Plain), nil
	case *file.DataPageV1:
		levels, err := p.v1LevelsLen(data, pg)
		if err != nil {
			return nil, err
		}
		fixed := isFixedLayout(enc)
		vals, err := p.values(data[levels:], fixed, enc == pq.Encodings.ByteStreamSplit, -1)
		if err != nil {
			return nil, err
		}
		buf := append(append(make([]byte, 0, levels+len(vals)), data[:levels]...), vals...)
		if fixed {
			enc = pq.Encodings.Plain
		}
		return file.NewDataPageV1(memory.NewBufferBytes(buf), pg.NumValues(), enc, pg.DefinitionLevelEncoding(), pg.RepetitionLevelEncoding(), int32(len(buf))), nil
	case *file.DataPageV2:
		levels := int(pg.DefinitionLevelByteLen() + pg.RepetitionLevelByteLen())
		if levels < 0 || levels > len(data) {
			return nil, fmt.Errorf("parquet: data page v2 claims %d bytes of levels in %d", levels, len(data))
		}
		fixed := isFixedLayout(enc)
		vals, err := p.values(data[levels:], fixed, enc == pq.Encodings.ByteStreamSplit, int(pg.NumValues()-pg.NumNulls()))
		if err != nil {
			return nil, err
		}
		buf := append(append(make([]byte, 0, levels+len(vals)), data[:levels]...), vals...)
		if fixed {
			enc = pq.Encodings.Plain
		}
		return file.NewDataPageV2(memory.NewBufferBytes(buf), pg.NumValues(), pg.NumNulls(), pg.NumRows(), enc, pg.DefinitionLevelByteLen(), pg.RepetitionLevelByteLen(), int32(len(buf)), false), nil
	}
	return nil, fmt.Errorf("parquet: unexpected page type %T", pg)
}

// isFixedLayout says whether the values of a data page in encoding e are
// laid out by their fixed length, and so need converting. (A data page in
// PLAIN_DICTIONARY holds dictionary indices.)
func isFixedLayout(e pq.Encoding) bool {
	return e == pq.Encodings.Plain || e == pq.Encodings.ByteStreamSplit
}

// values returns a copy of the values section of a page, converted to
// PLAIN BYTE_ARRAY (a 4-byte length before each value) when fixed says it
// lays the values out by their fixed length, PLAIN or, with bss,
// BYTE_STREAM_SPLIT. n is the number of values, or -1 when only the
// section's length tells it.
func (p *flbaPages) values(b []byte, fixed, bss bool, n int) ([]byte, error) {
	if !fixed {
		return append([]byte(nil), b...), nil
	}
	w := p.width
	if w <= 0 || len(b)%w != 0 || (n >= 0 && len(b) != n*w) {
		return nil, fmt.Errorf("parquet: %d bytes of values do not make %d values of %d bytes", len(b), n, w)
	}
	if n < 0 {
		n = len(b) / w
	}
	out := make([]byte, 0, n*(4+w))
	for i := range n {
		out = binary.LittleEndian.AppendUint32(out, uint32(w))
		if bss {
			// Byte k of every value is in stream k.
			for k := range w {
				out = append(out, b[k*n+i])
			}
			continue
		}
		out = append(out, b[i*w:(i+1)*w]...)
	}
	return out, nil
}

// v1LevelsLen returns the length of the levels before the values of a
// data page v1 of a flat column: none, or the definition levels, RLE with
// a 4-byte length or BIT_PACKED at one bit a value.
func (p *flbaPages) v1LevelsLen(data []byte, pg *file.DataPageV1) (int, error) {
	if p.maxDef == 0 {
		return 0, nil
	}
	if pg.DefinitionLevelEncoding() == pq.Encodings.BitPacked {
		n := (int(pg.NumValues()) + 7) / 8
		if n > len(data) {
			return 0, fmt.Errorf("parquet: data page too short for its levels")
		}
		return n, nil
	}
	if len(data) < 4 {
		return 0, fmt.Errorf("parquet: data page too short for its levels")
	}
	n := 4 + int(binary.LittleEndian.Uint32(data))
	if n < 4 || n > len(data) {
		return 0, fmt.Errorf("parquet: data page claims %d bytes of levels in %d", n, len(data))
	}
	return n, nil
}

// readFLBA reads n rows of fixed-length values through r into an array of
// type dt, with buffers from mem.
func readFLBA(mem memory.Allocator, r *file.ByteArrayColumnChunkReader, dt arrow.DataType, width, n int, defs []int16, maxDef int16) (arrow.Array, int, error) {
	vals := make([]pq.ByteArray, n)
	rows, present, err := r.ReadBatch(int64(n), vals, defs, nil)
	if err != nil || int(rows) != n {
		return nil, int(rows), err
	}
	for _, v := range vals[:present] {
		if len(v) != width {
			return nil, 0, fmt.Errorf("parquet: a value of %d bytes in a column of %d-byte values", len(v), width)
		}
	}
	isNull := func(i int) bool { return maxDef > 0 && defs[i] != maxDef }
	storage := dt
	if ext, ok := dt.(arrow.ExtensionType); ok {
		storage = ext.StorageType()
	}
	b := array.NewBuilder(mem, storage)
	defer b.Release()
	b.Reserve(n)
	j := 0
	for i := range n {
		if isNull(i) {
			b.AppendNull()
			continue
		}
		v := vals[j]
		j++
		switch b := b.(type) {
		case *array.Decimal128Builder:
			b.Append(decimal128FromBE(v))
		case *array.Decimal256Builder:
			b.Append(decimal256FromBE(v))
		case *array.Float16Builder:
			b.Append(float16.FromBits(binary.LittleEndian.Uint16(v)))
		case *array.FixedSizeBinaryBuilder:
			b.Append(v)
		default:
			return nil, 0, fmt.Errorf("parquet: no reader for fixed-length values of type %s", dt)
		}
	}
	a := b.NewArray()
	if ext, ok := dt.(arrow.ExtensionType); ok {
		defer a.Release()
		return array.NewExtensionArrayWithStorage(ext, a), n, nil
	}
	return a, n, nil
}

// signExtend returns the big-endian two's complement v widened to size
// bytes.
func signExtend(v []byte, size int) []byte {
	out := make([]byte, size)
	if len(v) > 0 && v[0]&0x80 != 0 {
		for i := range out {
			out[i] = 0xff
		}
	}
	copy(out[size-min(len(v), size):], v[max(0, len(v)-size):])
	return out
}

func decimal128FromBE(v []byte) decimal128.Num {
	b := signExtend(v, 16)
	return decimal128.New(int64(binary.BigEndian.Uint64(b)), binary.BigEndian.Uint64(b[8:]))
}

func decimal256FromBE(v []byte) decimal256.Num {
	b := signExtend(v, 32)
	return decimal256.New(binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[16:]), binary.BigEndian.Uint64(b[24:]))
}
