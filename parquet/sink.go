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
// each batch to the caller of StreamInputs.
type sink interface {
	// begin is called once, when the first file has decided the features
	// (s.t.Names) and the kept columns.
	begin(s sinkStart)
	// add takes one batch of at least one row.
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
