package parquet

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A sink takes the rows of a read, batch by batch. The reader (reader.go)
// does the same work for every read (open, plan, check, decode, filter);
// what becomes of the rows is the sink's: collectSink gathers them into
// Table.Data, sampleSink keeps a reservoir sample of them, streamSink hands
// each batch to the caller of StreamInputs. The work on a batch that needs
// no order (prepare: converting the features) runs on the decoding
// goroutines, several batches at once; add then takes the batches one at a
// time, in input order, on the goroutine that called the read.
type sink interface {
	// begin is called once, when the first file has decided the features
	// (s.t.Names) and the kept columns, before any batch is prepared.
	begin(s sinkStart)
	// prepare does the sink's work on a batch that needs no order; it may
	// run on any goroutine, for several batches at once. Buffers it needs
	// until add come from sc.
	prepare(b *rowBatch, sc *scratch) error
	// dropsFeatures reports whether the sink no longer uses the feature
	// arrays of a batch once prepare returned, so that their buffers may
	// be reused.
	dropsFeatures() bool
	// add takes one batch of at least one row, in input order.
	add(b *rowBatch) error
	// finish completes the Table once every file was read: checks that
	// need every row, and the kept columns.
	finish() (*Table, error)
}

// sinkStart is what a sink learns when the read begins.
type sinkStart struct {
	t   *Table
	sel Selection
	// kept holds the kept columns' fields in the first file, in
	// Selection.Keep order.
	kept []arrow.Field
	// expectRows is the number of rows the files' footers promise, or 0
	// when unknown (a filter, a format without a row count).
	expectRows int64
	filter     *Filter
	mem        memory.Allocator
}

// rowBatch is one batch of rows that passed the filter, split by use.
type rowBatch struct {
	rows     int
	features [][]arrow.Array // by feature (Table.Names order): its chunks
	kept     []keptBatch     // by Selection.Keep
	in       Input           // the file it came from
	// off counts the rows read before the batch, in input order; without
	// a filter it is the batch's first row in Table.Data.
	off int
	// data holds the features prepare converted (row-major, rows × the
	// features), unless it wrote them in place; stats counts their
	// missing values, by feature.
	data  []float32
	stats []valueStats
}

// convert converts the batch's features into dst (rows × the features,
// row-major), counting their missing values in b.stats.
func (b *rowBatch) convert(s sinkStart, dst []float32) error {
	b.stats = make([]valueStats, len(s.t.Names))
	return convertBatch(b.features, s.t.Names, b.rows, dst, b.stats, s.sel.MaxMagnitude)
}

// addStats adds the counts of a batch's stats to the read's.
func addStats(to, from []valueStats) {
	for j := range from {
		to[j].add(from[j])
	}
}

// keptBatch is one kept column of a batch.
type keptBatch struct {
	field  arrow.Field // its field in the batch's file
	chunks []arrow.Array
}

// noRows explains a read that found no row to use.
func noRows(s sinkStart) error {
	if s.filter != nil && s.t.RowsRead > 0 {
		return fieldError(ErrBadInput, "Filter", "%s keeps none of the %d rows read; check the condition", s.filter, s.t.RowsRead)
	}
	return badInput("the input has no rows; a non-empty table is needed")
}

// finishTable completes the Table of a sink that holds the rows itself
// (collectSink, sampleSink): it refuses a read without rows and, unless
// Selection.AllowMissing is set, feature columns holding missing values
// (stats, by feature); then column(k) gives kept column k, as its field
// and chunks.
func (s sinkStart) finishTable(stats []valueStats, kept int, column func(k int) (arrow.Field, []arrow.Array, error)) (*Table, error) {
	t := s.t
	if t.Rows == 0 {
		return nil, noRows(s)
	}
	if !s.sel.AllowMissing {
		if err := checkStats(t.Names, stats); err != nil {
			return nil, err
		}
	}
	cols := make([]arrow.Column, kept)
	for k := range cols {
		field, chunks, err := column(k)
		if err != nil {
			return nil, err
		}
		cols[k] = keptArrowColumn(field, chunks)
	}
	t.Kept = keptTable(cols, t.Rows)
	return t, nil
}

// keptArrowColumn makes a column of Table.Kept, without the reader's
// metadata.
func keptArrowColumn(field arrow.Field, chunks []arrow.Array) arrow.Column {
	ch := arrow.NewChunked(field.Type, chunks)
	defer ch.Release()
	field.Metadata = arrow.Metadata{}
	return *arrow.NewColumn(field, ch)
}

// keptTable makes Table.Kept of its columns.
func keptTable(cols []arrow.Column, rows int) arrow.Table {
	fields := make([]arrow.Field, len(cols))
	for k := range cols {
		fields[k] = cols[k].Field()
	}
	return array.NewTable(arrow.NewSchema(fields, nil), cols, int64(rows))
}
