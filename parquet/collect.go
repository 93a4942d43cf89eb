package parquet

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// collectSink gathers every row of a read into Table.Data, and the kept
// columns' chunks into Table.Kept.
type collectSink struct {
	sinkStart
	batch []float32    // a batch converted, before it is copied into place
	stats []valueStats // per feature, its missing values
	kept  []keptColumn // by Selection.Keep
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
}

func (c *collectSink) add(b *rowBatch) error {
	t, n, nf := c.t, b.rows, len(c.t.Names)
	if int64(t.Rows+n) > maxCells/int64(nf) {
		return badInput("the input is too large: more than %d rows × %d features exceeds %d values; select fewer rows or features, or sample with a row limit", t.Rows+n, nf, int64(maxCells))
	}
	off := len(t.Data)
	if t.Data == nil && c.expectRows > 0 && c.expectRows <= maxCells/int64(nf) {
		// One allocation for the whole table, not a copy at every growth.
		t.Data = make([]float32, 0, c.expectRows*int64(nf))
		adviseHugePages(t.Data)
	}
	t.Data = slices.Grow(t.Data, n*nf)[:off+n*nf]
	// Convert in a reused buffer, then copy: the strided writes stay in
	// memory the cache and TLB already hold.
	if cap(c.batch) < n*nf {
		c.batch = make([]float32, n*nf)
	}
	if err := convertBatch(b.features, t.Names, n, c.batch[:n*nf], c.stats, c.sel.MaxMagnitude); err != nil {
		return err
	}
	copy(t.Data[off:], c.batch[:n*nf])
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
	return nil
}

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
