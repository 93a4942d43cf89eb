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
// along untouched, [Selection.Keep]) one row group or record batch at a
// time, so memory stays bounded by the output matrix, the kept columns and
// one batch. [StreamInputs] hands the batches to the caller instead of
// collecting them, for work that streams (scoring); [Batch.Features]
// converts a batch, on any goroutine.
//
// Flat numeric columns (float64, float32, int32, int64) are decoded straight
// from their column chunks into Go slices; others go through pqarrow. A row
// group whose values fit 64 MiB is read a column at a time (each column's
// reader freed before the next), a larger one in slices of 32 Ki rows.
// Every numeric Arrow type (signed and unsigned integers, float16/32/64,
// decimals, and dictionary-encoded numbers) is coerced to float32; boolean
// columns become 0/1 when named explicitly in [Selection.Features].
//
// By default every numeric column becomes a feature, in file order, and
// non-numeric columns are reported in [Table.Skipped]. A feature column must
// not contain nulls, NaN or ±Inf; all offending columns are reported at once.
//
// # Errors
//
// Problems with the input data (a missing, unreadable or corrupt file, an
// unknown column, a non-numeric feature, no rows, missing values) wrap
// [ErrBadInput]; mistakes in how the package is called (contradictory or
// duplicate names in a [Selection] or a column list) wrap [ErrUsage]. Callers
// map them to exit codes with errors.Is. Panics raised by the Arrow decoder on
// corrupt files are recovered and reported as [ErrBadInput]. A valid file in
// an encoding or compression codec the package cannot decode is not called
// corrupt: its error also wraps [ErrUnsupported] and names the encoding or
// codec and the column.
//
// # Writing
//
// [WriteScores] writes one row per input row, in input order: the kept
// columns first, then "score" (float32) and "is_anomaly" (bool);
// [ScoreWriter] does the same a batch at a time. The format
// is chosen by the caller, usually with [FormatForPath]. CSV floats are
// written in the shortest form that reads back to the same float32.
//
// [Digest] computes the size and SHA-256 of a file, for provenance records.
package parquet
