package parquet

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// scoreFixture reads a table with kept columns id (int64), name (string,
// with CSV-hostile values) and w (float64 with a null) across several row
// groups, and returns it with scores for its rows.
func scoreFixture(t *testing.T) (*Table, []float32, []bool) {
	t.Helper()
	ids := []int64{7, -1, 1 << 53, 0, 42}
	names := []string{"plain", `has,comma`, `has "quotes"`, "line\nbreak", ""}
	path := writeFixture(t, "in.parquet", 2,
		col{"id", i64s(ids)},
		col{"name", strs(names)},
		col{"w", f64s([]float64{0.1, 0, 2.5, 1e-300, -3}, 1)},
		col{"f", f32s([]float32{1, 2, 3, 4, 5})},
	)
	tb, err := ReadTable(context.Background(), path, Selection{Features: []string{"f"}, Keep: []string{"id", "name", "w"}})
	if err != nil {
		t.Fatal(err)
	}
	score := []float32{0.1, float32(math.Pi), 1e-30, 3.4028235e38, 0}
	flags := []bool{false, true, false, true, false}
	return tb, score, flags
}

func TestWriteScoresCSV(t *testing.T) {
	tb, score, flags := scoreFixture(t)
	var buf bytes.Buffer
	if err := WriteScores(&buf, CSV, tb.Kept, score, flags); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"id", "name", "w", "score", "is_anomaly"},
		{"7", "plain", "0.1", "0.1", "false"},
		{"-1", "has,comma", "", "3.1415927", "true"},
		{"9007199254740992", `has "quotes"`, "2.5", "1e-30", "false"},
		{"0", "line\nbreak", "1e-300", "3.4028235e+38", "true"},
		{"42", "", "-3", "0", "false"},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("CSV =\n%q\nwant\n%q", recs, want)
	}
	for i, r := range recs[1:] {
		v, err := strconv.ParseFloat(r[3], 32)
		if err != nil || float32(v) != score[i] {
			t.Errorf("row %d score %q reads back as %v, want %v", i, r[3], v, score[i])
		}
	}
}

func TestWriteScoresParquet(t *testing.T) {
	tb, score, flags := scoreFixture(t)
	path := filepath.Join(t.TempDir(), "scores.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteScores(f, Parquet, tb.Kept, score, flags); err != nil {
		t.Fatal(err)
	}
	// WriteScores must leave f open.
	if err := f.Close(); err != nil {
		t.Fatalf("closing the output after WriteScores: %v", err)
	}

	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := pqarrow.ReadTable(context.Background(), r, pq.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	var names []string
	for _, fl := range got.Schema().Fields() {
		names = append(names, fl.Name+":"+fl.Type.String())
	}
	wantNames := []string{"id:int64", "name:utf8", "w:float64", "score:float32", "is_anomaly:bool"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("columns %v, want %v", names, wantNames)
	}
	// Compare every column with the input, row by row, via the same text
	// rendering the CSV writer uses.
	render := func(c *arrow.Chunked) []string {
		var out []string
		for _, a := range c.Chunks() {
			fm := formatter(a)
			for i := 0; i < a.Len(); i++ {
				out = append(out, fm(i))
			}
		}
		return out
	}
	for i := 0; i < 3; i++ {
		if a, b := render(got.Column(i).Data()), render(tb.Kept.Column(i).Data()); !reflect.DeepEqual(a, b) {
			t.Errorf("column %d = %q, want %q", i, a, b)
		}
	}
	var gotScores []float32
	for _, a := range got.Column(3).Data().Chunks() {
		gotScores = append(gotScores, a.(*array.Float32).Float32Values()...)
	}
	var gotFlags []bool
	for _, a := range got.Column(4).Data().Chunks() {
		for i := 0; i < a.Len(); i++ {
			gotFlags = append(gotFlags, a.(*array.Boolean).Value(i))
		}
	}
	if !reflect.DeepEqual(gotScores, score) || !reflect.DeepEqual(gotFlags, flags) {
		t.Errorf("scores %v %v, want %v %v", gotScores, gotFlags, score, flags)
	}

	// The output is itself valid input for ReadTable.
	back, err := ReadTable(context.Background(), path, Selection{Features: []string{"score"}, Keep: []string{"id", "is_anomaly"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Data, score) {
		t.Errorf("ReadTable(context.Background(), score) = %v, want %v", back.Data, score)
	}
	ids, err := back.KeptFloat64("id")
	if err != nil || !reflect.DeepEqual(ids, []float64{7, -1, 1 << 53, 0, 42}) {
		t.Errorf("ids = %v, %v", ids, err)
	}
}

func TestWriteScoresNoKept(t *testing.T) {
	for _, format := range []Format{CSV, Parquet} {
		t.Run(format.String(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteScores(&buf, format, nil, []float32{1.5, 2}, []bool{true, false}); err != nil {
				t.Fatal(err)
			}
			if format == CSV {
				if got, want := buf.String(), "score,is_anomaly\n1.5,true\n2,false\n"; got != want {
					t.Errorf("CSV = %q, want %q", got, want)
				}
				return
			}
			if !bytes.HasPrefix(buf.Bytes(), []byte("PAR1")) || !bytes.HasSuffix(buf.Bytes(), []byte("PAR1")) {
				t.Error("output is not a Parquet file")
			}
		})
	}
}

func TestWriteScoresErrors(t *testing.T) {
	clash := func(name string) arrow.Table {
		a := i64s([]int64{1})
		defer a.Release()
		rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: name, Type: a.DataType()}}, nil), []arrow.Array{a}, 1)
		defer rec.Release()
		return array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	}
	tests := []struct {
		name   string
		format Format
		kept   arrow.Table
		score  []float32
		flags  []bool
		msg    string
	}{
		{"length mismatch", CSV, nil, []float32{1, 2}, []bool{true}, "2 scores but 1 anomaly flags"},
		{"kept rows mismatch", Parquet, clash("id"), []float32{1, 2}, []bool{true, false}, "kept columns have 1 rows"},
		{"score clash", CSV, clash("score"), []float32{1}, []bool{true}, `kept column "score" clashes`},
		{"flag clash", Parquet, clash("is_anomaly"), []float32{1}, []bool{true}, `kept column "is_anomaly" clashes`},
		{"unknown format", Format(9), nil, nil, nil, "unknown format Format(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteScores(&bytes.Buffer{}, tt.format, tt.kept, tt.score, tt.flags)
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want ErrUsage containing %q", err, tt.msg)
			}
		})
	}
}

func TestFormatForPath(t *testing.T) {
	tests := []struct {
		path string
		want Format
	}{
		{"out.csv", CSV},
		{"dir/OUT.CSV", CSV},
		{"out.parquet", Parquet},
		{"out", Parquet},
		{"out.csv.gz", Parquet},
		{"csv", Parquet},
	}
	for _, tt := range tests {
		if got := FormatForPath(tt.path); got != tt.want {
			t.Errorf("FormatForPath(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestWriteScoresNestedKept(t *testing.T) {
	st := build(t, arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
	), `[{"a":1,"b":"x"},{"a":null,"b":"y"},null]`)
	ls := build(t, arrow.ListOf(arrow.PrimitiveTypes.Float64), `[[1,2],[],null]`)
	ts := build(t, arrow.FixedWidthTypes.Timestamp_us, `["2024-01-01T00:00:00Z","2024-01-02T00:00:00Z",null]`)
	path := writeFixture(t, "n.parquet", 2, col{"s", st}, col{"l", ls}, col{"x", f64s([]float64{1, 2, 3})}, col{"ts", ts})
	keep := []string{"s", "l", "ts"}
	tb, err := ReadTable(context.Background(), path, Selection{Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tb.Names, []string{"x"}) || len(tb.Skipped) != 3 {
		t.Fatalf("names %v, skipped %v", tb.Names, tb.Skipped)
	}
	score, flags := []float32{1, 2, 3}, []bool{true, false, true}

	var buf bytes.Buffer
	if err := WriteScores(&buf, CSV, tb.Kept, score, flags); err != nil {
		t.Fatal(err)
	}
	want := "s,l,ts,score,is_anomaly\n" +
		`"{""a"":1,""b"":""x""}","[1,2]",2024-01-01T00:00:00Z,1,true` + "\n" +
		`"{""a"":null,""b"":""y""}",[],2024-01-02T00:00:00Z,2,false` + "\n" +
		",,,3,true\n"
	if buf.String() != want {
		t.Errorf("CSV =\n%s\nwant\n%s", buf.String(), want)
	}

	buf.Reset()
	if err := WriteScores(&buf, Parquet, tb.Kept, score, flags); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTable(context.Background(), writeBytes(t, "o.parquet", buf.Bytes()), Selection{Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	for i := range keep {
		if a, b := back.Kept.Column(i).DataType(), tb.Kept.Column(i).DataType(); !arrow.TypeEqual(a, b) {
			t.Errorf("column %s: type %s after round trip, want %s", keep[i], a, b)
		}
	}
}
