package parquet

import (
	"fmt"
	"math"
	"strings"

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

// add adds the counts of o, a batch's stats of the same column, and takes
// its bound.
func (s *valueStats) add(o valueStats) {
	s.nulls += o.nulls
	s.nonFinite += o.nonFinite
	s.overflow += o.overflow
	s.beyond += o.beyond
	s.bound, s.limit = o.bound, o.limit
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
	if arr.NullN() > 0 {
		for i, v := range vals[lo:hi] {
			if arr.IsNull(lo + i) {
				st.nulls++
				dst[i*stride] = nan32
				continue
			}
			put(dst[i*stride:], float64(v), st)
		}
		return
	}
	// The usual case, every value finite and within the limit, in a loop
	// without calls; a value beyond it (or NaN) sends the range through
	// put again to be counted.
	vals = vals[lo:hi]
	if len(vals) == 0 {
		return
	}
	dst = dst[:(len(vals)-1)*stride+1]
	limit := st.limit
	within := true
	for i, v := range vals {
		f := float32(v)
		dst[i*stride] = f
		if !(math.Abs(float64(f)) <= limit) {
			within = false
		}
	}
	if !within {
		for i, v := range vals {
			put(dst[i*stride:], float64(v), st)
		}
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
	if k, ok := numberKinds[arr.DataType().ID()]; ok {
		k.fill(arr, lo, hi, dst, stride, st)
		return nil
	}
	value, err := valueFunc(arr)
	if err != nil {
		return err
	}
	fillFunc(arr, value, lo, hi, dst, stride, st)
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
	if k, ok := numberKinds[arr.DataType().ID()]; ok {
		return k.value(arr), nil
	}
	switch a := arr.(type) {
	case *array.Float16:
		return func(i int) float64 { return float64(a.Value(i).Float32()) }, nil
	case *array.Boolean:
		return func(i int) float64 {
			if a.Value(i) {
				return 1
			}
			return 0
		}, nil
	case *array.Decimal128:
		return decimalValue(a), nil
	case *array.Decimal256:
		return decimalValue(a), nil
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

// valueArray is an Arrow array whose entry i is Value(i), of type T.
type valueArray[T any] interface {
	arrow.Array
	Value(i int) T
}

// valuesArray is an Arrow array backed by a Go slice of T, as arrow-go's
// integer and float arrays are.
type valuesArray[T any] interface {
	arrow.Array
	Values() []T
}

// numberKind is how the arrays of an Arrow type backed by a Go slice of
// numbers become numbers.
type numberKind struct {
	// fill converts entries lo..hi-1 of arr into dst[(i-lo)*stride], as
	// fillNumbers does.
	fill func(arr arrow.Array, lo, hi int, dst []float32, stride int, st *valueStats)
	// value returns a function reading entry i of arr as float64.
	value func(arr arrow.Array) func(i int) float64
}

// numberKindOf returns the numberKind of the arrays backed by a []T.
func numberKindOf[T number]() numberKind {
	return numberKind{
		fill: func(arr arrow.Array, lo, hi int, dst []float32, stride int, st *valueStats) {
			fillNumbers(arr.(valuesArray[T]).Values(), arr, lo, hi, dst, stride, st)
		},
		value: func(arr arrow.Array) func(i int) float64 {
			vals := arr.(valuesArray[T]).Values()
			return func(i int) float64 { return float64(vals[i]) }
		},
	}
}

// numberKinds holds the numberKind of every Arrow type whose arrays are a
// Go slice of numbers; the other convertible types go through valueFunc's
// cases.
var numberKinds = map[arrow.Type]numberKind{
	arrow.INT8:    numberKindOf[int8](),
	arrow.INT16:   numberKindOf[int16](),
	arrow.INT32:   numberKindOf[int32](),
	arrow.INT64:   numberKindOf[int64](),
	arrow.UINT8:   numberKindOf[uint8](),
	arrow.UINT16:  numberKindOf[uint16](),
	arrow.UINT32:  numberKindOf[uint32](),
	arrow.UINT64:  numberKindOf[uint64](),
	arrow.FLOAT32: numberKindOf[float32](),
	arrow.FLOAT64: numberKindOf[float64](),
}

// decimalValue returns a function reading entry i of a Decimal128 or
// Decimal256 array as float64, at the scale of its type.
func decimalValue[T interface{ ToFloat64(scale int32) float64 }](a valueArray[T]) func(i int) float64 {
	scale := a.DataType().(arrow.DecimalType).GetScale()
	return func(i int) float64 { return a.Value(i).ToFloat64(scale) }
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
