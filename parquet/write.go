package parquet

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Format is an output file format for WriteScores, and a format of a
// stream read by ReadStream.
type Format int

const (
	// Parquet writes a Snappy-compressed Parquet file.
	Parquet Format = iota
	// CSV writes comma-separated values with a header row.
	CSV
	// Arrow writes an Arrow IPC stream (the streaming format, not the
	// file format): one record batch per batch of rows, uncompressed.
	Arrow
)

// formatNames are the formats' names, as String gives them and
// ParseFormat reads them.
var formatNames = [...]string{Parquet: "parquet", CSV: "csv", Arrow: "arrow"}

// String returns "parquet", "csv" or "arrow".
func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// FormatNames lists the formats' names, for a usage message.
func FormatNames() []string { return formatNames[:] }

// ParseFormat returns the format named name (see Format.String, any
// case). An unknown name is an error wrapping [ErrUsage] that lists the
// names.
func ParseFormat(name string) (Format, error) {
	for f, n := range formatNames {
		if strings.EqualFold(name, n) {
			return Format(f), nil
		}
	}
	return 0, usageError("unknown format %q; want one of %s", name, strings.Join(formatNames[:], ", "))
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
// then ScoreColumn and AnomalyColumn. It does not close w. It is a
// ScoreWriter given all rows at once.
//
// score and isAnomaly must have the same length, and kept must not contain
// a column named like the two score columns; violations are errors wrapping
// [ErrUsage].
func WriteScores(w io.Writer, format Format, kept arrow.Table, score []float32, isAnomaly []bool) error {
	var fields []arrow.Field
	var arrays []arrow.Array
	if kept != nil {
		if kept.NumRows() != int64(len(score)) {
			return usageError("write scores: the kept columns have %d rows but there are %d scores; both need one entry per input row", kept.NumRows(), len(score))
		}
		for i := 0; i < int(kept.NumCols()); i++ {
			c := kept.Column(i)
			fields = append(fields, c.Field())
			if chunks := c.Data().Chunks(); len(chunks) > 0 {
				arrays = append(arrays, single(chunks))
			} else {
				arrays = append(arrays, array.MakeArrayOfNull(memory.DefaultAllocator, c.DataType(), 0))
			}
		}
	}
	sw, err := NewScoreWriter(w, format, fields)
	if err != nil {
		return err
	}
	if err := sw.Write(arrays, score, isAnomaly); err != nil {
		return err
	}
	return sw.Close()
}

// ScoreWriter writes a score file a batch of rows at a time: per row the
// kept columns, then ScoreColumn and AnomalyColumn. Parquet output gets
// row groups of up to 128 Ki rows whatever the batches' sizes. A writer
// closed without any rows still writes a whole file: the header (CSV) or
// the schema (Parquet), with no rows.
type ScoreWriter struct {
	format Format
	layout ScoreLayout
	kept   []arrow.Field
	// CSV
	w     io.Writer // under csv, for WriteEncoded
	csv   *csv.Writer
	width int // fields of a record
	// Parquet and Arrow
	pq     *pqarrow.FileWriter
	ipc    *ipc.Writer
	schema *arrow.Schema
	conv   []keptConverter // per kept column; nil entries write as they are
}

// NewScoreWriter starts a score file on w with the given kept columns. It
// does not close w. A kept column that the format cannot carry faithfully
// (see [CheckKeptFields]) is an error wrapping [ErrBadInput], found
// before anything is written.
//
// In Parquet, each kept column keeps its logical type: timestamps without
// a time zone are written as local (isAdjustedToUTC = false), those with
// one as instants in UTC; decimals keep precision and scale; unsigned
// integers are written as unsigned (so their statistics order unsigned);
// UUIDs (the arrow.uuid extension) as UUID; intervals as INTERVAL; string
// and binary views as large strings and binaries. The Arrow schema is
// stored in the file too, so Arrow readers get the exact types back. An
// Arrow stream carries every kept column with its type unchanged.
func NewScoreWriter(w io.Writer, format Format, kept []arrow.Field) (*ScoreWriter, error) {
	return NewScoreWriterLayout(w, format, kept, ScoreLayout{})
}

// NewScoreWriterLayout is NewScoreWriter for a score file with the
// optional columns layout names after score and is_anomaly (see
// ScoreLayout); a kept column named like any output column is refused.
func NewScoreWriterLayout(w io.Writer, format Format, kept []arrow.Field, layout ScoreLayout) (*ScoreWriter, error) {
	if format != CSV && format != Parquet && format != Arrow {
		return nil, usageError("write scores: unknown format %v", format)
	}
	outputs := layout.outputFields(format)
	fields, conv, err := planKeptFields(kept, format, outputs)
	if err != nil {
		return nil, err
	}
	sw := &ScoreWriter{format: format, layout: layout, kept: kept, conv: conv}
	if format == CSV {
		sw.w, sw.csv = w, csv.NewWriter(w)
		header := make([]string, 0, len(kept)+len(outputs))
		for _, f := range kept {
			header = append(header, f.Name)
		}
		for _, f := range outputs {
			header = append(header, f.Name)
		}
		if err := sw.csv.Write(header); err != nil {
			return nil, fmt.Errorf("write scores: %w", err)
		}
		sw.width = len(header)
		return sw, nil
	}
	fields = append(fields, outputs...)
	mem := memory.DefaultAllocator
	if format == Arrow {
		// The schema goes out with the first batch, or at Close.
		sw.schema = arrow.NewSchema(fields, nil)
		sw.ipc = ipc.NewWriter(w, ipc.WithSchema(sw.schema), ipc.WithAllocator(mem))
		return sw, nil
	}
	stored, err := storedSchemaMetadata(fields)
	if err != nil {
		return nil, fmt.Errorf("write scores: %w", err)
	}
	sw.schema = arrow.NewSchema(fields, &stored)
	// No dictionaries: scores rarely repeat, and hashing every one to find
	// out cost a tenth of a large scoring run. The root is REQUIRED, as the
	// format specifies; arrow-go's default (REPEATED) was seen to make
	// hyparquet throw or read nulls and wrong values.
	props := pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Snappy), pq.WithAllocator(mem),
		pq.WithMaxRowGroupLength(scoreRowGroupRows), pq.WithDictionaryDefault(false),
		pq.WithRootRepetition(pq.Repetitions.Required))
	arrProps := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem))
	fw, err := pqarrow.NewFileWriter(sw.schema, writerOnly{w}, props, arrProps)
	if err != nil {
		return nil, fmt.Errorf("write scores: %w", err)
	}
	sw.pq = fw
	return sw, nil
}

// Write appends rows: kept holds one array per kept column, each with
// len(score) rows, and isAnomaly one flag per score. It is WriteRows
// without the optional columns' values.
func (sw *ScoreWriter) Write(kept []arrow.Array, score []float32, isAnomaly []bool) error {
	return sw.WriteRows(kept, ScoreRows{Score: score, IsAnomaly: isAnomaly})
}

// WriteRows appends rows: kept holds one array per kept column, each with
// as many rows as rows.Score, and rows the computed columns, the optional
// ones as the writer's layout has them. It is Encode and WriteEncoded in
// one.
func (sw *ScoreWriter) WriteRows(kept []arrow.Array, rows ScoreRows) error {
	var e Encoded
	defer e.Release()
	if err := sw.Encode(&e, kept, rows); err != nil {
		return err
	}
	return sw.WriteEncoded(&e)
}

// check refuses rows that do not fit the writer: the optional columns not
// as its layout has them, kept columns of other counts or types.
func (sw *ScoreWriter) check(kept []arrow.Array, rows ScoreRows) error {
	if err := rows.check(sw.layout); err != nil {
		return err
	}
	if len(kept) != len(sw.kept) {
		return usageError("write scores: %d kept columns, the writer was started with %d", len(kept), len(sw.kept))
	}
	for i, a := range kept {
		if a.Len() != len(rows.Score) {
			return usageError("write scores: the kept column %q has %d rows but there are %d scores; both need one entry per input row", sw.kept[i].Name, a.Len(), len(rows.Score))
		}
		if !arrow.TypeEqual(a.DataType(), sw.kept[i].Type) {
			return usageError("write scores: the kept column %q holds %s, the writer was started with %s", sw.kept[i].Name, typeName(a.DataType()), typeName(sw.kept[i].Type))
		}
	}
	return nil
}

// Encoded is a batch of rows made ready to write (see ScoreWriter.Encode):
// the CSV text of the rows, or the Arrow record written as Parquet or as
// an Arrow record batch.
type Encoded struct {
	text []byte
	rec  arrow.Record
}

// Encode makes rows ready to write into dst (reusing its buffers): the
// work of WriteRows that does not touch the output (the CSV text, the
// Arrow arrays and kept columns' conversions), so that a caller can
// encode batches on several goroutines and write them in order with
// WriteEncoded. Unlike the other methods it may run on any goroutine, at
// the same time as other calls. Its errors are those of WriteRows.
func (sw *ScoreWriter) Encode(dst *Encoded, kept []arrow.Array, rows ScoreRows) error {
	if err := sw.check(kept, rows); err != nil {
		return err
	}
	dst.Release()
	if sw.csv == nil {
		rec, err := sw.record(kept, rows)
		dst.rec = rec
		return err
	}
	buf := bytes.NewBuffer(dst.text[:0])
	cw := csv.NewWriter(buf)
	if err := encodeCSV(cw, make([]string, sw.width), sw.layout, kept, rows); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	dst.text = buf.Bytes()
	return nil
}

// Release lets go of the Arrow record an Encoded holds; its text buffer
// stays for reuse.
func (e *Encoded) Release() {
	if e.rec != nil {
		e.rec.Release()
		e.rec = nil
	}
}

// WriteEncoded writes rows that Encode made ready, after the rows written
// so far.
func (sw *ScoreWriter) WriteEncoded(e *Encoded) error {
	if sw.csv == nil {
		if e.rec == nil {
			return usageError("write scores: nothing encoded to write")
		}
		return sw.writeRecord(e.rec)
	}
	sw.csv.Flush() // the header
	if err := sw.csv.Error(); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	if _, err := sw.w.Write(e.text); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	return nil
}

// Close finishes the file (the Parquet footer, the CSV buffer, the Arrow
// stream's end-of-stream marker); it does not close the underlying writer.
func (sw *ScoreWriter) Close() error {
	if sw.csv != nil {
		sw.csv.Flush()
		if err := sw.csv.Error(); err != nil {
			return fmt.Errorf("write scores: %w", err)
		}
		return nil
	}
	if sw.ipc != nil {
		if err := sw.ipc.Close(); err != nil {
			return fmt.Errorf("write scores: %w", err)
		}
		return nil
	}
	if err := sw.pq.Close(); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	return nil
}

// encodeCSV writes rows to cw, with rec as the buffer of one record.
func encodeCSV(cw *csv.Writer, rec []string, layout ScoreLayout, kept []arrow.Array, rows ScoreRows) error {
	formats := make([]func(int) string, len(kept))
	for i, a := range kept {
		formats[i] = formatter(a)
	}
	for r := range rows.Score {
		for i, f := range formats {
			rec[i] = f(r)
		}
		rec[len(kept)] = formatFloat32(rows.Score[r])
		rec[len(kept)+1] = strconv.FormatBool(rows.IsAnomaly[r])
		rows.csvOptional(layout, r, rec[:len(kept)+2])
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write scores: %w", err)
		}
	}
	return nil
}

// writerOnly hides any Close method, so the Parquet writer leaves the
// caller's writer open.
type writerOnly struct{ io.Writer }

// record builds the Arrow record of rows: the kept columns (converted
// where Parquet needs it), score, is_anomaly and the optional columns.
func (sw *ScoreWriter) record(kept []arrow.Array, rows ScoreRows) (arrow.Record, error) {
	mem := memory.DefaultAllocator
	sb := array.NewFloat32Builder(mem)
	defer sb.Release()
	sb.AppendValues(rows.Score, nil)
	scoreArr := sb.NewArray()
	defer scoreArr.Release()

	bb := array.NewBooleanBuilder(mem)
	defer bb.Release()
	bb.AppendValues(rows.IsAnomaly, nil)
	flagArr := bb.NewArray()
	defer flagArr.Release()

	cols := make([]arrow.Array, 0, len(kept)+2)
	for i, a := range kept {
		if conv := sw.conv[i]; conv != nil {
			c, err := conv(a)
			if err != nil {
				return nil, fmt.Errorf("write scores: kept column %q: %w", sw.kept[i].Name, err)
			}
			defer c.Release()
			a = c
		}
		cols = append(cols, a)
	}
	cols = append(cols, scoreArr, flagArr)
	optional := rows.parquetOptional(sw.layout)
	for _, a := range optional {
		defer a.Release()
	}
	cols = append(cols, optional...)
	return array.NewRecord(sw.schema, cols, int64(len(rows.Score))), nil
}

// writeRecord writes a record of rows: Parquet buffers it into row
// groups, Arrow writes it as one record batch.
func (sw *ScoreWriter) writeRecord(rec arrow.Record) error {
	if sw.ipc != nil {
		if err := sw.ipc.Write(rec); err != nil {
			return fmt.Errorf("write scores: %w", err)
		}
		return nil
	}
	if err := sw.pq.WriteBuffered(rec); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	return nil
}
