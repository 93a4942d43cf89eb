package parquet

import (
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// collectSink gathers every row of a read into Table.Data, and the kept
// columns' chunks into Table.Kept. When the footers give the row count and
// no filter drops rows, Table.Data is allocated whole at the start and
// every batch is converted straight into its place by the goroutine that
// decoded it: no copy, no regrowth, and the matrix's pages fault in on
// every core.
type collectSink struct {
	sinkStart
	// full is the whole matrix, of the rows the footers promise; nil
	// when unknown. Table.Data is its rows added so far.
	full []float32
	// decoded counts the bytes of feature values decoded since the last
	// collection that add forced (see collectEvery).
	decoded int64
	stats   []valueStats // per feature, its missing values
	kept    []keptColumn // by Selection.Keep
}

// keptColumn gathers the chunks of one kept column.
type keptColumn struct {
	field  arrow.Field
	chunks []arrow.Array
	mixed  bool // its type differs between files
}

func (c *collectSink) begin(s sinkStart) {
	c.sinkStart = s
	c.stats = make([]valueStats, len(s.t.Names))
	c.kept = make([]keptColumn, len(s.kept))
	for k, f := range s.kept {
		c.kept[k].field = f
	}
	nf := int64(len(s.t.Names))
	if s.filter == nil && s.expectRows > 0 && s.expectRows <= maxCells/nf {
		// One allocation for the whole table, not a copy at every growth.
		c.full = make([]float32, s.expectRows*nf)
		adviseHugePages(c.full)
		s.t.Data = c.full[:0]
	}
}

func (c *collectSink) dropsFeatures() bool { return true }

// prepare converts the batch into its place in the whole matrix when it
// fits there (it then leaves b.data nil), else into a buffer of sc.
func (c *collectSink) prepare(b *rowBatch, sc *scratch) error {
	nf := len(c.t.Names)
	lo, hi := int64(b.off)*int64(nf), int64(b.off+b.rows)*int64(nf)
	if c.full != nil && hi <= int64(len(c.full)) {
		return b.convert(c.sinkStart, c.full[lo:hi])
	}
	b.data = lendSlice[float32](sc, b.rows*nf)
	return b.convert(c.sinkStart, b.data)
}

func (c *collectSink) add(b *rowBatch) error {
	t, n, nf := c.t, b.rows, len(c.t.Names)
	if int64(t.Rows+n) > maxCells/int64(nf) {
		return badInput("the input is too large: more than %d rows × %d features exceeds %d values; select fewer rows or features, or sample with a row limit", t.Rows+n, nf, int64(maxCells))
	}
	if b.data == nil {
		// prepare wrote the rows in place: the batches before it filled
		// the rows before it.
		t.Data = t.Data[:len(t.Data)+n*nf]
	} else {
		t.Data = append(t.Data, b.data...)
	}
	addStats(c.stats, b.stats)
	for k, kb := range b.kept {
		kc := &c.kept[k]
		if len(kc.chunks) == 0 && !kc.mixed {
			kc.field = kb.field // the first batch's type, as the others should have
		}
		if !arrow.TypeEqual(kc.field.Type, kb.field.Type) {
			kc.mixed = true
		}
		kc.chunks = append(kc.chunks, kb.chunks...)
	}
	t.Rows += n
	if int64(len(c.full))*4 > collectEvery {
		if c.decoded += int64(n) * int64(nf) * 8; c.decoded >= collectEvery {
			c.decoded = 0
			runtime.GC()
		}
	}
	return nil
}

// collectEvery is how many bytes of decoded values a read into a matrix
// larger than that may leave as garbage before add forces a collection.
// The decoder leaves about as much garbage as it decodes (arrow-go's
// dictionaries, a megabyte per column chunk), and the collector, pacing
// itself on the live heap that the matrix fills, would let the heap grow
// by the matrix's size before collecting: the system must then map and
// zero a fresh page for all of it. Reading 10M × 32 values (a 1.28 GB
// matrix), forcing a collection every 256 MiB cut the peak RSS from 2.7 to
// 1.6 GB and the system time by half; a collection of a heap of a few
// pointer-free slices takes a few milliseconds.
const collectEvery = 256 << 20

func (c *collectSink) finish() (*Table, error) {
	return c.finishTable(c.stats, len(c.kept), func(k int) (arrow.Field, []arrow.Array, error) {
		kc := c.kept[k]
		if kc.mixed {
			return unifyKept(c.mem, kc.field, kc.chunks)
		}
		return kc.field, kc.chunks, nil
	})
}

// unifyKept converts the chunks of a kept column whose type differs between
// files, into buffers from mem, to float64 (numbers; timestamps and dates as seconds since the
// epoch) or strings (text), or fails.
func unifyKept(mem memory.Allocator, field arrow.Field, chunks []arrow.Array) (arrow.Field, []arrow.Array, error) {
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
	f, out := k.array(mem, field.Name, rows)
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
