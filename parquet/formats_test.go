package parquet

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// formatRows is the row count of the format fixtures: several row groups
// of formatRowGroup rows and, with formatPageSize, several pages each.
const (
	formatRows     = 2500
	formatRowGroup = 1000
	formatPageSize = 2048
)

// formatColumns returns the columns every format case writes: the four
// flat numeric types of the direct path (one with nulls), and an int16, a
// FIXED_LEN_BYTE_ARRAY decimal, a string, a boolean and a timestamp that
// pqarrow reads. Values are varied enough that no encoding degenerates.
func formatColumns() []col {
	n := formatRows
	f64 := make([]float64, n)
	f32 := make([]float32, n)
	i32 := make([]int32, n)
	i64 := make([]int64, n)
	i16 := make([]int16, n)
	s := make([]string, n)
	b := make([]bool, n)
	ts := make([]arrow.Timestamp, n)
	var nulls []int
	decb := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 20, Scale: 3})
	defer decb.Release()
	for i := range n {
		f64[i] = math.Sin(float64(i)) * 1e3
		f32[i] = float32(i%97) / 7
		i32[i] = int32(i*7919%100003) - 50000
		i64[i] = int64(i)*1_000_003 - 1<<40
		i16[i] = int16(i%600 - 300)
		s[i] = fmt.Sprintf("row-%05d-%s", i, []string{"a", "bb", "ccc"}[i%3])
		b[i] = i%3 == 0
		// Nanoseconds since the epoch with a sub-second part, as Spark's
		// INT96 timestamps carry.
		ts[i] = arrow.Timestamp(int64(1_700_000_000+i*3601)*1e9 + int64(i)*1_234_567)
		if i%11 == 5 {
			nulls = append(nulls, i)
		}
		decb.Append(decimal128.FromBigInt(big.NewInt(int64(i)*1_000_003 - 7_000_000)))
	}
	i16b := array.NewInt16Builder(mem)
	defer i16b.Release()
	i16b.AppendValues(i16, nil)
	tsb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Nanosecond})
	defer tsb.Release()
	tsb.AppendValues(ts, nil)
	return []col{
		{"f64", f64s(f64, nulls...)},
		{"f32", f32s(f32)},
		{"i32", i32s(i32)},
		{"i64", i64s(i64)},
		{"i16", i16b.NewArray()},
		{"dec", decb.NewArray()},
		{"s", strs(s)},
		{"b", bools(b)},
		{"ts", tsb.NewArray()},
	}
}

// formatFeatures are the columns of formatColumns read as features.
var formatFeatures = []string{"f64", "f32", "i32", "i64", "i16", "dec"}

// writeFormatFile writes cols with arrow-go's writer and the given writer
// properties (on top of small row groups and pages), with timestamps as
// INT96 when int96 is set.
func writeFormatFile(t testing.TB, path string, cols []col, int96 bool, props ...pq.WriterProperty) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType(), Nullable: true}
		arrs[i] = c.arr
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(cols[0].arr.Len()))
	defer rec.Release()
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	defer tbl.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all := append([]pq.WriterProperty{pq.WithDataPageSize(formatPageSize), pq.WithBatchSize(256)}, props...)
	arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithDeprecatedInt96Timestamps(int96))
	if err := pqarrow.WriteTable(tbl, f, formatRowGroup, pq.NewWriterProperties(all...), arrowProps); err != nil {
		t.Fatal(err)
	}
}

// formatCase is one way of writing the format fixture.
type formatCase struct {
	name  string
	int96 bool
	props []pq.WriterProperty
	// want lists encodings that must appear in the file's footer (for
	// the named column), so that a case cannot pass by writing something
	// else than it says.
	want map[string]pq.Encoding
}

// formatCases are the compressions, encodings and page versions vaejob
// must read, as arrow-go writes them.
func formatCases() []formatCase {
	var cases []formatCase
	codecs := []struct {
		name  string
		codec compress.Compression
	}{
		{"uncompressed", compress.Codecs.Uncompressed},
		{"snappy", compress.Codecs.Snappy},
		{"gzip", compress.Codecs.Gzip},
		{"zstd", compress.Codecs.Zstd},
		{"brotli", compress.Codecs.Brotli},
		{"lz4raw", compress.Codecs.Lz4Raw},
		{"lz4hadoop", compress.Codecs.Lz4},
	}
	pages := []struct {
		name string
		v    pq.DataPageVersion
	}{{"v1", pq.DataPageV1}, {"v2", pq.DataPageV2}}
	for _, c := range codecs {
		for _, p := range pages {
			cases = append(cases, formatCase{
				name: c.name + "/dictionary/" + p.name,
				props: []pq.WriterProperty{pq.WithCompression(c.codec), pq.WithDataPageVersion(p.v),
					// Keep the dictionary where arrow-go would find
					// PLAIN smaller on uncompressed pages.
					pq.WithDictionaryCostFallbackFor("f32", false), pq.WithDictionaryCostFallbackFor("i16", false)},
				// f64 and s have a value per row: arrow-go may fall
				// back to PLAIN for them.
				want: map[string]pq.Encoding{"f32": pq.Encodings.RLEDict, "i16": pq.Encodings.RLEDict},
			})
		}
	}
	for _, p := range pages {
		v := pq.WithDataPageVersion(p.v)
		noDict := pq.WithDictionaryDefault(false)
		cases = append(cases,
			formatCase{
				name:  "plain/" + p.name,
				props: []pq.WriterProperty{v, noDict, pq.WithCompression(compress.Codecs.Snappy)},
				want:  map[string]pq.Encoding{"f64": pq.Encodings.Plain, "dec": pq.Encodings.Plain},
			},
			formatCase{
				name: "delta/" + p.name,
				props: []pq.WriterProperty{v, noDict, pq.WithCompression(compress.Codecs.Zstd),
					pq.WithEncodingFor("i32", pq.Encodings.DeltaBinaryPacked),
					pq.WithEncodingFor("i64", pq.Encodings.DeltaBinaryPacked),
					pq.WithEncodingFor("i16", pq.Encodings.DeltaBinaryPacked),
					pq.WithEncodingFor("s", pq.Encodings.DeltaLengthByteArray)},
				want: map[string]pq.Encoding{"i32": pq.Encodings.DeltaBinaryPacked, "i16": pq.Encodings.DeltaBinaryPacked, "s": pq.Encodings.DeltaLengthByteArray},
			},
			formatCase{
				name: "delta-byte-array/" + p.name,
				props: []pq.WriterProperty{v, noDict, pq.WithCompression(compress.Codecs.Lz4Raw),
					pq.WithEncodingFor("s", pq.Encodings.DeltaByteArray)},
				want: map[string]pq.Encoding{"s": pq.Encodings.DeltaByteArray},
			},
			formatCase{
				name: "byte-stream-split/" + p.name,
				props: []pq.WriterProperty{v, noDict, pq.WithCompression(compress.Codecs.Lz4),
					pq.WithEncodingFor("f64", pq.Encodings.ByteStreamSplit),
					pq.WithEncodingFor("f32", pq.Encodings.ByteStreamSplit),
					pq.WithEncodingFor("i32", pq.Encodings.ByteStreamSplit),
					pq.WithEncodingFor("i64", pq.Encodings.ByteStreamSplit),
					pq.WithEncodingFor("i16", pq.Encodings.ByteStreamSplit),
					pq.WithEncodingFor("dec", pq.Encodings.ByteStreamSplit)},
				want: map[string]pq.Encoding{"f64": pq.Encodings.ByteStreamSplit, "f32": pq.Encodings.ByteStreamSplit,
					"i32": pq.Encodings.ByteStreamSplit, "i64": pq.Encodings.ByteStreamSplit, "dec": pq.Encodings.ByteStreamSplit},
			},
			formatCase{
				name: "rle-boolean/" + p.name,
				props: []pq.WriterProperty{v, noDict, pq.WithVersion(pq.V2_LATEST),
					pq.WithEncodingFor("b", pq.Encodings.RLE)},
				want: map[string]pq.Encoding{"b": pq.Encodings.RLE},
			},
			formatCase{
				name:  "int96/" + p.name,
				int96: true,
				props: []pq.WriterProperty{v, pq.WithCompression(compress.Codecs.Gzip)},
			},
		)
	}
	return cases
}

// TestReadEveryFormat writes the fixture in every compression, encoding
// and page version arrow-go can write, and reads it back through
// ReadTable, both a row group at a time and in slices (the two ways
// sources.go reads a row group, each with the direct path for the flat
// numeric columns and pqarrow for the others), through StreamInputs, as
// vaejob score reads, and then all files at once through ReadDataset.
// Features and kept columns must come back exactly.
func TestReadEveryFormat(t *testing.T) {
	cols := formatColumns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	dir := t.TempDir()
	for _, fc := range formatCases() {
		t.Run(fc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("part-%03d.parquet", len(mustGlob(t, dir))))
			writeFormatFile(t, path, cols, fc.int96, fc.props...)
			checkEncodings(t, path, fc)
			for _, whole := range []int64{64 << 20, 0} {
				saved := wholeGroupBytes
				wholeGroupBytes = whole
				tbl, err := ReadTable(context.Background(), path, Selection{Features: formatFeatures, Keep: names, AllowMissing: true})
				wholeGroupBytes = saved
				if err != nil {
					t.Fatalf("wholeGroupBytes %d: %v", whole, err)
				}
				checkFormatTable(t, tbl, cols)
			}
			checkFormatTable(t, streamTable(t, path, Selection{Features: formatFeatures, Keep: names, AllowMissing: true}), cols)
		})
	}
	tbl, err := ReadDataset(context.Background(), []string{dir}, Selection{Features: formatFeatures, AllowMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := formatRows * len(formatCases()); tbl.Rows != want {
		t.Errorf("ReadDataset of every format: %d rows, want %d", tbl.Rows, want)
	}
}

func mustGlob(t testing.TB, dir string) []string {
	m, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkEncodings fails when the file at path lacks an encoding the case
// promises, or a column's INT96 physical type.
func checkEncodings(t *testing.T, path string, fc formatCase) {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sc := r.MetaData().Schema
	rg := r.MetaData().RowGroup(0)
	for name, want := range fc.want {
		leaf := sc.ColumnIndexByName(name)
		md, err := rg.ColumnChunk(leaf)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range md.Encodings() {
			found = found || e == want
		}
		if !found {
			t.Errorf("column %s was written in %v, not %s", name, md.Encodings(), want)
		}
	}
	if fc.int96 {
		if pt := sc.Column(sc.ColumnIndexByName("ts")).PhysicalType(); pt != pq.Types.Int96 {
			t.Errorf("ts was written as %s, not INT96", pt)
		}
	}
}

// checkFormatTable compares what ReadTable returned with the columns
// written.
func checkFormatTable(t *testing.T, tbl *Table, cols []col) {
	t.Helper()
	if tbl.Rows != formatRows {
		t.Fatalf("%d rows, want %d", tbl.Rows, formatRows)
	}
	byName := map[string]arrow.Array{}
	for _, c := range cols {
		byName[c.name] = c.arr
	}
	for j, name := range tbl.Names {
		src := byName[name]
		bad := 0
		for i := range tbl.Rows {
			got := tbl.Data[i*len(tbl.Names)+j]
			want := featureValue(src, i)
			if got != want && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
				if bad++; bad <= 3 {
					t.Errorf("feature %s, row %d = %v, want %v", name, i, got, want)
				}
			}
		}
	}
	for i, f := range tbl.Kept.Schema().Fields() {
		c := tbl.Kept.Column(i)
		got, err := array.Concatenate(c.Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		want := byName[f.Name]
		if gt, ok := got.(*array.Timestamp); ok && f.Name == "ts" {
			// INT96 has no time zone flag: arrow-go reads it as
			// instants (UTC), as Spark means them. The values must
			// be the same nanoseconds.
			wt := want.(*array.Timestamp)
			if !slices.Equal(gt.TimestampValues(), wt.TimestampValues()) {
				t.Errorf("kept ts differs from what was written")
			}
			got.Release()
			continue
		}
		if !arrow.TypeEqual(got.DataType(), want.DataType()) {
			t.Errorf("kept %s is %s, want %s", f.Name, got.DataType(), want.DataType())
		} else if !array.Equal(got, want) {
			t.Errorf("kept %s differs from what was written", f.Name)
		}
		got.Release()
	}
}

// featureValue is row i of a as a float32 feature: NaN for null.
func featureValue(a arrow.Array, i int) float32 {
	if a.IsNull(i) {
		return float32(math.NaN())
	}
	switch a := a.(type) {
	case *array.Float64:
		return float32(a.Value(i))
	case *array.Float32:
		return a.Value(i)
	case *array.Int32:
		return float32(a.Value(i))
	case *array.Int64:
		return float32(a.Value(i))
	case *array.Int16:
		return float32(a.Value(i))
	case *array.Decimal128:
		return float32(a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal128Type).Scale))
	case *array.Decimal256:
		return float32(a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal256Type).Scale))
	}
	panic(fmt.Sprintf("no feature value for %s", a.DataType()))
}
