package parquet

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// keptCase is one kept column of the every-type fixture: three rows, the
// last of them null.
type keptCase struct {
	name string
	arr  arrow.Array
}

// keptFixtureRows is the number of rows of every column of keptFixture.
const keptFixtureRows = 3

// keptFixture returns a kept column of every type a score file carries,
// each with an ordinary value, an extreme one and a null, and scores and
// flags for its rows.
func keptFixture(t testing.TB) ([]keptCase, []float32, []bool) {
	t.Helper()
	mem := memory.DefaultAllocator
	valid := []bool{true, true, false}
	var cases []keptCase
	add := func(name string, b array.Builder) {
		a := b.NewArray()
		b.Release()
		if a.Len() != keptFixtureRows {
			t.Fatalf("fixture %s has %d rows", name, a.Len())
		}
		cases = append(cases, keptCase{name, a})
	}
	{
		b := array.NewInt8Builder(mem)
		b.AppendValues([]int8{math.MinInt8, math.MaxInt8, 0}, valid)
		add("i8", b)
	}
	{
		b := array.NewInt16Builder(mem)
		b.AppendValues([]int16{math.MinInt16, math.MaxInt16, 0}, valid)
		add("i16", b)
	}
	{
		b := array.NewInt32Builder(mem)
		b.AppendValues([]int32{math.MinInt32, math.MaxInt32, 0}, valid)
		add("i32", b)
	}
	{
		b := array.NewInt64Builder(mem)
		b.AppendValues([]int64{math.MinInt64, math.MaxInt64, 0}, valid)
		add("i64", b)
	}
	{
		b := array.NewUint8Builder(mem)
		b.AppendValues([]uint8{1, math.MaxUint8, 0}, valid)
		add("u8", b)
	}
	{
		b := array.NewUint16Builder(mem)
		b.AppendValues([]uint16{1, math.MaxUint16, 0}, valid)
		add("u16", b)
	}
	{
		b := array.NewUint32Builder(mem)
		b.AppendValues([]uint32{1, math.MaxUint32, 0}, valid)
		add("u32", b)
	}
	{
		b := array.NewUint64Builder(mem)
		b.AppendValues([]uint64{1, math.MaxUint64, 0}, valid)
		add("u64", b)
	}
	{
		b := array.NewFloat16Builder(mem)
		b.AppendValues([]float16.Num{float16.New(1.5), float16.New(-65504), {}}, valid)
		add("f16", b)
	}
	{
		b := array.NewFloat32Builder(mem)
		b.AppendValues([]float32{0.1, -math.MaxFloat32, 0}, valid)
		add("f32", b)
	}
	{
		b := array.NewFloat64Builder(mem)
		b.AppendValues([]float64{0.1, -2.5e300, 0}, valid)
		add("f64", b)
	}
	decimal := func(name string, p, s int32, texts ...string) {
		dt := &arrow.Decimal128Type{Precision: p, Scale: s}
		b := array.NewDecimal128Builder(mem, dt)
		for _, x := range texts {
			n, err := decimal128.FromString(x, p, s)
			if err != nil {
				t.Fatalf("decimal %s: %v", x, err)
			}
			b.Append(n)
		}
		b.AppendNull()
		add(name, b)
	}
	decimal("dec5_2", 5, 2, "123.45", "-999.99")
	decimal("dec18_4", 18, 4, "12345678901234.5678", "-0.0001")
	decimal("dec38_6", 38, 6, "1000462.000462", "-99999999999999999999999999999999.999999")
	{
		b := array.NewStringBuilder(mem)
		b.AppendValues([]string{`héllo, "world"`, "", ""}, valid)
		add("str", b)
	}
	{
		b := array.NewLargeStringBuilder(mem)
		b.AppendValues([]string{"line\nbreak", "ü", ""}, valid)
		add("large_str", b)
	}
	{
		b := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
		for _, v := range []string{"b", "a"} {
			if err := b.AppendString(v); err != nil {
				t.Fatal(err)
			}
		}
		b.AppendNull()
		add("dict_str", b)
	}
	{
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		b.AppendValues([][]byte{{0, 0xff, 0x10}, {}, nil}, valid)
		add("bin", b)
	}
	{
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.LargeBinary)
		b.AppendValues([][]byte{{1, 2}, {0xfe}, nil}, valid)
		add("large_bin", b)
	}
	{
		b := array.NewBooleanBuilder(mem)
		b.AppendValues([]bool{true, false, false}, valid)
		add("bool", b)
	}
	{
		b := array.NewDate32Builder(mem)
		b.AppendValues([]arrow.Date32{19723, -1, 0}, valid)
		add("date32", b)
	}
	{
		b := array.NewDate64Builder(mem)
		b.AppendValues([]arrow.Date64{19723 * 86400000, -86400000, 0}, valid)
		add("date64", b)
	}
	{
		b := array.NewTime32Builder(mem, arrow.FixedWidthTypes.Time32s.(*arrow.Time32Type))
		b.AppendValues([]arrow.Time32{45296, 86399, 0}, valid)
		add("time32_s", b)
	}
	{
		b := array.NewTime32Builder(mem, arrow.FixedWidthTypes.Time32ms.(*arrow.Time32Type))
		b.AppendValues([]arrow.Time32{45296789, 0, 0}, valid)
		add("time32_ms", b)
	}
	{
		b := array.NewTime64Builder(mem, arrow.FixedWidthTypes.Time64us.(*arrow.Time64Type))
		b.AppendValues([]arrow.Time64{45296789012, 86399999999, 0}, valid)
		add("time64_us", b)
	}
	{
		b := array.NewTime64Builder(mem, arrow.FixedWidthTypes.Time64ns.(*arrow.Time64Type))
		b.AppendValues([]arrow.Time64{45296789012345, 1, 0}, valid)
		add("time64_ns", b)
	}
	timestamps := []struct {
		unit arrow.TimeUnit
		v    []arrow.Timestamp
	}{
		{arrow.Second, []arrow.Timestamp{1700000000, -86401, 0}},
		{arrow.Millisecond, []arrow.Timestamp{1700000000123, -1, 0}},
		{arrow.Microsecond, []arrow.Timestamp{1700000000123456, -1, 0}},
		{arrow.Nanosecond, []arrow.Timestamp{1700000000123456789, -1, 0}},
	}
	for _, zone := range []struct{ suffix, tz string }{{"naive", ""}, {"utc", "UTC"}, {"ny", "America/New_York"}} {
		for _, ts := range timestamps {
			b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: ts.unit, TimeZone: zone.tz})
			b.AppendValues(ts.v, valid)
			add("ts_"+ts.unit.String()+"_"+zone.suffix, b)
		}
	}
	{
		b := extensions.NewUUIDBuilder(mem)
		for _, u := range []string{"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "ffffffff-ffff-ffff-ffff-ffffffffffff"} {
			if err := b.AppendValueFromString(u); err != nil {
				t.Fatal(err)
			}
		}
		b.AppendNull()
		add("uuid", b)
	}
	{
		b := array.NewMonthDayNanoIntervalBuilder(mem)
		b.AppendValues([]arrow.MonthDayNanoInterval{{Months: 14, Days: 3, Nanoseconds: 4_005_000_000}, {}, {}}, valid)
		add("interval", b)
	}
	score := []float32{0.25, 3.5, float32(math.NaN())}
	flags := []bool{false, true, true}
	return cases, score, flags
}

// keptFixtureFields returns the fields of the fixture's columns, all
// nullable.
func keptFixtureFields(cases []keptCase) ([]arrow.Field, []arrow.Array) {
	fields := make([]arrow.Field, len(cases))
	arrs := make([]arrow.Array, len(cases))
	for i, c := range cases {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType(), Nullable: true}
		arrs[i] = c.arr
	}
	return fields, arrs
}

// canonical renders entry i of a the way readers_test.js renders what a
// reader returned, so the two can be compared as text: integers in
// decimal; floats as JavaScript prints numbers; decimals as exact decimal
// text; binaries and UUIDs in lower-case hex; dates as days since the
// epoch; times of day and timestamps as nanoseconds (since midnight, since
// the epoch); intervals as months/days/nanoseconds. Nulls are nil.
func canonical(a arrow.Array, i int) *string {
	if a.IsNull(i) {
		return nil
	}
	var s string
	switch a := a.(type) {
	case *array.Int8:
		s = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		s = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int32:
		s = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		s = strconv.FormatInt(a.Value(i), 10)
	case *array.Uint8:
		s = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint16:
		s = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint32:
		s = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint64:
		s = strconv.FormatUint(a.Value(i), 10)
	case *array.Float16:
		s = jsNumber(float64(a.Value(i).Float32()))
	case *array.Float32:
		s = jsNumber(float64(a.Value(i)))
	case *array.Float64:
		s = jsNumber(a.Value(i))
	case *array.Decimal128:
		s = a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Boolean:
		s = strconv.FormatBool(a.Value(i))
	case *array.String:
		s = a.Value(i)
	case *array.LargeString:
		s = a.Value(i)
	case *array.Dictionary:
		return canonical(a.Dictionary(), a.GetValueIndex(i))
	case *array.Binary:
		s = hex.EncodeToString(a.Value(i))
	case *array.LargeBinary:
		s = hex.EncodeToString(a.Value(i))
	case *array.Date32:
		s = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Date64:
		s = strconv.FormatInt(int64(a.Value(i))/86400000, 10)
	case *array.Time32:
		s = strconv.FormatInt(int64(a.Value(i))*int64(a.DataType().(*arrow.Time32Type).Unit.Multiplier()), 10)
	case *array.Time64:
		s = strconv.FormatInt(int64(a.Value(i))*int64(a.DataType().(*arrow.Time64Type).Unit.Multiplier()), 10)
	case *array.Timestamp:
		s = strconv.FormatInt(int64(a.Value(i))*int64(a.DataType().(*arrow.TimestampType).Unit.Multiplier()), 10)
	case *extensions.UUIDArray:
		s = hex.EncodeToString(a.Storage().(*array.FixedSizeBinary).Value(i))
	case *array.MonthDayNanoInterval:
		v := a.Value(i)
		s = strconv.Itoa(int(v.Months)) + "/" + strconv.Itoa(int(v.Days)) + "/" + strconv.FormatInt(v.Nanoseconds, 10)
	default:
		panic("canonical: no rendering for " + a.DataType().String())
	}
	return &s
}

// jsNumber formats v as JavaScript's Number.prototype.toString does: plain
// digits for magnitudes in [1e-6, 1e21), else an exponent without leading
// zeros; the shortest text that reads back as v in both cases.
func jsNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		return "0"
	}
	if abs := math.Abs(v); abs >= 1e-6 && abs < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(s, "e")
	sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + digits
}
