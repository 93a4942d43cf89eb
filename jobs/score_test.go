package jobs

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/vaejob/vaejob/onnx"
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
	data, err := onnx.Encode(m, onnx.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(model, data, 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 70_000
	input := filepath.Join(dir, "in.parquet")
	writeScoreInput(t, input, n, 50_000, arrow.BinaryTypes.String)

	out := filepath.Join(dir, "scores.csv")
	res, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: out, Keep: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
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
