package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/vaejob/vaejob/parquet"
)

// writeScoreInput writes n rows of features a and b and a string id
// ("r<i>") as Parquet, with rowGroup rows per row group; a row's features
// are (i mod 7, i mod 5) / 10.
func writeScoreInput(t *testing.T, path string, n, rowGroup int, idType arrow.DataType) {
	t.Helper()
	mem := memory.DefaultAllocator
	ab, bb := array.NewFloat64Builder(mem), array.NewFloat64Builder(mem)
	ib := array.NewBuilder(mem, idType)
	for i := range n {
		ab.Append(float64(i%7) / 10)
		bb.Append(float64(i%5) / 10)
		switch b := ib.(type) {
		case *array.StringBuilder:
			b.Append(fmt.Sprintf("r%d", i))
		case *array.Int64Builder:
			b.Append(int64(i))
		case *array.Decimal128Builder:
			b.Append(decimal128.FromI64(decimalID(i)))
		}
	}
	fields := []arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Float64}, {Name: "b", Type: arrow.PrimitiveTypes.Float64}, {Name: "id", Type: idType}}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), []arrow.Array{ab.NewArray(), bb.NewArray(), ib.NewArray()}, int64(n))
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pqarrow.WriteTable(tbl, f, int64(rowGroup), pq.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

// TestScoreStreams scores a table of several row groups, larger than one
// streamed batch, and checks every output row against the model's Go
// scorer, in input order; a cancelled run and a failing one leave nothing.
func TestScoreStreams(t *testing.T) {
	dir := t.TempDir()
	m := centreModel([]string{"a", "b"}, 0.3, 0.05)
	model := writeModelFile(t, filepath.Join(dir, "model.onnx"), m)
	const n = 70_000
	input := filepath.Join(dir, "in.parquet")
	writeScoreInput(t, input, n, 50_000, arrow.BinaryTypes.String)

	out := filepath.Join(dir, "scores.csv")
	res, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: out, Keep: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	recs := readCSVFile(t, out)
	if len(recs) != n+1 || res.Rows != n {
		t.Fatalf("%d output rows, result says %d; want %d", len(recs)-1, res.Rows, n)
	}
	anomalies := 0
	for i, r := range recs[1:] {
		x := []float32{float32(i%7) / 10, float32(i%5) / 10}
		want := m.ScoreRows(x)[0]
		got, err := strconv.ParseFloat(r[1], 32)
		if r[0] != fmt.Sprintf("r%d", i) || err != nil || float32(got) != want || r[2] != strconv.FormatBool(want > m.Threshold) {
			t.Fatalf("row %d = %q, want id r%d, score %v", i, r, i, want)
		}
		if want > m.Threshold {
			anomalies++
		}
	}
	if res.Anomalies != anomalies {
		t.Errorf("result counts %d anomalies, the rows %d", res.Anomalies, anomalies)
	}

	// Cancelled: an error, no output, no temporary file.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cancelled := filepath.Join(dir, "cancelled.parquet")
	if _, err := Score(ctx, ScoreOptions{Model: model, Input: input, Output: cancelled}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	// Cancelled after the last batch went out: still an error and no
	// output (the context reads as live for the two batches' checks).
	late := &lateCancel{Context: context.Background(), live: 2}
	if _, err := Score(late, ScoreOptions{Model: model, Input: input, Output: cancelled}); !errors.Is(err, context.Canceled) || late.calls.Load() <= 2 {
		t.Errorf("cancelled after the last batch: %v after %d checks", err, late.calls.Load())
	}
	// A folder whose second file changes the kept column's type fails
	// after the first file's rows were scored.
	mixed := filepath.Join(dir, "mixed")
	if err := os.Mkdir(mixed, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScoreInput(t, filepath.Join(mixed, "1.parquet"), 100, 50, arrow.BinaryTypes.String)
	writeScoreInput(t, filepath.Join(mixed, "2.parquet"), 100, 50, arrow.PrimitiveTypes.Int64)
	failed := filepath.Join(dir, "failed.csv")
	if _, err := Score(context.Background(), ScoreOptions{Model: model, Input: mixed, Output: failed, Keep: []string{"id"}}); !errors.Is(err, ErrBadInput) {
		t.Errorf("kept column changing type: %v, want ErrBadInput", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := e.Name(); name != "model.onnx" && name != "in.parquet" && name != "scores.csv" && name != "mixed" {
			t.Errorf("left behind: %s", name)
		}
	}
}

// lateCancel is a context that reads as cancelled from its live+1st Err
// call on.
type lateCancel struct {
	context.Context
	live  int32
	calls atomic.Int32
}

func (c *lateCancel) Err() error {
	if c.calls.Add(1) > c.live {
		return context.Canceled
	}
	return nil
}

// TestScoreKeptTypeByFormat: a kept column Parquet cannot carry (a
// duration: Parquet has no such type) is bad input naming the flag, the
// column and its type, and no output is written; CSV, which prints any
// value it can print exactly, writes it as text.
func TestScoreKeptTypeByFormat(t *testing.T) {
	dir := t.TempDir()
	model := writeCentreModel(t, dir)
	// Arrow IPC: Parquet writers have no duration type either.
	mem := memory.DefaultAllocator
	ab, db := array.NewFloat64Builder(mem), array.NewDurationBuilder(mem, arrow.FixedWidthTypes.Duration_ms.(*arrow.DurationType))
	for i := range 10 {
		ab.Append(float64(i) / 10)
		db.Append(arrow.Duration(i))
	}
	a := ab.NewArray()
	sc := arrow.NewSchema([]arrow.Field{{Name: "a", Type: a.DataType()}, {Name: "b", Type: a.DataType()}, {Name: "id", Type: arrow.FixedWidthTypes.Duration_ms}}, nil)
	rec := array.NewRecord(sc, []arrow.Array{a, a, db.NewArray()}, 10)
	input := filepath.Join(dir, "in.arrow")
	f, err := os.Create(input)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(sc))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "scores.parquet")
	_, err = Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: out, Keep: []string{"id"}})
	if !errors.Is(err, ErrBadInput) {
		t.Fatalf("err = %v, want ErrBadInput", err)
	}
	for _, want := range []string{"--keep-columns", `"id"`, "duration", "write the score file as CSV"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output left behind (%v)", err)
	}

	out = filepath.Join(dir, "scores.csv")
	if _, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: out, Keep: []string{"id"}}); err != nil {
		t.Fatalf("CSV: %v", err)
	}
	recs := readCSVFile(t, out)
	if len(recs) != 11 || recs[0][0] != "id" || recs[1][0] != "0ms" || recs[10][0] != "9ms" {
		t.Errorf("CSV %q, want the durations 0ms..9ms in column id", recs)
	}
}

// TestScoreEmptyInput: an input with no rows (a quiet hour's partition)
// writes an output with the kept columns, score and is_anomaly, and no
// rows, and succeeds.
func TestScoreEmptyInput(t *testing.T) {
	dir := t.TempDir()
	model := writeCentreModel(t, dir)
	input := filepath.Join(dir, "empty.parquet")
	writeScoreInput(t, input, 0, 50, arrow.PrimitiveTypes.Int64)

	out := filepath.Join(dir, "scores.parquet")
	res, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: out, Keep: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 0 {
		t.Errorf("%d rows scored, want 0", res.Rows)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range sc.Fields() {
		got = append(got, f.Name+" "+f.Type.String())
	}
	if want := []string{"id int64", "score float32", "is_anomaly bool", "tail_probability float32"}; strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("columns %q, want %q", got, want)
	}
	if pf.NumRows() != 0 {
		t.Errorf("%d rows, want 0", pf.NumRows())
	}

	csvOut := filepath.Join(dir, "scores.csv")
	if _, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: csvOut, Keep: []string{"id"}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(csvOut)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "id,score,is_anomaly,tail_probability\n"; got != want {
		t.Errorf("CSV %q, want %q", got, want)
	}
}

// decimalID is the unscaled id of row i in a decimal id column: with scale
// 6, row 462 has the id 1000462.000462.
func decimalID(i int) int64 { return 1_000_000_000_000 + int64(i)*1_000_001 }

// TestScoreDecimalIDs: a DECIMAL(38,6) id column read from Parquet comes
// out as its exact decimal text in CSV and as DECIMAL(38,6) in Parquet.
func TestScoreDecimalIDs(t *testing.T) {
	dir := t.TempDir()
	model := writeCentreModel(t, dir)
	dec := &arrow.Decimal128Type{Precision: 38, Scale: 6}
	input := filepath.Join(dir, "in.parquet")
	const n = 1000
	writeScoreInput(t, input, n, 300, dec)

	csvOut := filepath.Join(dir, "scores.csv")
	if _, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: csvOut, Keep: []string{"id"}}); err != nil {
		t.Fatal(err)
	}
	recs := readCSVFile(t, csvOut)
	if len(recs) != n+1 {
		t.Fatalf("%d rows, want %d", len(recs)-1, n)
	}
	for i, r := range recs[1:] {
		v := decimalID(i)
		if want := fmt.Sprintf("%d.%06d", v/1_000_000, v%1_000_000); r[0] != want {
			t.Fatalf("row %d: id %q, want %q", i, r[0], want)
		}
	}
	if got := recs[463][0]; got != "1000462.000462" {
		t.Errorf("row 462: id %q, want 1000462.000462", got)
	}

	pqOut := filepath.Join(dir, "scores.parquet")
	if _, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: pqOut, Keep: []string{"id"}}); err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(pqOut, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if lt := pf.MetaData().Schema.Column(0).LogicalType(); lt.String() != "Decimal(precision=38, scale=6)" {
		t.Errorf("id column: logical type %s, want Decimal(precision=38, scale=6)", lt)
	}
}

// TestScoreSameBytesOnAnyCores: the score file's bytes do not depend on
// how many workers score the batches (GOMAXPROCS 1, 2 and 5), with and
// without explanations, over many small row groups so that batches are
// scored out of order.
func TestScoreSameBytesOnAnyCores(t *testing.T) {
	dir := t.TempDir()
	m := centreModel([]string{"a", "b"}, 0.3, 0.05)
	model := writeModelFile(t, filepath.Join(dir, "model.onnx"), m)
	input := filepath.Join(dir, "in.parquet")
	writeScoreInput(t, input, 20_000, 700, arrow.BinaryTypes.String)
	for _, explain := range []int{0, 2} {
		for _, ext := range []string{".parquet", ".csv"} {
			var first []byte
			for _, procs := range []int{1, 2, 5} {
				out := filepath.Join(dir, fmt.Sprintf("scores-%d-%d%s", explain, procs, ext))
				prev := runtime.GOMAXPROCS(procs)
				_, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: out, Keep: []string{"id"}, Explain: explain})
				runtime.GOMAXPROCS(prev)
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = b
				} else if !bytes.Equal(b, first) {
					t.Errorf("--explain %d, %s: GOMAXPROCS %d wrote other bytes than GOMAXPROCS 1", explain, ext, procs)
				}
			}
		}
	}
}

// writeIntervalIPC writes an Arrow IPC file of features a and b and a kept
// column "span" in batches of 100 rows: month-day-nano intervals, with
// bad (negative) at that row, or strings when asText.
func writeIntervalIPC(t *testing.T, path string, rows, bad int, asText bool) {
	t.Helper()
	spanType := arrow.DataType(arrow.FixedWidthTypes.MonthDayNanoInterval)
	if asText {
		spanType = arrow.BinaryTypes.String
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Float64}, {Name: "b", Type: arrow.PrimitiveTypes.Float64}, {Name: "span", Type: spanType},
	}, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < rows; lo += 100 {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := lo; i < min(rows, lo+100); i++ {
			b.Field(0).(*array.Float64Builder).Append(float64(i%7) / 10)
			b.Field(1).(*array.Float64Builder).Append(float64(i%5) / 10)
			switch sb := b.Field(2).(type) {
			case *array.StringBuilder:
				sb.Append("1 day")
			case *array.MonthDayNanoIntervalBuilder:
				days := int32(1)
				if i == bad {
					days = -1
				}
				sb.Append(arrow.MonthDayNanoInterval{Days: days})
			}
		}
		rec := b.NewRecord()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestScoreFirstErrorInOrder: when a batch fails to be written (a kept
// interval Parquet cannot hold) and a later one fails to be read (the
// next file changes the kept column's type), the error is the earlier
// batch's, on any number of workers, and nothing is written.
func TestScoreFirstErrorInOrder(t *testing.T) {
	dir := t.TempDir()
	model := writeModelFile(t, filepath.Join(dir, "model.onnx"), centreModel([]string{"a", "b"}, 0.3, 0.05))
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	writeIntervalIPC(t, filepath.Join(in, "1.arrow"), 200, 150, false) // the bad row in the last batch before the drift
	writeIntervalIPC(t, filepath.Join(in, "2.arrow"), 100, -1, true)
	out := filepath.Join(dir, "scores.parquet")
	for _, procs := range []int{1, 2, 4} {
		prev := runtime.GOMAXPROCS(procs)
		_, err := Score(context.Background(), ScoreOptions{Model: model, Input: in, Output: out, Keep: []string{"span"}})
		runtime.GOMAXPROCS(prev)
		if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "cannot be written as a Parquet INTERVAL") {
			t.Errorf("GOMAXPROCS %d: %v; want the bad interval's error, the first in input order", procs, err)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("GOMAXPROCS %d: a failed run left its output: %v", procs, err)
		}
	}
}

// TestScoreCorruptBatchIsBadInput: a batch whose conversion panics on a
// worker (an Arrow IPC file whose dictionary indices point past its
// dictionary, which arrow-go does not check when it decodes) is bad input
// saying the file is corrupt, not a crash, and nothing is written.
func TestScoreCorruptBatchIsBadInput(t *testing.T) {
	dir := t.TempDir()
	model := writeModelFile(t, filepath.Join(dir, "model.onnx"), centreModel([]string{"a", "b"}, 0.3, 0.05))
	mem := memory.DefaultAllocator
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.PrimitiveTypes.Float64}
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: dictType}, {Name: "b", Type: arrow.PrimitiveTypes.Float64}}, nil)
	ib, vb, bb := array.NewInt32Builder(mem), array.NewFloat64Builder(mem), array.NewFloat64Builder(mem)
	ib.AppendValues([]int32{0, 1_000_000}, nil)
	vb.Append(0.5)
	bb.AppendValues([]float64{0.1, 0.2}, nil)
	dict := array.NewDictionaryArray(dictType, ib.NewArray(), vb.NewArray())
	rec := array.NewRecord(schema, []arrow.Array{dict, bb.NewArray()}, 2)
	input := filepath.Join(dir, "corrupt.arrow")
	f, err := os.Create(input)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(w.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "scores.parquet")
	_, err = Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: out})
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "the file is corrupt (converting a batch failed") {
		t.Errorf("got %v, want bad input saying the file is corrupt", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed run left its output: %v", err)
	}
}

// TestScoreArrowOutputExplained: an Arrow stream on standard output has
// the columns of the Parquet output, the explanation's five lists
// included, and the same rows.
func TestScoreArrowOutputExplained(t *testing.T) {
	dir := t.TempDir()
	m := centreModel([]string{"a", "b"}, 0.3, 0.05)
	model := writeModelFile(t, filepath.Join(dir, "model.onnx"), m)
	input := filepath.Join(dir, "in.parquet")
	writeScoreInput(t, input, 3000, 1000, arrow.BinaryTypes.String)
	var stdout bytes.Buffer
	res, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: "-", Stdout: &stdout, Keep: []string{"id"}, Explain: 2})
	if err != nil || res.Rows != 3000 {
		t.Fatalf("%v, %+v", err, res)
	}
	r, err := ipc.NewReader(&stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var names []string
	for _, f := range r.Schema().Fields() {
		names = append(names, f.Name)
	}
	want := []string{"id", "score", "is_anomaly", "tail_probability", "explain_feature", "explain_share", "explain_value", "explain_expected", "explain_imputed"}
	if !slices.Equal(names, want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	row := 0
	for r.Next() {
		rec := r.Record()
		ids, scores := rec.Column(0).(*array.String), rec.Column(1).(*array.Float32)
		features := rec.Column(4).(*array.List)
		for i := range int(rec.NumRows()) {
			x := []float32{float32(row%7) / 10, float32(row%5) / 10}
			if ids.Value(i) != fmt.Sprintf("r%d", row) || scores.Value(i) != m.ScoreRows(x)[0] {
				t.Fatalf("row %d: %s scores %v, want r%d scoring %v", row, ids.Value(i), scores.Value(i), row, m.ScoreRows(x)[0])
			}
			if lo, hi := features.ValueOffsets(i); hi-lo != 2 {
				t.Fatalf("row %d explains %d features, want 2", row, hi-lo)
			}
			row++
		}
	}
	if r.Err() != nil || row != 3000 {
		t.Errorf("%d rows read back: %v", row, r.Err())
	}
}

// boundWriter is the output of TestScorePipelineBound: at each write it
// checks that the reader has handed out at most inFlight batches beyond
// those written, and at the first it waits until the reader has handed
// out inFlight+1 (all it can while nothing is written).
type boundWriter struct {
	t        *testing.T
	offered  *atomic.Int64
	reached  <-chan struct{}
	inFlight int64
	writes   int64 // the header's and each batch's
}

func (w *boundWriter) Write(p []byte) (int, error) {
	if w.writes == 0 {
		<-w.reached
	}
	// Batch k (from 0) is written at write k+1 at the latest (the header
	// comes first); batches before it have given their buffers back.
	if got := w.offered.Load(); got > w.writes+w.inFlight+1 {
		w.t.Errorf("write %d: the reader handed out %d batches, want at most %d", w.writes, got, w.writes+w.inFlight+1)
	}
	w.writes++
	return len(p), nil
}

// TestScorePipelineBound: memory holds a few batches, not the table: the
// reader waits for a batch's buffers once batchesPerWorker batches per
// worker are scored or being scored and not yet written, however far
// behind the writer is.
func TestScorePipelineBound(t *testing.T) {
	const procs = 2
	prev := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(prev)
	inFlight := batchesPerWorker * procs
	n := 20 * inFlight

	// An Arrow IPC stream of n one-row record batches: one batch each.
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Float64}, {Name: "b", Type: arrow.PrimitiveTypes.Float64}}, nil)
	var stream bytes.Buffer
	iw := ipc.NewWriter(&stream, ipc.WithSchema(schema))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for i := range n {
		b.Field(0).(*array.Float64Builder).Append(float64(i))
		b.Field(1).(*array.Float64Builder).Append(0.5)
		rec := b.NewRecordBatch()
		if err := iw.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	b.Release()
	if err := iw.Close(); err != nil {
		t.Fatal(err)
	}

	m := centreModel([]string{"a", "b"}, 0.3, 0.05)
	ctx := context.Background()
	s := &scoreStream{ctx: ctx, m: m, format: parquet.CSV, layout: parquet.ScoreLayout{Tail: true}, tail: tailReaderOf(m)}
	var offered atomic.Int64
	reached := make(chan struct{})
	read := func(each func(*parquet.Batch) error) (*parquet.Table, error) {
		return parquet.ReadStream(ctx, &stream, parquet.Arrow, parquet.Selection{Features: m.Features}, func(b *parquet.Batch) error {
			if offered.Add(1) == int64(inFlight)+1 {
				close(reached)
			}
			return each(b)
		})
	}
	w := &boundWriter{t: t, offered: &offered, reached: reached, inFlight: int64(inFlight)}
	if err := s.run(read, w); err != nil {
		t.Fatal(err)
	}
	if s.res.Rows != n || offered.Load() != int64(n) {
		t.Errorf("%d rows scored of %d batches handed out, want %d of %d", s.res.Rows, offered.Load(), n, n)
	}
}
