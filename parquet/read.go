package parquet

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file holds the reading entry points and the types they share; the
// package documentation (doc.go) maps the other files of a read.

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
	// AllowMissing lets feature columns hold missing values (nulls, NaN,
	// ±Inf and values beyond ±MaxMagnitude): nulls become NaN in
	// Table.Data and the others stay as they are, for the caller to treat
	// as missing. Without it they are an error wrapping ErrBadInput that
	// names the columns and counts the values.
	AllowMissing bool
	// MaxMagnitude, when above 0, bounds the feature values: a value whose
	// magnitude is above it (a sentinel such as ±3.4e38) counts as
	// missing, as NaN does. 0 means no bound beyond the float32 range.
	MaxMagnitude float64
}

// Validate checks the Selection on its own, before any file is opened:
// Features and Exclude not both given, no empty or repeated name. Its
// errors wrap ErrUsage; one about a field is a *FieldError. The readers
// call it; a caller may call it first to refuse a bad selection early.
func (s Selection) Validate() error {
	if len(s.Features) > 0 && len(s.Exclude) > 0 {
		return fmt.Errorf("%w: %w", ErrUsage, &FieldError{Field: "Features", With: "Exclude",
			Err: errors.New("cannot be used together: name the features, or name what to leave out")})
	}
	if s.MaxMagnitude < 0 {
		return usageError("MaxMagnitude %g is negative; give a bound above 0, or 0 for none", s.MaxMagnitude)
	}
	if err := checkNames("Features", s.Features); err != nil {
		return err
	}
	if err := checkNames("Exclude", s.Exclude); err != nil {
		return err
	}
	return checkNames("Keep", s.Keep)
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
	// Allocator holds the Arrow buffers of the read; nil means
	// memory.DefaultAllocator. The reader hands its arrays on (Table.Kept,
	// Batch.Kept) without releasing them and leaves the rest to the
	// garbage collector, so it must be an allocator whose memory the
	// garbage collector reclaims (memory.NewGoAllocator, or one wrapping
	// it to count or limit). Batches and their columns are decoded on every
	// core at once, so it must be safe for concurrent use.
	Allocator memory.Allocator
}

// allocator returns the allocator of the read.
func (o ReadOptions) allocator() memory.Allocator {
	if o.Allocator == nil {
		return memory.DefaultAllocator
	}
	return o.Allocator
}

// ReadProgress reports how far a read has come.
type ReadProgress struct {
	File                  string // the file being read
	Files, FilesDone      int
	RowsRead, RowsKept    int64
	BytesDone, BytesTotal int64 // bytes of the files finished, of all files
	Elapsed               time.Duration
}

// ReadTable reads one input (a Parquet or Arrow IPC file, a folder or a
// glob) into a Table; see ReadDataset.
func ReadTable(ctx context.Context, path string, sel Selection) (*Table, error) {
	return ReadDataset(ctx, []string{path}, sel)
}

// ReadDataset reads the files that inputs name (see ResolveInputs) into one
// Table, converting the columns chosen by sel to float32. It reads only the
// columns it needs, a row group or record batch at a time, on every core
// (see the package documentation for the memory bound), with the same
// result on any number of cores. The first file
// decides the features (unless sel names them); every other file must hold
// them, under the same names, with numeric types (widths may differ, and
// columns may come in another order). Hive partition keys of the paths
// become columns that sel can name.
//
// Cancelling ctx stops the read before the next file, row group or record
// batch; the error is then ctx.Err(). Errors caused by the files or their
// contents wrap [ErrBadInput]; errors in sel itself wrap [ErrUsage].
func ReadDataset(ctx context.Context, inputs []string, sel Selection) (*Table, error) {
	wrap := func(err error) error { return fmt.Errorf("read %s: %w", strings.Join(inputs, ", "), err) }
	if err := sel.Validate(); err != nil {
		return nil, wrap(err)
	}
	ins, err := ResolveInputs(inputs)
	if err != nil {
		return nil, wrap(err)
	}
	// The files need naming when the arguments do not name them one by one.
	nameFiles := len(ins) > 1 || ins[0].Path != inputs[0]
	t, err := read(ctx, ins, sel, ReadOptions{}, &collectSink{}, nameFiles)
	if err != nil {
		return nil, wrap(err)
	}
	return t, nil
}

// ReadInputs is ReadDataset for inputs already resolved by ResolveInputs,
// with options for filtering, sampling, progress and the allocator.
func ReadInputs(ctx context.Context, ins []Input, sel Selection, opts ReadOptions) (*Table, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, usageError("no input files")
	}
	if opts.MaxRows < 0 || opts.MaxRows > 0 && opts.Rand == nil {
		return nil, usageError("a row limit needs a positive MaxRows and a seeded Rand")
	}
	var s sink = &collectSink{}
	if opts.MaxRows > 0 {
		s = &sampleSink{max: opts.MaxRows, rand: opts.Rand}
	}
	return read(ctx, ins, sel, opts, s, true)
}
