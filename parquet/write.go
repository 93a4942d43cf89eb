package parquet

import (
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	pq "github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// Format is an output file format for WriteScores.
type Format int

const (
	// Parquet writes a Snappy-compressed Parquet file.
	Parquet Format = iota
	// CSV writes comma-separated values with a header row.
	CSV
)

// String returns "parquet" or "csv".
func (f Format) String() string {
	switch f {
	case Parquet:
		return "parquet"
	case CSV:
		return "csv"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// FormatForPath picks the output format from a file name: CSV for a ".csv"
// extension (any case), Parquet otherwise.
func FormatForPath(path string) Format {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return CSV
	}
	return Parquet
}

// Names of the columns WriteScores appends after the kept columns.
const (
	ScoreColumn   = "score"      // float32 anomaly score
	AnomalyColumn = "is_anomaly" // bool, true when the row is flagged
)

// scoreRowGroupRows is the row group size of Parquet score files.
const scoreRowGroupRows = 128 * 1024

// WriteScores writes one row per input row, in input order: the columns of
// kept first (may be nil for none, otherwise it must have len(score) rows),
// then ScoreColumn and AnomalyColumn. It does not close w.
//
// score and isAnomaly must have the same length, and kept must not contain
// a column named like the two score columns; violations are errors wrapping
// [ErrUsage].
func WriteScores(w io.Writer, format Format, kept arrow.Table, score []float32, isAnomaly []bool) error {
	if len(score) != len(isAnomaly) {
		return usageError("write scores: %d scores but %d anomaly flags; both need one entry per row", len(score), len(isAnomaly))
	}
	var fields []arrow.Field
	var cols []*arrow.Chunked
	if kept != nil {
		if kept.NumRows() != int64(len(score)) {
			return usageError("write scores: the kept columns have %d rows but there are %d scores; both need one entry per input row", kept.NumRows(), len(score))
		}
		for i := 0; i < int(kept.NumCols()); i++ {
			c := kept.Column(i)
			if c.Name() == ScoreColumn || c.Name() == AnomalyColumn {
				return usageError("write scores: kept column %q clashes with the output column of the same name; do not keep it, or rename it in the input", c.Name())
			}
			fields = append(fields, c.Field())
			cols = append(cols, c.Data())
		}
	}
	switch format {
	case CSV:
		return writeCSV(w, fields, cols, score, isAnomaly)
	case Parquet:
		return writeParquet(w, fields, cols, score, isAnomaly)
	}
	return usageError("write scores: unknown format %v", format)
}

// writeCSV writes the score table as CSV with a header row.
func writeCSV(w io.Writer, fields []arrow.Field, cols []*arrow.Chunked, score []float32, isAnomaly []bool) error {
	cw := csv.NewWriter(w)
	header := make([]string, 0, len(fields)+2)
	for _, f := range fields {
		header = append(header, f.Name)
	}
	header = append(header, ScoreColumn, AnomalyColumn)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}

	// One cursor per kept column walks its chunks in step with the rows.
	type cursor struct {
		chunks []arrow.Array
		chunk  int
		off    int
		format func(int) string
	}
	curs := make([]cursor, len(cols))
	for i, c := range cols {
		curs[i].chunks = c.Chunks()
		curs[i].chunk = -1
	}
	rec := make([]string, len(header))
	for r := range score {
		for i := range curs {
			c := &curs[i]
			for c.chunk < 0 || c.off >= c.chunks[c.chunk].Len() {
				c.chunk++
				c.off = 0
				c.format = formatter(c.chunks[c.chunk])
			}
			rec[i] = c.format(c.off)
			c.off++
		}
		rec[len(cols)] = strconv.FormatFloat(float64(score[r]), 'g', -1, 32)
		rec[len(cols)+1] = strconv.FormatBool(isAnomaly[r])
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write scores: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	return nil
}

// writerOnly hides any Close method, so the Parquet writer leaves the
// caller's writer open.
type writerOnly struct{ io.Writer }

// writeParquet writes the score table as Parquet.
func writeParquet(w io.Writer, fields []arrow.Field, cols []*arrow.Chunked, score []float32, isAnomaly []bool) error {
	mem := memory.DefaultAllocator
	sb := array.NewFloat32Builder(mem)
	defer sb.Release()
	sb.AppendValues(score, nil)
	scoreArr := sb.NewArray()
	defer scoreArr.Release()

	bb := array.NewBooleanBuilder(mem)
	defer bb.Release()
	bb.AppendValues(isAnomaly, nil)
	flagArr := bb.NewArray()
	defer flagArr.Release()

	fields = append(fields,
		arrow.Field{Name: ScoreColumn, Type: arrow.PrimitiveTypes.Float32},
		arrow.Field{Name: AnomalyColumn, Type: arrow.FixedWidthTypes.Boolean},
	)
	columns := make([]arrow.Column, 0, len(fields))
	for i, c := range cols {
		columns = append(columns, *arrow.NewColumn(fields[i], c))
	}
	for i, a := range []arrow.Array{scoreArr, flagArr} {
		ch := arrow.NewChunked(a.DataType(), []arrow.Array{a})
		columns = append(columns, *arrow.NewColumn(fields[len(cols)+i], ch))
		ch.Release()
	}
	tbl := array.NewTable(arrow.NewSchema(fields, nil), columns, int64(len(score)))
	defer tbl.Release()

	props := pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Snappy), pq.WithAllocator(mem))
	arrProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem))
	if err := pqarrow.WriteTable(tbl, writerOnly{w}, scoreRowGroupRows, props, arrProps); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	return nil
}
