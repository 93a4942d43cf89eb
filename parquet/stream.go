package parquet

import (
	"context"
	"errors"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

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
	maxMagnitude float64
}

// StreamInputs reads inputs as ReadInputs does, but hands each batch of
// rows to each instead of collecting them, so that memory holds a few
// batches, not the table, and the caller can convert (Batch.Features) and
// work on the rows on other goroutines while the rest are read. Batches
// come in input order, on the calling goroutine. The returned Table
// describes what was read (Names, counts, Notes, Skipped, an empty Kept
// with the kept columns' schema); its Data is nil.
//
// An input without rows (empty files, a folder of empty partitions, a
// filter that keeps nothing) is no error: each is never called, and the
// Table gives the features and the kept columns' schema (from the first
// file) with Rows 0, so that the caller can write an empty result with the
// right columns.
//
// Cancelling ctx stops the read before the next file, row group or record
// batch; the error is then ctx.Err(). ReadOptions.MaxRows is refused: a
// sample is not known before the end. A kept column must have the same
// type in every file. An error from each stops the read and is returned
// as it is.
func StreamInputs(ctx context.Context, ins []Input, sel Selection, opts ReadOptions, each func(*Batch) error) (*Table, error) {
	if err := sel.Validate(); err != nil {
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
	s := &streamSink{each: each}
	t, err := read(ctx, ins, sel, opts, s, true)
	if s.callerErr != nil {
		return nil, s.callerErr
	}
	return t, err
}

// errStopped stands for an error of StreamInputs' caller while it unwinds
// the reader.
var errStopped = errors.New("stopped by the caller")

// streamSink hands each batch to the caller of StreamInputs.
type streamSink struct {
	sinkStart
	each      func(*Batch) error
	callerErr error // the error each returned
	// fields holds the kept columns' fields: the first batch's, or the
	// first file's while no batch has come; fixedIn names the file of the
	// first batch.
	fields  []arrow.Field
	fixedIn string
}

func (s *streamSink) begin(st sinkStart) {
	s.sinkStart = st
	s.fields = make([]arrow.Field, len(st.kept))
	for k, f := range st.kept {
		f.Metadata = arrow.Metadata{}
		s.fields[k] = f
	}
}

// prepare does nothing: the caller converts the batch (Batch.Features).
func (s *streamSink) prepare(*rowBatch, *scratch) error { return nil }

// dropsFeatures is false: the caller holds the feature arrays of its
// batches as long as it likes.
func (s *streamSink) dropsFeatures() bool { return false }

func (s *streamSink) add(b *rowBatch) error {
	if s.fixedIn == "" {
		s.fixedIn = b.in.Path
		for k, kb := range b.kept {
			s.fields[k] = kb.field
			s.fields[k].Metadata = arrow.Metadata{}
		}
	}
	kept := make([]arrow.Array, len(b.kept))
	for k, kb := range b.kept {
		if !arrow.TypeEqual(s.fields[k].Type, kb.field.Type) {
			// Its type in the output was fixed by the first batch.
			return badInput("the kept column %q is %s in %s but %s in %s; a streamed read needs one type: cast the column in one of them",
				s.sel.Keep[k], typeName(kb.field.Type), b.in.Path, typeName(s.fields[k].Type), s.fixedIn)
		}
		kept[k] = singleIn(s.mem, kb.chunks)
	}
	s.t.Rows += b.rows
	err := s.each(&Batch{Rows: b.rows, Kept: kept, KeptFields: s.fields,
		features: b.features, names: s.t.Names, allowMissing: s.sel.AllowMissing, maxMagnitude: s.sel.MaxMagnitude})
	if err != nil {
		s.callerErr = err
		return errStopped
	}
	return nil
}

func (s *streamSink) finish() (*Table, error) {
	// The rows went to the caller; the table describes them.
	cols := make([]arrow.Column, len(s.fields))
	for k, f := range s.fields {
		cols[k] = keptArrowColumn(f, nil)
	}
	s.t.Kept = array.NewTable(arrow.NewSchema(slices.Clone(s.fields), nil), cols, 0)
	return s.t, nil
}

// Features converts the batch's feature columns to float32 into dst,
// row-major (Rows × the number of features, as Table.Data), and returns
// dst. It may run on any goroutine, also after the reader has moved on.
// Without Selection.AllowMissing a missing value (null, NaN, ±Inf, beyond
// Selection.MaxMagnitude) is an error wrapping ErrBadInput.
func (b *Batch) Features(dst []float32) ([]float32, error) {
	nf := len(b.names)
	dst = slices.Grow(dst[:0], b.Rows*nf)[:b.Rows*nf]
	stats := make([]valueStats, nf)
	if err := convertBatch(b.features, b.names, b.Rows, dst, stats, b.maxMagnitude); err != nil {
		return nil, err
	}
	if !b.allowMissing {
		if err := checkStats(b.names, stats); err != nil {
			return nil, err
		}
	}
	return dst, nil
}
