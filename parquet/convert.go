package parquet

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// isNumeric reports whether columns of type dt become features in the
// default selection: integers, floats and decimals, plain or dictionary
// encoded.
func isNumeric(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	case arrow.DICTIONARY:
		return isNumeric(dt.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// isConvertible reports whether columns of type dt can be converted to
// numbers at all: the numeric types plus booleans (as 0 and 1).
func isConvertible(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.BOOL:
		return true
	case arrow.DICTIONARY:
		return isConvertible(dt.(*arrow.DictionaryType).ValueType)
	}
	return isNumeric(dt)
}

// typeName describes an Arrow type for users.
func typeName(dt arrow.DataType) string {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return "string"
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return "binary"
	case arrow.DICTIONARY:
		return "dictionary of " + typeName(dt.(*arrow.DictionaryType).ValueType)
	}
	return dt.String()
}

// valueStats counts the values of one column that cannot be used.
type valueStats struct {
	nulls     int // null entries
	nonFinite int // NaN or ±Inf in the source data
	overflow  int // finite in the source but beyond the float32 range
	beyond    int // within the float32 range but beyond ±bound
	// bound is Selection.MaxMagnitude (0: none); limit is the magnitude
	// up to which a value needs no closer look: bound, or the float32
	// range.
	bound, limit float64
}

// setBound sets the magnitude beyond which values count as missing (0:
// none).
func (s *valueStats) setBound(bound float64) {
	s.bound, s.limit = bound, math.MaxFloat32
	if bound > 0 && bound < s.limit {
		s.limit = bound
	}
}

func (s valueStats) bad() bool { return s.nulls+s.nonFinite+s.overflow+s.beyond > 0 }

func (s valueStats) String() string {
	var parts []string
	if s.nulls > 0 {
		parts = append(parts, plural(s.nulls, "null"))
	}
	if s.nonFinite > 0 {
		parts = append(parts, fmt.Sprintf("%d NaN/Inf", s.nonFinite))
	}
	if s.overflow > 0 {
		parts = append(parts, fmt.Sprintf("%d outside the float32 range", s.overflow))
	}
	if s.beyond > 0 {
		parts = append(parts, fmt.Sprintf("%s beyond ±%g (treated as missing)", plural(s.beyond, "value"), s.bound))
	}
	return strings.Join(parts, ", ")
}

// number is every Go type backing a numeric Arrow array.
type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// nan32 stands for a null in the feature matrix.
var nan32 = float32(math.NaN())

// put stores v as float32 at dst[0], counting NaN, Inf, float32 overflow
// and values beyond the bound. It leaves the value as it is: a caller that
// allows missing values treats them as missing itself.
func put(dst []float32, v float64, st *valueStats) {
	f := float32(v)
	dst[0] = f
	// The bound applies to the float32 that is stored, as every later
	// reader of the matrix (the pipeline, the ONNX graph) sees it: a
	// float64 just under the bound can round to a float32 above it.
	a := math.Abs(float64(f))
	if a <= st.limit {
		return
	}
	switch {
	case v != v || math.IsInf(v, 0):
		st.nonFinite++
	case math.IsInf(float64(f), 0):
		st.overflow++
	case st.bound > 0 && a > st.bound:
		st.beyond++
	}
}

// fillNumbers converts vals[lo:hi], values of arr, into dst[(i-lo)*stride].
func fillNumbers[T number](vals []T, arr arrow.Array, lo, hi int, dst []float32, stride int, st *valueStats) {
	hasNulls := arr.NullN() > 0
	for i, v := range vals[lo:hi] {
		if hasNulls && arr.IsNull(lo+i) {
			st.nulls++
			dst[i*stride] = nan32
			continue
		}
		put(dst[i*stride:], float64(v), st)
	}
}

// fillFunc converts entries lo..hi-1 of arr via value into
// dst[(i-lo)*stride].
func fillFunc(arr arrow.Array, value func(i int) float64, lo, hi int, dst []float32, stride int, st *valueStats) {
	hasNulls := arr.NullN() > 0
	for i := lo; i < hi; i++ {
		if hasNulls && arr.IsNull(i) {
			st.nulls++
			dst[(i-lo)*stride] = nan32
			continue
		}
		put(dst[(i-lo)*stride:], value(i), st)
	}
}

// toFloat32 converts arr into dst[i*stride] for i in [0, arr.Len()),
// counting nulls and non-finite values in st. It fails only for types that
// isConvertible rejects.
func toFloat32(arr arrow.Array, dst []float32, stride int, st *valueStats) error {
	return toFloat32Range(arr, 0, arr.Len(), dst, stride, st)
}

// toFloat32Range converts entries lo..hi-1 of arr into dst[(i-lo)*stride].
func toFloat32Range(arr arrow.Array, lo, hi int, dst []float32, stride int, st *valueStats) error {
	switch a := arr.(type) {
	case *array.Int8:
		fillNumbers(a.Int8Values(), arr, lo, hi, dst, stride, st)
	case *array.Int16:
		fillNumbers(a.Int16Values(), arr, lo, hi, dst, stride, st)
	case *array.Int32:
		fillNumbers(a.Int32Values(), arr, lo, hi, dst, stride, st)
	case *array.Int64:
		fillNumbers(a.Int64Values(), arr, lo, hi, dst, stride, st)
	case *array.Uint8:
		fillNumbers(a.Uint8Values(), arr, lo, hi, dst, stride, st)
	case *array.Uint16:
		fillNumbers(a.Uint16Values(), arr, lo, hi, dst, stride, st)
	case *array.Uint32:
		fillNumbers(a.Uint32Values(), arr, lo, hi, dst, stride, st)
	case *array.Uint64:
		fillNumbers(a.Uint64Values(), arr, lo, hi, dst, stride, st)
	case *array.Float32:
		fillNumbers(a.Float32Values(), arr, lo, hi, dst, stride, st)
	case *array.Float64:
		fillNumbers(a.Float64Values(), arr, lo, hi, dst, stride, st)
	default:
		value, err := valueFunc(arr)
		if err != nil {
			return err
		}
		fillFunc(arr, value, lo, hi, dst, stride, st)
	}
	return nil
}

// tileRows is how many rows convertBatch fills at a time: a tile of rows
// stays in the cache while every column is written into it.
const tileRows = 512

// convertBatch converts the feature columns of a batch of n rows into the
// row-major dst (n × nf), a tile of rows at a time, so that memory is
// written once rather than once per column. features[j] holds column j's
// chunks; stats[j] counts its unusable values, among them those beyond
// ±bound when bound is above 0.
func convertBatch(features [][]arrow.Array, names []string, n int, dst []float32, stats []valueStats, bound float64) error {
	nf := len(features)
	for j, chunks := range features {
		stats[j].setBound(bound)
		rows := 0
		for _, c := range chunks {
			rows += c.Len()
			if !isConvertible(c.DataType()) {
				return badInput("column %q: type %s cannot be converted to numbers", names[j], typeName(c.DataType()))
			}
		}
		if rows != n {
			return badInput("the file is corrupt: column %q has %d rows in a batch of %d", names[j], rows, n)
		}
	}
	for t0 := 0; t0 < n; t0 += tileRows {
		t1 := min(t0+tileRows, n)
		for j, chunks := range features {
			off := 0 // first row of the chunk
			for _, c := range chunks {
				lo, hi := max(t0, off), min(t1, off+c.Len())
				if lo < hi {
					if err := toFloat32Range(c, lo-off, hi-off, dst[lo*nf+j:], nf, &stats[j]); err != nil {
						return badInput("column %q: %w", names[j], err)
					}
				}
				off += c.Len()
			}
		}
	}
	return nil
}

// valueFunc returns a function reading entry i of arr as float64, for any
// type isConvertible accepts. Null entries must be skipped by the caller.
func valueFunc(arr arrow.Array) (func(i int) float64, error) {
	switch a := arr.(type) {
	case *array.Int8:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Int16:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Int32:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Int64:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Uint8:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Uint16:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Uint32:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Uint64:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Float16:
		return func(i int) float64 { return float64(a.Value(i).Float32()) }, nil
	case *array.Float32:
		return func(i int) float64 { return float64(a.Value(i)) }, nil
	case *array.Float64:
		return a.Value, nil
	case *array.Boolean:
		return func(i int) float64 {
			if a.Value(i) {
				return 1
			}
			return 0
		}, nil
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return func(i int) float64 { return a.Value(i).ToFloat64(scale) }, nil
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return func(i int) float64 { return a.Value(i).ToFloat64(scale) }, nil
	case *array.Dictionary:
		dict := a.Dictionary()
		inner, err := valueFunc(dict)
		if err != nil {
			return nil, err
		}
		return func(i int) float64 {
			j := a.GetValueIndex(i)
			if dict.IsNull(j) {
				return math.NaN()
			}
			return inner(j)
		}, nil
	}
	return nil, fmt.Errorf("type %s cannot be converted to numbers", typeName(arr.DataType()))
}

// formatter returns a function rendering entry i of arr as CSV text. Nulls
// render as the empty string; floats in their shortest exact form; decimals
// (of any width) as their exact decimal text with scale digits after the
// point; binaries in base64; durations as the count and unit (90s);
// intervals as JSON ({"months":1}); nested values as Arrow's JSON; dates as
// 2006-01-02; times of day as 15:04:05 with as many fractional digits as
// the value needs; timestamps as timestampFormatter does.
func formatter(arr arrow.Array) func(i int) string {
	var f func(i int) string
	switch a := arr.(type) {
	case *array.Float32:
		f = func(i int) string { return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32) }
	case *array.Float64:
		f = func(i int) string { return strconv.FormatFloat(a.Value(i), 'g', -1, 64) }
	case *array.Float16:
		f = func(i int) string { return strconv.FormatFloat(float64(a.Value(i).Float32()), 'g', -1, 32) }
	case *array.Int8:
		f = func(i int) string { return strconv.FormatInt(int64(a.Value(i)), 10) }
	case *array.Int16:
		f = func(i int) string { return strconv.FormatInt(int64(a.Value(i)), 10) }
	case *array.Int32:
		f = func(i int) string { return strconv.FormatInt(int64(a.Value(i)), 10) }
	case *array.Int64:
		f = func(i int) string { return strconv.FormatInt(a.Value(i), 10) }
	case *array.Uint8:
		f = func(i int) string { return strconv.FormatUint(uint64(a.Value(i)), 10) }
	case *array.Uint16:
		f = func(i int) string { return strconv.FormatUint(uint64(a.Value(i)), 10) }
	case *array.Uint32:
		f = func(i int) string { return strconv.FormatUint(uint64(a.Value(i)), 10) }
	case *array.Uint64:
		f = func(i int) string { return strconv.FormatUint(a.Value(i), 10) }
	case *array.Boolean:
		f = func(i int) string { return strconv.FormatBool(a.Value(i)) }
	case *array.String:
		f = a.Value
	case *array.LargeString:
		f = a.Value
	case *array.Dictionary:
		inner := formatter(a.Dictionary())
		f = func(i int) string { return inner(a.GetValueIndex(i)) }
	case *array.RunEndEncoded:
		// Nulls are in the values, which inner prints as "".
		inner := formatter(a.Values())
		f = func(i int) string { return inner(a.GetPhysicalIndex(i)) }
	case *array.StringView:
		f = a.Value
	case *array.Null:
		f = func(int) string { return "" }
	case *array.MonthInterval:
		// As Arrow prints the other intervals: {"days":1,"milliseconds":2}.
		f = func(i int) string { return `{"months":` + strconv.FormatInt(int64(a.Value(i)), 10) + "}" }
	case *array.Decimal32:
		scale := a.DataType().(*arrow.Decimal32Type).Scale
		f = func(i int) string { return scaledText(int64(a.Value(i)), scale) }
	case *array.Decimal64:
		scale := a.DataType().(*arrow.Decimal64Type).Scale
		f = func(i int) string { return scaledText(int64(a.Value(i)), scale) }
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		f = func(i int) string { return a.Value(i).ToString(scale) }
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		f = func(i int) string { return a.Value(i).ToString(scale) }
	case *array.Timestamp:
		f = timestampFormatter(a)
	case *array.Date32:
		f = func(i int) string { return a.Value(i).ToTime().Format(time.DateOnly) }
	case *array.Date64:
		f = func(i int) string { return a.Value(i).ToTime().Format(time.DateOnly) }
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		f = func(i int) string { return a.Value(i).ToTime(unit).Format(timeOfDayLayout) }
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		f = func(i int) string { return a.Value(i).ToTime(unit).Format(timeOfDayLayout) }
	default:
		f = arr.ValueStr
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

// timestampFormatter renders a timestamp without a time zone (a local,
// "naive" time) as 2006-01-02T15:04:05.999999999 with no Z or offset, and
// one with a time zone in RFC 3339 with the zone's offset at that instant
// (Z for UTC). A zone the system's tz database does not know is printed in
// UTC, which names the same instant.
func timestampFormatter(a *array.Timestamp) func(i int) string {
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

// checkStats reports every feature column holding missing values: nulls,
// non-finite values, values beyond the float32 range or beyond ±bound.
func checkStats(names []string, stats []valueStats) error {
	var parts []string
	for j, st := range stats {
		if st.bad() {
			parts = append(parts, fmt.Sprintf("column %q: %s", names[j], st))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return badInput("feature columns contain missing or non-finite values (%s); drop or impute those rows, or leave the columns out of the features", strings.Join(parts, "; "))
}
