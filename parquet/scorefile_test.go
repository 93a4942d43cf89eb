package parquet

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// writeKeptFixture writes the every-type fixture as a Parquet score file
// and returns its bytes.
func writeKeptFixture(t testing.TB) ([]byte, []keptCase, []float32, []bool) {
	t.Helper()
	cases, score, flags := keptFixture(t)
	fields, arrs := keptFixtureFields(cases)
	var buf bytes.Buffer
	sw, err := NewScoreWriter(&buf, Parquet, fields)
	if err != nil {
		t.Fatal(err)
	}
	// Two batches, so that conversions see offsets into their arrays.
	for _, rows := range [][2]int{{0, 1}, {1, keptFixtureRows}} {
		part := make([]arrow.Array, len(arrs))
		for i, a := range arrs {
			part[i] = array.NewSlice(a, int64(rows[0]), int64(rows[1]))
		}
		if err := sw.Write(part, score[rows[0]:rows[1]], flags[rows[0]:rows[1]]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), cases, score, flags
}

// writtenType is the type a kept column of type dt has in a score file:
// its own, or the nearest type Parquet has (milliseconds for seconds, days
// for date64).
func writtenType(dt arrow.DataType) arrow.DataType {
	switch dt := dt.(type) {
	case *arrow.TimestampType:
		if dt.Unit == arrow.Second {
			return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: dt.TimeZone}
		}
	case *arrow.Time32Type:
		return arrow.FixedWidthTypes.Time32ms
	case *arrow.Date64Type:
		return arrow.FixedWidthTypes.Date32
	}
	return dt
}

// show prints a canonical value or null.
func show(s *string) string {
	if s == nil {
		return "null"
	}
	return strconv.Quote(*s)
}

// readBack reads a Parquet file with arrow-go's reader.
func readBack(t testing.TB, data []byte) (arrow.Table, *file.Reader) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tbl, pf
}

// TestScoreFileRoundTrip writes a kept column of every type and reads it
// back with arrow-go: the same Arrow type and values (intervals, which
// Arrow readers get as Parquet's 12 bytes, decoded), and in the Parquet
// schema the logical type each reader relies on.
func TestScoreFileRoundTrip(t *testing.T) {
	data, cases, score, flags := writeKeptFixture(t)
	tbl, pf := readBack(t, data)
	if got, want := tbl.NumRows(), int64(keptFixtureRows); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	if got, want := int(tbl.NumCols()), len(cases)+2; got != want {
		t.Fatalf("%d columns, want %d", got, want)
	}
	for i, c := range cases {
		col := tbl.Column(i)
		if col.Name() != c.name {
			t.Fatalf("column %d is %q, want %q", i, col.Name(), c.name)
		}
		got := single(col.Data().Chunks())
		if c.arr.DataType().ID() == arrow.INTERVAL_MONTH_DAY_NANO {
			checkIntervalBytes(t, c, got)
			continue
		}
		if want := writtenType(c.arr.DataType()); !arrow.TypeEqual(got.DataType(), want) {
			t.Errorf("%s: reads back as %s, want %s", c.name, got.DataType(), want)
			continue
		}
		for r := 0; r < keptFixtureRows; r++ {
			if g, w := canonical(got, r), canonical(c.arr, r); !reflect.DeepEqual(g, w) {
				t.Errorf("%s row %d: reads back as %s, wrote %s", c.name, r, show(g), show(w))
			}
		}
	}
	gotScore := single(tbl.Column(len(cases)).Data().Chunks()).(*array.Float32)
	gotFlags := single(tbl.Column(len(cases) + 1).Data().Chunks()).(*array.Boolean)
	for r := range score {
		if s := gotScore.Value(r); s != score[r] && (s == s || score[r] == score[r]) {
			t.Errorf("row %d: score %v, wrote %v", r, s, score[r])
		}
		if gotFlags.Value(r) != flags[r] {
			t.Errorf("row %d: is_anomaly %v, wrote %v", r, gotFlags.Value(r), flags[r])
		}
	}

	sc := pf.MetaData().Schema
	if rep := sc.Root().RepetitionType(); rep != pq.Repetitions.Required {
		t.Errorf("root repetition %s, want REQUIRED (hyparquet misreads REPEATED)", rep)
	}
	wantLogical := map[string]schema.LogicalType{
		"u8":          schema.NewIntLogicalType(8, false),
		"u32":         schema.NewIntLogicalType(32, false),
		"u64":         schema.NewIntLogicalType(64, false),
		"i16":         schema.NewIntLogicalType(16, true),
		"f16":         schema.Float16LogicalType{},
		"dec38_6":     schema.NewDecimalLogicalType(38, 6),
		"dec5_2":      schema.NewDecimalLogicalType(5, 2),
		"str":         schema.StringLogicalType{},
		"dict_str":    schema.StringLogicalType{},
		"date64":      schema.DateLogicalType{},
		"time32_s":    schema.NewTimeLogicalType(false, schema.TimeUnitMillis),
		"time64_us":   schema.NewTimeLogicalType(false, schema.TimeUnitMicros),
		"time64_ns":   schema.NewTimeLogicalType(false, schema.TimeUnitNanos),
		"ts_s_naive":  schema.NewTimestampLogicalType(false, schema.TimeUnitMillis),
		"ts_ns_naive": schema.NewTimestampLogicalType(false, schema.TimeUnitNanos),
		"ts_us_naive": schema.NewTimestampLogicalType(false, schema.TimeUnitMicros),
		"ts_us_utc":   schema.NewTimestampLogicalType(true, schema.TimeUnitMicros),
		"ts_ns_ny":    schema.NewTimestampLogicalType(true, schema.TimeUnitNanos),
		"uuid":        schema.UUIDLogicalType{},
		"interval":    schema.IntervalLogicalType{},
		ScoreColumn:   schema.NoLogicalType{},
		AnomalyColumn: schema.NoLogicalType{},
		"bin":         schema.NoLogicalType{},
		"large_str":   schema.StringLogicalType{},
		"ts_ms_naive": schema.NewTimestampLogicalType(false, schema.TimeUnitMillis),
		"ts_ms_ny":    schema.NewTimestampLogicalType(true, schema.TimeUnitMillis),
		"dec18_4":     schema.NewDecimalLogicalType(18, 4),
		"time32_ms":   schema.NewTimeLogicalType(false, schema.TimeUnitMillis),
		"date32":      schema.DateLogicalType{},
		"ts_s_utc":    schema.NewTimestampLogicalType(true, schema.TimeUnitMillis),
		"ts_ns_utc":   schema.NewTimestampLogicalType(true, schema.TimeUnitNanos),
		"i64":         schema.NewIntLogicalType(64, true),
		"large_bin":   schema.NoLogicalType{},
		"bool":        schema.NoLogicalType{},
		"f64":         schema.NoLogicalType{},
		"ts_us_ny":    schema.NewTimestampLogicalType(true, schema.TimeUnitMicros),
		"ts_s_ny":     schema.NewTimestampLogicalType(true, schema.TimeUnitMillis),
		"ts_ms_utc":   schema.NewTimestampLogicalType(true, schema.TimeUnitMillis),
		"u16":         schema.NewIntLogicalType(16, false),
		"i8":          schema.NewIntLogicalType(8, true),
		"i32":         schema.NewIntLogicalType(32, true),
		"f32":         schema.NoLogicalType{},
	}
	for i := 0; i < sc.NumColumns(); i++ {
		c := sc.Column(i)
		want, ok := wantLogical[c.Name()]
		if !ok {
			t.Errorf("column %s: no expected logical type", c.Name())
			continue
		}
		if got := c.LogicalType(); !got.Equals(want) {
			t.Errorf("column %s: logical type %s, want %s", c.Name(), got, want)
		}
		// The legacy TIMESTAMP_* converted types mean "adjusted to UTC":
		// a local time must not carry one, or readers take it for UTC.
		if strings.HasSuffix(c.Name(), "_naive") && c.ConvertedType() != schema.ConvertedTypes.None {
			t.Errorf("column %s: converted type %s on a local time", c.Name(), c.ConvertedType())
		}
	}

	// Statistics order as the logical type says: unsigned for unsigned.
	rg := pf.MetaData().RowGroup(0)
	for _, name := range []string{"u8", "u16", "u32", "u64"} {
		idx := sc.ColumnIndexByName(name)
		cc, err := rg.ColumnChunk(idx)
		if err != nil {
			t.Fatal(err)
		}
		st, err := cc.Statistics()
		if err != nil || st == nil || !st.HasMinMax() {
			t.Fatalf("%s: no min/max statistics (%v)", name, err)
		}
		lo, hi := statsMinMax(t, st)
		if lo != 1 || hi != 1<<(8*map[string]uint{"u8": 1, "u16": 2, "u32": 4, "u64": 8}[name])-1 {
			t.Errorf("%s: statistics min %d max %d, want 1 and the type's maximum", name, lo, hi)
		}
	}
}

// statsMinMax returns the min and max of unsigned integer statistics as
// the unsigned values they encode.
func statsMinMax(t testing.TB, st metadata.TypedStatistics) (uint64, uint64) {
	switch s := st.(type) {
	case *metadata.Int32Statistics:
		return uint64(uint32(s.Min())), uint64(uint32(s.Max()))
	case *metadata.Int64Statistics:
		return uint64(s.Min()), uint64(s.Max())
	}
	t.Fatalf("unexpected statistics %T", st)
	return 0, 0
}

// checkIntervalBytes compares a month_day_nano column with the Parquet
// INTERVAL bytes read back for it.
func checkIntervalBytes(t *testing.T, c keptCase, got arrow.Array) {
	t.Helper()
	if ext, ok := got.(array.ExtensionArray); ok {
		got = ext.Storage()
	}
	fsb, ok := got.(*array.FixedSizeBinary)
	if !ok || fsb.DataType().(*arrow.FixedSizeBinaryType).ByteWidth != 12 {
		t.Fatalf("%s reads back as %s, want the 12 bytes of a Parquet INTERVAL", c.name, got.DataType())
	}
	want := c.arr.(*array.MonthDayNanoInterval)
	for r := 0; r < want.Len(); r++ {
		if want.IsNull(r) != fsb.IsNull(r) {
			t.Fatalf("%s row %d: null %v, wrote %v", c.name, r, fsb.IsNull(r), want.IsNull(r))
		}
		if want.IsNull(r) {
			continue
		}
		b := fsb.Value(r)
		w := want.Value(r)
		got := arrow.MonthDayNanoInterval{
			Months:      int32(binary.LittleEndian.Uint32(b[0:])),
			Days:        int32(binary.LittleEndian.Uint32(b[4:])),
			Nanoseconds: int64(binary.LittleEndian.Uint32(b[8:])) * 1e6,
		}
		if got != w {
			t.Errorf("%s row %d: %+v, wrote %+v", c.name, r, got, w)
		}
	}
}

// TestScoreWriterNoRows: a writer closed without a batch (an empty input)
// writes a whole file with the kept columns' types, score and is_anomaly,
// and no rows.
func TestScoreWriterNoRows(t *testing.T) {
	cases, _, _ := keptFixture(t)
	fields, _ := keptFixtureFields(cases)
	t.Run("parquet", func(t *testing.T) {
		var buf bytes.Buffer
		sw, err := NewScoreWriter(&buf, Parquet, fields)
		if err != nil {
			t.Fatal(err)
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		tbl, _ := readBack(t, buf.Bytes())
		if tbl.NumRows() != 0 {
			t.Errorf("%d rows, want 0", tbl.NumRows())
		}
		sc := tbl.Schema()
		if sc.NumFields() != len(fields)+2 {
			t.Fatalf("%d columns, want %d", sc.NumFields(), len(fields)+2)
		}
		for i, f := range fields {
			got := sc.Field(i)
			if f.Type.ID() == arrow.INTERVAL_MONTH_DAY_NANO {
				continue // written as INTERVAL bytes, checked in TestScoreFileRoundTrip
			}
			if want := writtenType(f.Type); got.Name != f.Name || !arrow.TypeEqual(got.Type, want) {
				t.Errorf("column %d is %s %s, want %s %s", i, got.Name, got.Type, f.Name, want)
			}
		}
		if f := sc.Field(len(fields)); f.Name != ScoreColumn || f.Type.ID() != arrow.FLOAT32 {
			t.Errorf("score column is %s %s", f.Name, f.Type)
		}
		if f := sc.Field(len(fields) + 1); f.Name != AnomalyColumn || f.Type.ID() != arrow.BOOL {
			t.Errorf("flag column is %s %s", f.Name, f.Type)
		}
	})
	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		sw, err := NewScoreWriter(&buf, CSV, fields[:2])
		if err != nil {
			t.Fatal(err)
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := buf.String(), "i8,i16,score,is_anomaly\n"; got != want {
			t.Errorf("CSV %q, want %q", got, want)
		}
	})
	t.Run("WriteScores", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteScores(&buf, Parquet, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		tbl, _ := readBack(t, buf.Bytes())
		if tbl.NumRows() != 0 || tbl.NumCols() != 2 {
			t.Errorf("%d rows × %d columns, want 0 × 2", tbl.NumRows(), tbl.NumCols())
		}
	})
}

// TestScoreWriterKeptTypesByFormat: each kept type is refused, or written,
// per format. Parquet refuses what it cannot carry faithfully; CSV prints
// any value as text and refuses only what its text would not give exactly.
// Every kept column is bad input naming the column, its type and what to
// do, found before a byte is written, and CheckKeptFields says the same.
func TestScoreWriterKeptTypesByFormat(t *testing.T) {
	dec128 := &arrow.Decimal128Type{Precision: 5, Scale: 2}
	tests := []struct {
		name    string
		dt      arrow.DataType
		json    string   // two rows, the second null
		parquet string   // what Parquet's refusal says; "" = written
		csv     []string // the CSV cells; nil = refused
		csvSays string   // what CSV's refusal says
	}{
		{"duration", arrow.FixedWidthTypes.Duration_ms, `[1500, null]`, "no duration type", []string{"1500ms", ""}, ""},
		{"list of durations", arrow.ListOf(arrow.FixedWidthTypes.Duration_us), `[[1, 2], null]`, "no duration type", []string{`["1us","2us"]`, ""}, ""},
		{"struct of a view", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.BinaryTypes.StringView}), `[{"a": "x,y"}, null]`, "cast it in the input", []string{`{"a":"x,y"}`, ""}, ""},
		{"map to intervals", arrow.MapOf(arrow.BinaryTypes.String, arrow.FixedWidthTypes.MonthDayNanoInterval), `[[{"key": "k", "value": {"months": 1, "days": 2, "nanoseconds": 3}}], null]`, "cast it in the input", []string{`[{"key":"k","value":{"months":1,"days":2,"nanoseconds":3}}]`, ""}, ""},
		{"union", arrow.SparseUnionOf([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int32}}, []arrow.UnionTypeCode{0}), `[[0, 5], [0, null]]`, "no type for it", nil, "a union is printed as its type code"},
		{"wide decimal", &arrow.Decimal256Type{Precision: 40, Scale: 2}, `["12345678901234567890123456789012345678.91", null]`, "at most 38 digits", []string{"12345678901234567890123456789012345678.91", ""}, ""},
		{"decimal64", &arrow.Decimal64Type{Precision: 18, Scale: 2}, `["-9999999999999999.99", null]`, "cast it to decimal128", []string{"-9999999999999999.99", ""}, ""},
		{"decimal64 negative scale", &arrow.Decimal64Type{Precision: 3, Scale: -2}, `["12300", null]`, "cast it to decimal128", []string{"12300", ""}, ""},
		{"decimal32", &arrow.Decimal32Type{Precision: 9, Scale: 4}, `["-0.0005", null]`, "cast it to decimal128", []string{"-0.0005", ""}, ""},
		{"decimal32 whole", &arrow.Decimal32Type{Precision: 9, Scale: 0}, `["999999999", null]`, "cast it to decimal128", []string{"999999999", ""}, ""},
		{"dictionary of durations", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.FixedWidthTypes.Duration_s}, `[7, null]`, "no duration type", []string{"7s", ""}, ""},
		{"dictionary of decimal32", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: &arrow.Decimal32Type{Precision: 4, Scale: 1}}, `["-12.5", null]`, "cast it to decimal128", []string{"-12.5", ""}, ""},
		{"list of decimals", arrow.ListOf(dec128), `[["1.25"], null]`, "", nil, "binary floating point"},
		{"struct of decimals", arrow.StructOf(arrow.Field{Name: "d", Type: &arrow.Decimal32Type{Precision: 3, Scale: 1}}), `[{"d": "1.5"}, null]`, "cast it to decimal128", nil, "binary floating point"},
		{"decimal128", dec128, `["-1.05", null]`, "", []string{"-1.05", ""}, ""},
		{"string view", arrow.BinaryTypes.StringView, `["a\"b", null]`, "", []string{`a"b`, ""}, ""},
		{"binary view", arrow.BinaryTypes.BinaryView, `["aGk=", null]`, "", []string{"aGk=", ""}, ""},
		{"month interval", arrow.FixedWidthTypes.MonthInterval, `[{"months": 3}, null]`, "", []string{`{"months":3}`, ""}, ""},
		{"day-time interval", arrow.FixedWidthTypes.DayTimeInterval, `[{"days": 1, "milliseconds": 2}, null]`, "", []string{`{"days":1,"milliseconds":2}`, ""}, ""},
		{"null", arrow.Null, `[null, null]`, "", []string{"", ""}, ""},
		{"timestamp[s]", arrow.FixedWidthTypes.Timestamp_s, `["2024-01-02T03:04:05Z", null]`, "", []string{"2024-01-02T03:04:05Z", ""}, ""},
		{"list of int64", arrow.ListOf(arrow.PrimitiveTypes.Int64), `[[9223372036854775807], null]`, "", []string{"[9223372036854775807]", ""}, ""},
		{"run-end encoded decimal64", arrow.RunEndEncodedOf(arrow.PrimitiveTypes.Int32, &arrow.Decimal64Type{Precision: 4, Scale: 3}), `["1.234", null]`, "no type for it", []string{"1.234", ""}, ""},
	}
	for _, tt := range tests {
		for _, format := range []Format{Parquet, CSV} {
			t.Run(tt.name+"/"+format.String(), func(t *testing.T) {
				arr, _, err := array.FromJSON(memory.DefaultAllocator, tt.dt, strings.NewReader(tt.json))
				if err != nil {
					t.Fatal(err)
				}
				defer arr.Release()
				fields := []arrow.Field{{Name: "kept col", Type: tt.dt, Nullable: true}}
				says := tt.parquet
				if format == CSV {
					says = tt.csvSays
				}
				var buf bytes.Buffer
				sw, err := NewScoreWriter(&buf, format, fields)
				if err2 := CheckKeptFields(fields, format); (err2 == nil) != (err == nil) || err2 != nil && err2.Error() != err.Error() {
					t.Errorf("CheckKeptFields = %v, NewScoreWriter = %v", err2, err)
				}
				if says != "" {
					if !errors.Is(err, ErrBadInput) {
						t.Fatalf("err = %v, want ErrBadInput", err)
					}
					for _, s := range []string{`"kept col"`, tt.dt.String(), says, "do not keep it"} {
						if !strings.Contains(err.Error(), s) {
							t.Errorf("message %q does not say %q", err, s)
						}
					}
					if buf.Len() != 0 {
						t.Errorf("%d bytes written before the refusal", buf.Len())
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := sw.Write([]arrow.Array{arr}, []float32{1, 2}, []bool{false, true}); err != nil {
					t.Fatal(err)
				}
				if err := sw.Close(); err != nil {
					t.Fatal(err)
				}
				if format == Parquet {
					tbl, _ := readBack(t, buf.Bytes())
					if tbl.NumRows() != 2 {
						t.Errorf("%d rows read back, want 2", tbl.NumRows())
					}
					return
				}
				recs, err := csv.NewReader(&buf).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range recs[1:] {
					got = append(got, r[0])
				}
				if !slices.Equal(got, tt.csv) {
					t.Errorf("CSV cells %q, want %q", got, tt.csv)
				}
			})
		}
	}
	if err := CheckKeptFields([]arrow.Field{{Name: ScoreColumn, Type: arrow.PrimitiveTypes.Int64}}, Parquet); !errors.Is(err, ErrUsage) {
		t.Errorf("a kept column named %q: err = %v, want ErrUsage", ScoreColumn, err)
	}
}

// TestScoreWriterSecondsOverflow: a timestamp in seconds whose milliseconds
// overflow int64 is bad input naming the column in Parquet, not a wrong
// value; the largest that fits is written exactly; CSV has no limit.
func TestScoreWriterSecondsOverflow(t *testing.T) {
	tests := []struct {
		secs int64
		ok   bool
	}{
		{math.MaxInt64 / 1000, true},
		{math.MinInt64 / 1000, true},
		{math.MaxInt64/1000 + 1, false},
		{math.MinInt64/1000 - 1, false},
		{math.MaxInt64, false},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.secs, 10), func(t *testing.T) {
			b := array.NewTimestampBuilder(memory.DefaultAllocator, arrow.FixedWidthTypes.Timestamp_s.(*arrow.TimestampType))
			b.Append(arrow.Timestamp(tt.secs))
			a := b.NewArray()
			defer a.Release()
			fields := []arrow.Field{{Name: "ts", Type: a.DataType()}}
			var buf bytes.Buffer
			sw, err := NewScoreWriter(&buf, Parquet, fields)
			if err != nil {
				t.Fatal(err)
			}
			err = sw.Write([]arrow.Array{a}, []float32{1}, []bool{false})
			if !tt.ok {
				if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), `"ts"`) || !strings.Contains(err.Error(), strconv.FormatInt(tt.secs, 10)) {
					t.Errorf("err = %v, want ErrBadInput naming the column and the value", err)
				}
				var csvBuf bytes.Buffer
				csvW, err := NewScoreWriter(&csvBuf, CSV, fields)
				if err != nil {
					t.Fatal(err)
				}
				if err := csvW.Write([]arrow.Array{a}, []float32{1}, []bool{false}); err != nil {
					t.Errorf("CSV: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			tbl, _ := readBack(t, buf.Bytes())
			got := single(tbl.Column(0).Data().Chunks()).(*array.Timestamp).Value(0)
			if want := arrow.Timestamp(tt.secs * 1000); got != want {
				t.Errorf("read back %d ms, want %d", got, want)
			}
		})
	}
}

// TestScoreWriterIntervalValues: intervals that Parquet's INTERVAL holds
// exactly are written; others (negative parts, fractions of a millisecond)
// are bad input naming the column.
func TestScoreWriterIntervalValues(t *testing.T) {
	tests := []struct {
		v  arrow.MonthDayNanoInterval
		ok bool
	}{
		{arrow.MonthDayNanoInterval{Months: 1, Days: 2, Nanoseconds: 3e6}, true},
		{arrow.MonthDayNanoInterval{Nanoseconds: (1<<32 - 1) * 1e6}, true},
		{arrow.MonthDayNanoInterval{Nanoseconds: 1}, false},
		{arrow.MonthDayNanoInterval{Months: -1}, false},
		{arrow.MonthDayNanoInterval{Days: -1}, false},
		{arrow.MonthDayNanoInterval{Nanoseconds: -1e6}, false},
		{arrow.MonthDayNanoInterval{Nanoseconds: 1 << 32 * 1e6}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.v), func(t *testing.T) {
			b := array.NewMonthDayNanoIntervalBuilder(memory.DefaultAllocator)
			b.Append(tt.v)
			a := b.NewArray()
			fields := []arrow.Field{{Name: "iv", Type: a.DataType()}}
			var buf bytes.Buffer
			sw, err := NewScoreWriter(&buf, Parquet, fields)
			if err != nil {
				t.Fatal(err)
			}
			err = sw.Write([]arrow.Array{a}, []float32{1}, []bool{false})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if err := sw.Close(); err != nil {
					t.Fatal(err)
				}
				tbl, _ := readBack(t, buf.Bytes())
				checkIntervalBytes(t, keptCase{"iv", a}, single(tbl.Column(0).Data().Chunks()))
				return
			}
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), `"iv"`) {
				t.Errorf("err = %v, want ErrBadInput naming the column", err)
			}
		})
	}
}

// TestScoreCSVFormats: CSV prints each kept type as its exact text.
func TestScoreCSVFormats(t *testing.T) {
	cases, score, flags := keptFixture(t)
	fields, arrs := keptFixtureFields(cases)
	var buf bytes.Buffer
	sw, err := NewScoreWriter(&buf, CSV, fields)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Write(arrs, score, flags); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for j, name := range recs[0] {
		for _, r := range recs[1:] {
			got[name] = append(got[name], r[j])
		}
	}
	want := map[string][]string{
		"i64":         {"-9223372036854775808", "9223372036854775807", ""},
		"u64":         {"1", "18446744073709551615", ""},
		"f32":         {"0.1", "-3.4028235e+38", ""},
		"dec5_2":      {"123.45", "-999.99", ""},
		"dec18_4":     {"12345678901234.5678", "-0.0001", ""},
		"dec38_6":     {"1000462.000462", "-99999999999999999999999999999999.999999", ""},
		"str":         {`héllo, "world"`, "", ""},
		"bool":        {"true", "false", ""},
		"date32":      {"2024-01-01", "1969-12-31", ""},
		"date64":      {"2024-01-01", "1969-12-31", ""},
		"time32_s":    {"12:34:56", "23:59:59", ""},
		"time32_ms":   {"12:34:56.789", "00:00:00", ""},
		"time64_us":   {"12:34:56.789012", "23:59:59.999999", ""},
		"time64_ns":   {"12:34:56.789012345", "00:00:00.000000001", ""},
		"ts_s_naive":  {"2023-11-14T22:13:20", "1969-12-30T23:59:59", ""},
		"ts_ms_naive": {"2023-11-14T22:13:20.123", "1969-12-31T23:59:59.999", ""},
		"ts_ns_naive": {"2023-11-14T22:13:20.123456789", "1969-12-31T23:59:59.999999999", ""},
		"ts_us_utc":   {"2023-11-14T22:13:20.123456Z", "1969-12-31T23:59:59.999999Z", ""},
		"ts_ns_ny":    {"2023-11-14T17:13:20.123456789-05:00", "1969-12-31T18:59:59.999999999-05:00", ""},
		"uuid":        {"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "ffffffff-ffff-ffff-ffff-ffffffffffff", ""},
		ScoreColumn:   {"0.25", "3.5", "NaN"},
		AnomalyColumn: {"false", "true", "true"},
		"large_str":   {"line\nbreak", "ü", ""},
		"i8":          {"-128", "127", ""},
		"f16":         {"1.5", "-65504", ""},
		"f64":         {"0.1", "-2.5e+300", ""},
		"u32":         {"1", "4294967295", ""},
		"ts_ms_ny":    {"2023-11-14T17:13:20.123-05:00", "1969-12-31T18:59:59.999-05:00", ""},
		"ts_s_utc":    {"2023-11-14T22:13:20Z", "1969-12-30T23:59:59Z", ""},
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("no column %s in the CSV", name)
			continue
		}
		if strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("%s: CSV %q, want %q", name, g, w)
		}
	}
}

// TestKeptStringsDecimal: KeptStrings, which renders as the CSV does,
// gives a decimal's exact text.
func TestKeptStringsDecimal(t *testing.T) {
	tests := []struct {
		dt   arrow.DataType
		text string
	}{
		{&arrow.Decimal128Type{Precision: 38, Scale: 6}, "1000462.000462"},
		{&arrow.Decimal128Type{Precision: 10, Scale: 0}, "-42"},
		{&arrow.Decimal256Type{Precision: 38, Scale: 3}, "0.001"},
	}
	for _, tt := range tests {
		var a arrow.Array
		switch dt := tt.dt.(type) {
		case *arrow.Decimal128Type:
			n, err := decimal128.FromString(tt.text, dt.Precision, dt.Scale)
			if err != nil {
				t.Fatal(err)
			}
			b := array.NewDecimal128Builder(memory.DefaultAllocator, dt)
			b.Append(n)
			a = b.NewArray()
		case *arrow.Decimal256Type:
			n, err := decimal256.FromString(tt.text, dt.Precision, dt.Scale)
			if err != nil {
				t.Fatal(err)
			}
			b := array.NewDecimal256Builder(memory.DefaultAllocator, dt)
			b.Append(n)
			a = b.NewArray()
		}
		if got := formatter(a)(0); got != tt.text {
			t.Errorf("%s: %q, want %q", tt.dt, got, tt.text)
		}
	}
}

// TestScoreFileNested: nested kept columns (lists, fixed-size lists,
// structs, maps) read back with the same types, element fields named as
// in the Parquet schema, and the same values.
func TestScoreFileNested(t *testing.T) {
	tests := []struct {
		name string
		dt   arrow.DataType
		json string
	}{
		{"list", arrow.ListOf(arrow.PrimitiveTypes.Int32), `[[1,2],[],null]`},
		{"large list", arrow.LargeListOf(arrow.BinaryTypes.String), `[["a"],["b",null],null]`},
		{"fixed-size list", arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float64), `[[1.5,2],[3,null],null]`},
		{"struct", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, arrow.Field{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Uint32), Nullable: true}), `[{"a":1,"l":[4294967295]},{"a":null,"l":[]},null]`},
		{"map", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), `[[{"key":"k","value":1}],[],null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, err := array.FromJSON(memory.DefaultAllocator, tt.dt, strings.NewReader(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			sw, err := NewScoreWriter(&buf, Parquet, []arrow.Field{{Name: "n", Type: tt.dt, Nullable: true}})
			if err != nil {
				t.Fatal(err)
			}
			if err := sw.Write([]arrow.Array{a}, []float32{1, 2, 3}, []bool{false, true, false}); err != nil {
				t.Fatal(err)
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			tbl, _ := readBack(t, buf.Bytes())
			got := single(tbl.Column(0).Data().Chunks())
			if want := parquetNames(tt.dt); !arrow.TypeEqual(got.DataType(), want) {
				t.Fatalf("reads back as %s, want %s", got.DataType(), want)
			}
			if g, w := got.String(), a.String(); g != w {
				t.Errorf("reads back as %s, wrote %s", g, w)
			}
		})
	}
}
