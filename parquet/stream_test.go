package parquet

import (
	"context"

	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/apache/arrow-go/v18/arrow/array"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestStreamInputs checks that a streamed read hands out the rows a whole
// read returns, in order, with their kept columns, including a row group
// larger than one slice (sliceRows) and a second file.
func TestStreamInputs(t *testing.T) {
	for _, slices := range []bool{false, true} {
		t.Run(fmt.Sprintf("slices=%v", slices), func(t *testing.T) {
			if slices {
				defer func(v int64) { wholeGroupBytes = v }(wholeGroupBytes)
				wholeGroupBytes = 0
			}
			testStreamInputs(t, slices)
		})
	}
}

func testStreamInputs(t *testing.T, slices bool) {
	n := sliceRows + 1000 // one row group of more than a slice
	a, b := make([]float64, n), make([]float32, n)
	ids := make([]string, n)
	for i := range n {
		a[i], b[i], ids[i] = float64(i)/8, float32(-i), fmt.Sprintf("r%d", i)
	}
	big := writeFixture(t, "big.parquet", int64(n), col{"a", f64s(a)}, col{"b", f32s(b)}, col{"id", strs(ids)})
	small := writeFixture(t, "small.parquet", 2, col{"a", f64s(a[:5])}, col{"b", f32s(b[:5])}, col{"id", strs(ids[:5])})
	ins, err := ResolveInputs([]string{big, small})
	if err != nil {
		t.Fatal(err)
	}
	sel := Selection{Features: []string{"b", "a"}, Keep: []string{"id"}}
	whole, err := ReadInputs(context.Background(), ins, sel, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var data []float32
	var kept []string
	var sizes []int
	streamed, err := StreamInputs(context.Background(), ins, sel, ReadOptions{}, func(b *Batch) error {
		x, err := b.Features(nil)
		if err != nil {
			return err
		}
		data = append(data, x...)
		sizes = append(sizes, b.Rows)
		if len(b.KeptFields) != 1 || b.KeptFields[0].Name != "id" || b.Kept[0].Len() != b.Rows {
			t.Fatalf("kept columns %v with %d rows in a batch of %d", b.KeptFields, b.Kept[0].Len(), b.Rows)
		}
		f := formatter(b.Kept[0])
		for i := range b.Rows {
			kept = append(kept, f(i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{n, 2, 2, 1}
	if slices {
		want = []int{sliceRows, 1000, 2, 2, 1}
	}
	if !reflect.DeepEqual(sizes, want) {
		t.Errorf("batches of %v rows, want %v", sizes, want)
	}
	if !reflect.DeepEqual(data, whole.Data) {
		t.Error("streamed features differ from a whole read's")
	}
	wantKept, _ := whole.KeptStrings("id")
	if !reflect.DeepEqual(kept, wantKept) {
		t.Error("streamed kept column differs from a whole read's")
	}
	if streamed.Rows != whole.Rows || streamed.RowsRead != whole.RowsRead || !reflect.DeepEqual(streamed.Names, whole.Names) || streamed.Data != nil {
		t.Errorf("streamed table: %d rows (%d read), names %v; want %d (%d), %v, no data", streamed.Rows, streamed.RowsRead, streamed.Names, whole.Rows, whole.RowsRead, whole.Names)
	}
	if got := streamed.Kept.Schema().Field(0); got.Name != "id" || got.Type.ID() != arrow.STRING {
		t.Errorf("streamed table's kept schema: %v", got)
	}
}

func TestStreamInputsErrors(t *testing.T) {
	f := writeFixture(t, "f.parquet", 0, col{"a", f64s([]float64{1, 2, 3}, 1)}, col{"k", i64s([]int64{1, 2, 3})})
	g := writeFixture(t, "g.parquet", 0, col{"a", f64s([]float64{1})}, col{"k", strs([]string{"x"})})
	resolve := func(paths ...string) []Input {
		ins, err := ResolveInputs(paths)
		if err != nil {
			t.Fatal(err)
		}
		return ins
	}
	stop := errors.New("caller stops")
	convert := func(b *Batch) error { _, err := b.Features(nil); return err }
	for _, tc := range []struct {
		name string
		ins  []Input
		sel  Selection
		opts ReadOptions
		each func(*Batch) error
		want string
		is   error
	}{
		{"sampling", resolve(f), Selection{AllowMissing: true}, ReadOptions{MaxRows: 1}, convert, "cannot sample", ErrUsage},
		{"no function", resolve(f), Selection{AllowMissing: true}, ReadOptions{}, nil, "needs a function", ErrUsage},
		{"caller's error as it is", resolve(f), Selection{AllowMissing: true}, ReadOptions{}, func(*Batch) error { return stop }, "caller stops", stop},
		{"missing value", resolve(f), Selection{Features: []string{"a"}}, ReadOptions{}, convert, `column "a": 1 null`, ErrBadInput},
		{"kept type changes", resolve(f, g), Selection{Features: []string{"a"}, Keep: []string{"k"}, AllowMissing: true}, ReadOptions{}, convert, `kept column "k" is string in`, ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StreamInputs(context.Background(), tc.ins, tc.sel, tc.opts, tc.each)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want one containing %q that is %v", err, tc.want, tc.is)
			}
		})
	}
}

// TestScoreWriterBatches checks that rows written in several batches make
// the same file as one WriteScores call.
func TestScoreWriterBatches(t *testing.T) {
	tb, score, flags := scoreFixture(t)
	for _, format := range []Format{CSV, Parquet} {
		t.Run(format.String(), func(t *testing.T) {
			var whole, parts bytes.Buffer
			if err := WriteScores(&whole, format, tb.Kept, score, flags); err != nil {
				t.Fatal(err)
			}
			var fields []arrow.Field
			var cols []arrow.Array
			for i := 0; i < int(tb.Kept.NumCols()); i++ {
				fields = append(fields, tb.Kept.Schema().Field(i))
				cols = append(cols, single(tb.Kept.Column(i).Data().Chunks()))
			}
			sw, err := NewScoreWriter(&parts, format, fields)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range [][2]int{{0, 2}, {2, 2}, {2, 5}} { // an empty batch too
				slice := make([]arrow.Array, len(cols))
				for i, c := range cols {
					slice[i] = arrowSlice(c, r[0], r[1])
				}
				if err := sw.Write(slice, score[r[0]:r[1]], flags[r[0]:r[1]]); err != nil {
					t.Fatal(err)
				}
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			if format == CSV {
				if whole.String() != parts.String() {
					t.Fatalf("batched CSV differs:\n%s\nwant\n%s", parts.String(), whole.String())
				}
				if _, err := csv.NewReader(&parts).ReadAll(); err != nil {
					t.Fatal(err)
				}
				return
			}
			got := readScores(t, parts.Bytes())
			want := readScores(t, whole.Bytes())
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("batched Parquet reads back as\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestScoreWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewScoreWriter(&buf, Parquet, []arrow.Field{{Name: ScoreColumn, Type: arrow.PrimitiveTypes.Int64}}); !errors.Is(err, ErrUsage) {
		t.Errorf("a kept column named %q: %v", ScoreColumn, err)
	}
	if _, err := NewScoreWriter(&buf, Format(9), nil); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown format: %v", err)
	}
	sw, err := NewScoreWriter(&buf, CSV, []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Write(nil, []float32{1}, []bool{true}); !errors.Is(err, ErrUsage) {
		t.Errorf("too few kept columns: %v", err)
	}
	if err := sw.Write([]arrow.Array{i64s([]int64{1, 2})}, []float32{1}, []bool{true}); !errors.Is(err, ErrUsage) {
		t.Errorf("kept column of another length: %v", err)
	}
	if err := sw.Write([]arrow.Array{i64s([]int64{1})}, []float32{1}, nil); !errors.Is(err, ErrUsage) {
		t.Errorf("flags of another length: %v", err)
	}
	if err := sw.Write([]arrow.Array{strs([]string{"x"})}, []float32{1}, []bool{true}); !errors.Is(err, ErrUsage) {
		t.Errorf("kept column of another type: %v", err)
	}
}

// arrowSlice returns rows lo..hi of a.
func arrowSlice(a arrow.Array, lo, hi int) arrow.Array {
	return array.NewSlice(a, int64(lo), int64(hi))
}

// readScores reads a Parquet score file back as text, column by column.
func readScores(t *testing.T, b []byte) [][]string {
	t.Helper()
	got, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(b), pq.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	var out [][]string
	for i := 0; i < int(got.NumCols()); i++ {
		var col []string
		for _, a := range got.Column(i).Data().Chunks() {
			f := formatter(a)
			for r := 0; r < a.Len(); r++ {
				col = append(col, f(r))
			}
		}
		out = append(out, append([]string{got.Schema().Field(i).Name}, col...))
	}
	return out
}

// TestDirectColumns reads each numeric type that skips pqarrow's record
// reader, with nulls at the edges of the slices a row group is cut into,
// and checks every value.
func TestDirectColumns(t *testing.T) {
	for _, slices := range []bool{false, true} {
		t.Run(fmt.Sprintf("slices=%v", slices), func(t *testing.T) {
			if slices {
				defer func(v int64) { wholeGroupBytes = v }(wholeGroupBytes)
				wholeGroupBytes = 0
			}
			testDirectColumns(t)
		})
	}
}

func testDirectColumns(t *testing.T) {
	n := 2*sliceRows + 7
	nulls := []int{0, 5, sliceRows - 1, sliceRows, 2*sliceRows + 6}
	f64, f32 := make([]float64, n), make([]float32, n)
	i32, i64 := make([]int32, n), make([]int64, n)
	for i := range n {
		f64[i], f32[i], i32[i], i64[i] = float64(i)+0.5, float32(i)-0.25, int32(-i), int64(i)*3
	}
	path := writeFixture(t, "direct.parquet", int64(n),
		col{"f64", f64s(f64, nulls...)}, col{"f32", f32s(f32, nulls...)},
		col{"i32", i32s(i32, nulls...)}, col{"i64", i64s(i64, nulls...)},
		col{"req", f64s(f64)}) // no nulls: a column without definition levels is written the same way
	tb, err := ReadTable(context.Background(), path, Selection{AllowMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	isNull := map[int]bool{}
	for _, i := range nulls {
		isNull[i] = true
	}
	for i := range n {
		row := tb.Row(i)
		want := []float32{float32(f64[i]), f32[i], float32(i32[i]), float32(i64[i]), float32(f64[i])}
		for j := range 4 {
			if isNull[i] {
				want[j] = float32(math.NaN())
			}
		}
		for j := range want {
			if row[j] != want[j] && !(row[j] != row[j] && want[j] != want[j]) {
				t.Fatalf("row %d = %v, want %v", i, row, want)
			}
		}
	}
}

// TestDirectColumnCorruptPage checks that a column read directly reports
// why a page could not be read, not only that rows are missing.
func TestDirectColumnCorruptPage(t *testing.T) {
	vals := make([]float64, 1000)
	for i := range vals {
		vals[i] = float64(i)
	}
	path := writeFixture(t, "corrupt.parquet", 0, col{"x", f64s(vals)})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4; i < 12; i++ { // the first page header follows the magic
		b[i] = 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadTable(context.Background(), path, Selection{})
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "page header") {
		t.Fatalf("error %v, want ErrBadInput naming the page header", err)
	}
}
