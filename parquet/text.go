package parquet

import (
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
)

// This file owns how a value reads as text: the CSV score file, the
// filter's text comparisons and the kept text columns of a sampled read
// all print values through formatter.

// formatter returns a function rendering entry i of arr as CSV text. Nulls
// render as the empty string; floats in their shortest exact form; decimals
// (of any width) as their exact decimal text with scale digits after the
// point; binaries in base64; durations as the count and unit (90s);
// intervals as JSON ({"months":1}); nested values as Arrow's JSON; dates as
// 2006-01-02; times of day as 15:04:05 with as many fractional digits as
// the value needs; timestamps as timestampText does.
func formatter(arr arrow.Array) func(i int) string {
	f := arr.ValueStr
	switch a := arr.(type) {
	case *array.Dictionary:
		inner := formatter(a.Dictionary())
		f = func(i int) string { return inner(a.GetValueIndex(i)) }
	case *array.RunEndEncoded:
		// Nulls are in the values, which inner prints as "".
		inner := formatter(a.Values())
		f = func(i int) string { return inner(a.GetPhysicalIndex(i)) }
	default:
		if text, ok := textFormats[arr.DataType().ID()]; ok {
			f = text(arr)
		}
	}
	if arr.NullN() == 0 {
		return f
	}
	return func(i int) string {
		if arr.IsNull(i) {
			return ""
		}
		return f(i)
	}
}

// textFormat returns a function rendering entry i of arr, which is not
// null, as text.
type textFormat func(arr arrow.Array) func(i int) string

// textFormats holds the textFormat of every Arrow type whose text is not
// Arrow's own (ValueStr), by type family: numbers, text, decimals, dates
// and times.
var textFormats = map[arrow.Type]textFormat{
	arrow.FLOAT16: float16Text,
	arrow.FLOAT32: floatText[float32](32),
	arrow.FLOAT64: floatText[float64](64),
	arrow.INT8:    intText[int8],
	arrow.INT16:   intText[int16],
	arrow.INT32:   intText[int32],
	arrow.INT64:   intText[int64],
	arrow.UINT8:   uintText[uint8],
	arrow.UINT16:  uintText[uint16],
	arrow.UINT32:  uintText[uint32],
	arrow.UINT64:  uintText[uint64],
	arrow.BOOL:    boolText,

	arrow.STRING:       stringText,
	arrow.LARGE_STRING: stringText,
	arrow.STRING_VIEW:  stringText,
	arrow.NULL:         nullText,

	arrow.INTERVAL_MONTHS: monthIntervalText,
	arrow.DECIMAL32:       scaledDecimalText[decimal.Decimal32],
	arrow.DECIMAL64:       scaledDecimalText[decimal.Decimal64],
	arrow.DECIMAL128:      wideDecimalText[decimal.Decimal128],
	arrow.DECIMAL256:      wideDecimalText[decimal.Decimal256],

	arrow.TIMESTAMP: timestampText,
	arrow.DATE32:    dateText[arrow.Date32],
	arrow.DATE64:    dateText[arrow.Date64],
	arrow.TIME32:    timeOfDayText[arrow.Time32],
	arrow.TIME64:    timeOfDayText[arrow.Time64],
}

// floatText prints floats in the shortest form that reads back as the
// same float of bits bits.
func floatText[T float32 | float64](bits int) textFormat {
	return func(arr arrow.Array) func(i int) string {
		a := arr.(valueArray[T])
		return func(i int) string { return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, bits) }
	}
}

// float16Text prints half floats as the float32 they widen to.
func float16Text(arr arrow.Array) func(i int) string {
	a := arr.(*array.Float16)
	return func(i int) string { return strconv.FormatFloat(float64(a.Value(i).Float32()), 'g', -1, 32) }
}

// intText prints signed integers in decimal.
func intText[T int8 | int16 | int32 | int64](arr arrow.Array) func(i int) string {
	a := arr.(valueArray[T])
	return func(i int) string { return strconv.FormatInt(int64(a.Value(i)), 10) }
}

// uintText prints unsigned integers in decimal.
func uintText[T uint8 | uint16 | uint32 | uint64](arr arrow.Array) func(i int) string {
	a := arr.(valueArray[T])
	return func(i int) string { return strconv.FormatUint(uint64(a.Value(i)), 10) }
}

// boolText prints booleans as true and false.
func boolText(arr arrow.Array) func(i int) string {
	a := arr.(*array.Boolean)
	return func(i int) string { return strconv.FormatBool(a.Value(i)) }
}

// stringText prints text as it is.
func stringText(arr arrow.Array) func(i int) string {
	return arr.(valueArray[string]).Value
}

// nullText prints the entries of a column of nulls.
func nullText(arrow.Array) func(i int) string {
	return func(int) string { return "" }
}

// monthIntervalText prints a count of months as Arrow prints the other
// intervals ({"days":1,"milliseconds":2}): {"months":1}.
func monthIntervalText(arr arrow.Array) func(i int) string {
	a := arr.(*array.MonthInterval)
	return func(i int) string { return `{"months":` + strconv.FormatInt(int64(a.Value(i)), 10) + "}" }
}

// decimalScale is the scale of a decimal array's type.
func decimalScale(arr arrow.Array) int32 {
	return arr.DataType().(arrow.DecimalType).GetScale()
}

// scaledDecimalText prints decimal32 and decimal64 values exactly, as
// scaledText does.
func scaledDecimalText[T ~int32 | ~int64](arr arrow.Array) func(i int) string {
	a, scale := arr.(valueArray[T]), decimalScale(arr)
	return func(i int) string { return scaledText(int64(a.Value(i)), scale) }
}

// wideDecimalText prints decimal128 and decimal256 values exactly, with
// scale digits after the point.
func wideDecimalText[T interface{ ToString(scale int32) string }](arr arrow.Array) func(i int) string {
	a, scale := arr.(valueArray[T]), decimalScale(arr)
	return func(i int) string { return a.Value(i).ToString(scale) }
}

// scaledText renders the decimal whose unscaled value is v and whose scale
// is scale (v × 10^-scale) exactly, with scale digits after the point.
// (decimal32 and decimal64 ToString go through binary floating point.)
func scaledText(v int64, scale int32) string {
	digits := strconv.FormatInt(v, 10)
	sign := ""
	if v < 0 {
		sign, digits = "-", digits[1:]
	}
	switch {
	case scale < 0:
		if v == 0 {
			return "0"
		}
		return sign + digits + strings.Repeat("0", int(-scale))
	case scale == 0:
		return sign + digits
	}
	if pad := int(scale) + 1 - len(digits); pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	point := len(digits) - int(scale)
	return sign + digits[:point] + "." + digits[point:]
}

// Layouts of times of day and naive timestamps: fractional seconds as
// needed, up to nanoseconds, without trailing zeros.
const (
	timeOfDayLayout      = "15:04:05.999999999"
	naiveTimestampLayout = "2006-01-02T15:04:05.999999999"
	zonedTimestampLayout = "2006-01-02T15:04:05.999999999Z07:00"
)

// dateText prints dates as 2006-01-02.
func dateText[T interface{ ToTime() time.Time }](arr arrow.Array) func(i int) string {
	a := arr.(valueArray[T])
	return func(i int) string { return a.Value(i).ToTime().Format(time.DateOnly) }
}

// timeOfDayText prints times of day as 15:04:05, with as many fractional
// digits as the value needs.
func timeOfDayText[T interface {
	ToTime(arrow.TimeUnit) time.Time
}](arr arrow.Array) func(i int) string {
	a, unit := arr.(valueArray[T]), arr.DataType().(arrow.TemporalWithUnit).TimeUnit()
	return func(i int) string { return a.Value(i).ToTime(unit).Format(timeOfDayLayout) }
}

// timestampText renders a timestamp without a time zone (a local, "naive"
// time) as 2006-01-02T15:04:05.999999999 with no Z or offset, and one with
// a time zone in RFC 3339 with the zone's offset at that instant (Z for
// UTC). A zone the system's tz database does not know is printed in UTC,
// which names the same instant.
func timestampText(arr arrow.Array) func(i int) string {
	a := arr.(*array.Timestamp)
	dt := a.DataType().(*arrow.TimestampType)
	if dt.TimeZone == "" {
		return func(i int) string { return a.Value(i).ToTime(dt.Unit).Format(naiveTimestampLayout) }
	}
	loc, err := dt.GetZone()
	if err != nil {
		loc = time.UTC
	}
	return func(i int) string { return a.Value(i).ToTime(dt.Unit).In(loc).Format(zonedTimestampLayout) }
}
