// Package parquet is the table input/output layer of vaejob.
//
// It reads a Parquet file into a dense, row-major float32 feature matrix
// ([Table]) and writes per-row scores back out as Parquet or CSV
// ([WriteScores]). It knows nothing about models: it only turns columns into
// numbers and numbers back into columns.
//
// # Reading
//
// [ReadDataset] (and [ReadTable] for one argument) reads a dataset: Parquet
// and Arrow IPC files (file and stream format, recognised by content),
// folders read recursively, and globs, resolved by [ResolveInputs]; hive
// partition keys in the paths (dt=2026-11-24/) become columns. It decides
// which columns become features according to a [Selection] and the first
// file, checks every other file against it (reporting schema drift with
// file names), and reads only the needed columns (plus any columns to carry
// along untouched, [Selection.Keep]) a row group or record batch at a
// time, on every core (GOMAXPROCS goroutines) and with at most
// GOMAXPROCS+2 batches decoded and not yet taken, so memory stays bounded
// by the output matrix, the kept columns and those batches. The batches
// are taken in input order, whatever the number of cores: the table, the
// sample, the streamed batches and the first error (in input order) are
// the same on one core or sixteen. [ReadInputs] reads inputs already resolved, with a filter, a
// reservoir sample or a progress callback ([ReadOptions]). [StreamInputs]
// hands the batches to the caller instead of collecting them, for work that
// streams (scoring); [Batch.Features] converts a batch, on any goroutine.
// A streamed read of inputs without rows (empty files, a folder of empty
// partitions) succeeds: no batch, and a Table that gives the features and
// the kept columns' schema, so that the caller can write an empty result.
//
// [ReadStream] reads a stream that cannot seek (standard input, a pipe) the
// same way, batch by batch: an Arrow IPC stream, or CSV with a header row
// whose features are found by name and parsed as numbers, the other
// columns text; [SniffFormat] tells the two apart by the first bytes and
// refuses Parquet, which needs seeking.
//
// Every read takes a context: cancelling it stops the read before it takes
// the next file, row group (or slice of one) or record batch, and the
// decoding of those in flight before their next column, and [Digest]
// before its next buffer, with the context's error. [ReadOptions.Allocator] holds
// the Arrow buffers (memory.DefaultAllocator when nil).
//
// Where the code is: read.go holds the entry points and the types they
// share; pipeline.go how a read is spread over the cores and taken back in
// input order; reader.go the work itself: opening each file, finding its
// columns, handing out its batches, filtering each batch (filter.go parses
// and evaluates the Filter); sources.go and direct.go decode the batches
// (into buffers that scratch.go lends and takes back when the rows are
// converted), codec.go, flba.go and logicaltype.go cover what arrow-go cannot decode
// alone, and unsupported.go tells a file vaejob cannot decode from a
// corrupt one. plan.go decides from the first file which columns are
// features and which are kept; schema.go holds every later file to that
// plan and turns hive partition keys into columns. Each batch then goes to
// a sink (sink.go, which also completes the Table of a sink that keeps the
// rows): collect.go gathers every row, sample.go keeps a reservoir sample,
// stream.go hands the batches to the caller; stdin.go reads a stream that
// cannot seek into the same sink, csvread.go its CSV. convert.go owns turning
// values into float32 features (one table of the Arrow types backed by Go
// slices of numbers), text.go how a value reads as text (the CSV output,
// the filter, sampled kept text; a table keyed by Arrow type ID), kept.go
// the Table's accessors of kept columns, scoretypes.go how kept columns
// travel into a score file, write.go the score writers. open.go opens files; inputs.go resolves arguments
// into files; ipc.go opens Arrow IPC inputs once ipccheck.go has checked
// the metadata that arrow-go would otherwise trust (sizes and counts a
// corrupt file could make it allocate without bound), with an allocator
// that refuses any buffer the file cannot back. digest.go fingerprints
// files; PrepareHeap (hugepages_*.go) tunes the process for large reads.
//
// Flat numeric columns (float64, float32, int32, int64) are decoded straight
// from their column chunks into Go slices; others go through pqarrow. A row
// group whose values fit 64 MiB is read by one goroutine, a column at a
// time (each column's reader freed before the next), several row groups at
// once; a larger one in slices of 32 Ki rows, each slice's columns on every
// core. A read that gathers every row converts each row group straight
// into its place in the matrix, allocated once from the footers' row
// counts.
// Every numeric Arrow type (signed and unsigned integers, float16/32/64,
// decimals, and dictionary-encoded numbers) is coerced to float32; boolean
// columns become 0/1 when named explicitly in [Selection.Features].
//
// By default every numeric column becomes a feature, in file order, and
// non-numeric columns are reported in [Table.Skipped]. A feature column's
// name must not be empty or hold control characters (other columns may be
// named anything). Unless [Selection.AllowMissing] is set, a feature column
// must not contain missing values: nulls, NaN, ±Inf, or values beyond
// ±[Selection.MaxMagnitude] when it is set; all offending columns are
// reported at once, with counts.
//
// # Inputs that are not files
//
// Only regular files are read. A FIFO, socket or device, given directly or
// found in a folder or through a glob, is refused as bad input without
// being opened for reading (a FIFO would block the open until a writer
// came, deaf to cancellation).
//
// # Errors
//
// Problems with the input data (a missing, unreadable or corrupt file, an
// unknown column, a non-numeric feature, no rows, missing values) wrap
// [ErrBadInput]; mistakes in how the package is called (contradictory or
// duplicate names in a [Selection] or a column list) wrap [ErrUsage]. Callers
// map them to exit codes with errors.Is.
//
// A fault in a file is an error, never a panic, wherever the reader runs:
// arrow-go panics on some corrupt files (and this package's own checks
// refuse an impossible buffer size by panicking inside the decoder), and
// the reader recovers every panic on its goroutine, the callback of
// [StreamInputs] included, and reports it as [ErrBadInput]; the fuzz tests
// (fuzz_test.go) hold every read to that. Arrow arrays are not fully
// validated when they are decoded (arrow-go does not check, for one, the
// indices of an Arrow IPC dictionary), so a caller that converts a
// [Batch] ([Batch.Features]) or writes its kept columns on a goroutine of
// its own recovers there, as jobs does when it scores. Messages name
// files, columns and the package's own settings, never a command-line flag:
// an error about one setting (a Features pattern, the Filter) carries a
// [FieldError], through which a caller names the setting as its users know
// it. A valid file in an encoding or compression codec the package cannot
// decode is not called corrupt: its error also wraps [ErrUnsupported] and
// names the encoding or codec and the column. Nor is a file the system
// failed to read (an I/O error): that error says the file cannot be read
// and keeps the system's *fs.PathError and errno in its chain, beside
// [ErrBadInput], so that a caller can tell a failing disk from a damaged
// file. The errors of writing keep the system's error in their chain too.
//
// # Writing
//
// [WriteScores] writes one row per input row, in input order: the kept
// columns first, then "score" (float32) and "is_anomaly" (bool), as
// Parquet, CSV or an Arrow IPC stream ([Format]);
// [ScoreWriter] does the same a batch at a time, and, started with
// [NewScoreWriterLayout], adds the optional columns a [ScoreLayout] names:
// "tail_probability" and the explanation of each row (Parquet: five
// parallel list columns "explain_*"; CSV: one "explain" text, see
// [ExplainText]). The format
// is chosen by the caller, usually with [FormatForPath] or [ParseFormat].
// [ScoreWriter.Encode] does the work of writing a batch that does not
// touch the output (the CSV text, the Arrow arrays) on any goroutine, so
// that batches encoded in parallel are written in order with
// [ScoreWriter.WriteEncoded]. CSV floats are
// written in the shortest form that reads back to the same float32,
// decimals, dates, times and timestamps as their exact text; CSV refuses
// only the kept types its text would not give exactly. In Parquet, kept
// columns keep their logical types (naive timestamps stay local, decimals
// keep precision and scale, UUID, INTERVAL, unsigned integers); a kept
// column Parquet cannot carry faithfully is refused up front
// ([CheckKeptFields]). A writer closed without rows writes the schema.
//
// [Digest] computes the size and SHA-256 of a file, for provenance records;
// [FooterDigest] a cheap fingerprint of its size and footer.
package parquet
