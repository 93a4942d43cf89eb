package parquet

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// This file decides how each kept column travels into a score file: which
// Arrow types are written as they are, which are converted to a type that
// Parquet carries faithfully (string views, intervals), and which are
// refused before any row is scored.

// maxKeptDecimalPrecision is the largest decimal precision kept columns
// may have: DuckDB, Polars and most engines stop at 38 digits and read
// wider decimals as floats, which is not the value that was written.
const maxKeptDecimalPrecision = 38

// keptConverter turns a batch of a kept column into the array written to
// Parquet; nil means the array is written as it is.
type keptConverter func(arrow.Array) (arrow.Array, error)

// CheckKeptFields reports whether every kept column can be carried into a
// score file of the given format with its values and logical type intact.
// A column that cannot is an error wrapping [ErrBadInput] naming the
// column, its type and what to do; a kept column named like an output
// column is an error wrapping [ErrUsage]. NewScoreWriter makes the same
// checks; calling this first lets a caller refuse before scoring.
func CheckKeptFields(kept []arrow.Field, format Format) error {
	_, _, err := planKeptFields(kept, format, ScoreLayout{}.outputFields(format))
	return err
}

// planKeptFields checks every kept column (see CheckKeptFields) and
// returns the fields written for them and the conversions of their arrays
// (nil: none). outputs are the columns written after them, whose names a
// kept column must not take.
func planKeptFields(kept []arrow.Field, format Format, outputs []arrow.Field) ([]arrow.Field, []keptConverter, error) {
	fields := make([]arrow.Field, len(kept))
	convs := make([]keptConverter, len(kept))
	for i, f := range kept {
		if slices.ContainsFunc(outputs, func(o arrow.Field) bool { return o.Name == f.Name }) {
			return nil, nil, usageError("write scores: kept column %q clashes with the output column of the same name; do not keep it, or rename it in the input", f.Name)
		}
		out, conv, err := planKept(f, format)
		if err != nil {
			return nil, nil, err
		}
		fields[i], convs[i] = out, conv
	}
	return fields, convs, nil
}

// planKept returns the field written for a kept column of the given format
// and the conversion of its arrays (nil: none).
//
// CSV writes every value as text (see formatter) and refuses only what
// that text would not give exactly (see csvRefusal); the Parquet rules
// below do not apply to it.
//
// Arrow carries every kept column with its type unchanged.
//
// For Parquet, types Parquet lacks become their nearest exact equivalent,
// declared as such in the stored Arrow schema so that every reader gets
// the same type: timestamp[s] and time32[s] become milliseconds, date64
// becomes date32, string and binary views become large strings and
// binaries, intervals become Parquet INTERVAL (12 bytes; Arrow readers see
// a fixed_size_binary[12]).
func planKept(f arrow.Field, format Format) (arrow.Field, keptConverter, error) {
	if format == Arrow {
		return f, nil, nil // an Arrow stream carries every Arrow type as it is
	}
	if format == CSV {
		if why := csvRefusal(f.Type, false); why != "" {
			return arrow.Field{}, nil, badInput("kept column %q is %s, which a CSV score file cannot print exactly (%s); do not keep it, cast it in the input, or write the score file as Parquet", f.Name, f.Type, why)
		}
		return f, nil, nil
	}
	dt, conv, why := keptType(f.Type)
	if why != "" {
		return arrow.Field{}, nil, badInput("kept column %q is %s, which a Parquet score file cannot carry faithfully (%s); do not keep it, cast it in the input to a type that can be kept (numbers, decimals up to 38 digits, strings, binary, booleans, dates, times, timestamps, UUIDs, intervals), or write the score file as CSV", f.Name, f.Type, why)
	}
	out := f
	out.Type = dt
	return out, conv, nil
}

// csvRefusal says why a kept column of type dt cannot be printed exactly
// in a CSV score file, or returns "". Every top-level type can: formatter
// prints numbers, decimals, dates, times and timestamps exactly, binaries
// in base64, durations with their unit, and the rest as Arrow's ValueStr.
// Nested columns are printed as Arrow's JSON, which renders decimals
// through binary floating point and may change their last digits; those
// are refused, as are unions, whose text does not tell a null from the
// string "(null)".
func csvRefusal(dt arrow.DataType, nested bool) string {
	switch dt := dt.(type) {
	case arrow.DecimalType:
		if nested {
			return "a decimal inside a nested column is printed through binary floating point, which can change its last digits"
		}
	case *arrow.DictionaryType:
		return csvRefusal(dt.ValueType, nested)
	case *arrow.RunEndEncodedType:
		return csvRefusal(dt.Encoded(), nested)
	case arrow.ExtensionType:
		return csvRefusal(dt.StorageType(), nested)
	case arrow.UnionType:
		return "a union is printed as its type code and value, with a null as the text (null)"
	case arrow.NestedType:
		for _, f := range dt.Fields() {
			if why := csvRefusal(f.Type, true); why != "" {
				return why
			}
		}
	}
	return ""
}

// keptType maps a kept column's Arrow type to the type of the arrays given
// to the Parquet writer (see storedType for the type readers get) and the
// conversion from one to the other, or says why it cannot be kept.
func keptType(dt arrow.DataType) (arrow.DataType, keptConverter, string) {
	switch dt.ID() {
	case arrow.NULL, arrow.BOOL,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY, arrow.FIXED_SIZE_BINARY,
		arrow.DATE32, arrow.TIME64:
		return dt, nil, ""
	case arrow.TIMESTAMP:
		ts := dt.(*arrow.TimestampType)
		var conv keptConverter
		if ts.Unit == arrow.Second {
			// Parquet has no seconds: written as milliseconds, and declared
			// so, because readers (arrow-go's too) drop a stored Arrow type
			// that disagrees with the file's, time zone and all.
			ts = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: ts.TimeZone}
			conv = secondsToMillis
		}
		if ts.TimeZone != "" {
			return ts, conv, ""
		}
		return naiveTimestamps[ts.Unit], naiveConverter(conv), ""
	case arrow.TIME32:
		if dt.(*arrow.Time32Type).Unit == arrow.Second {
			return arrow.FixedWidthTypes.Time32ms, secondsToMillis, ""
		}
		return dt, nil, ""
	case arrow.DATE64:
		// Parquet's DATE counts days, as date32 does.
		return arrow.FixedWidthTypes.Date32, date64ToDate32, ""
	case arrow.DECIMAL128, arrow.DECIMAL256:
		if p := dt.(arrow.DecimalType).GetPrecision(); p > maxKeptDecimalPrecision {
			return nil, nil, fmt.Sprintf("readers such as DuckDB and Polars hold at most %d digits and would read %d as a float", maxKeptDecimalPrecision, p)
		}
		return dt, nil, ""
	case arrow.STRING_VIEW:
		return arrow.BinaryTypes.LargeString, viewToLarge, ""
	case arrow.BINARY_VIEW:
		return arrow.BinaryTypes.LargeBinary, viewToLarge, ""
	case arrow.INTERVAL_MONTHS, arrow.INTERVAL_DAY_TIME, arrow.INTERVAL_MONTH_DAY_NANO:
		return parquetInterval, toParquetInterval, ""
	case arrow.DICTIONARY:
		vt := dt.(*arrow.DictionaryType).ValueType
		if _, conv, why := keptType(vt); why != "" {
			return nil, nil, "a dictionary of " + vt.String() + ": " + why
		} else if conv != nil {
			return nil, nil, "a dictionary of " + vt.String() + " is not supported; decode the dictionary in the input"
		}
		return dt, nil, ""
	case arrow.EXTENSION:
		switch dt.(type) {
		case *extensions.UUIDType, *extensions.JSONType:
			return dt, nil, ""
		}
		return nil, nil, "Parquet has no logical type for the extension " + dt.(arrow.ExtensionType).ExtensionName()
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.STRUCT, arrow.MAP:
		// Nested columns are written as they are when every leaf is.
		for _, f := range dt.(arrow.NestedType).Fields() {
			if _, conv, why := keptType(f.Type); why != "" {
				return nil, nil, fmt.Sprintf("it holds %s: %s", f.Type, why)
			} else if conv != nil {
				return nil, nil, fmt.Sprintf("it holds %s, which is converted at the top level only; cast it in the input", f.Type)
			}
		}
		return dt, nil, ""
	case arrow.DURATION:
		return nil, nil, "Parquet has no duration type"
	case arrow.DECIMAL32, arrow.DECIMAL64:
		return nil, nil, "the Parquet writer takes decimal128 only; cast it to decimal128 with the same precision and scale"
	}
	return nil, nil, "Parquet has no type for it"
}

// naiveTimestampType is a timestamp without a time zone, written to
// Parquet as TIMESTAMP(isAdjustedToUTC=false) and nothing else. pqarrow
// also sets the legacy converted type TIMESTAMP_MILLIS/MICROS on such
// columns, which the format defines as adjusted to UTC: DuckDB, Polars
// and arrow-go itself then read a local time as an instant in UTC. It
// never appears in the schema stored in the file (see storedSchema).
type naiveTimestampType struct {
	arrow.ExtensionBase
}

// naiveTimestampArray is the array of a naiveTimestampType.
type naiveTimestampArray struct {
	array.ExtensionArrayBase
}

// naiveTimestamps holds one naiveTimestampType per unit Parquet has.
var naiveTimestamps = map[arrow.TimeUnit]*naiveTimestampType{
	arrow.Millisecond: {arrow.ExtensionBase{Storage: &arrow.TimestampType{Unit: arrow.Millisecond}}},
	arrow.Microsecond: {arrow.ExtensionBase{Storage: &arrow.TimestampType{Unit: arrow.Microsecond}}},
	arrow.Nanosecond:  {arrow.ExtensionBase{Storage: &arrow.TimestampType{Unit: arrow.Nanosecond}}},
}

// ArrayType implements arrow.ExtensionType.
func (*naiveTimestampType) ArrayType() reflect.Type { return reflect.TypeOf(naiveTimestampArray{}) }

// ExtensionName implements arrow.ExtensionType.
func (*naiveTimestampType) ExtensionName() string { return "vaejob.naive_timestamp" }

// Serialize implements arrow.ExtensionType.
func (*naiveTimestampType) Serialize() string { return "" }

// Deserialize implements arrow.ExtensionType.
func (*naiveTimestampType) Deserialize(storage arrow.DataType, _ string) (arrow.ExtensionType, error) {
	if ts, ok := storage.(*arrow.TimestampType); ok && ts.TimeZone == "" && naiveTimestamps[ts.Unit] != nil {
		return naiveTimestamps[ts.Unit], nil
	}
	return nil, fmt.Errorf("vaejob.naive_timestamp: storage %s, want a timestamp in ms, us or ns without a time zone", storage)
}

// ExtensionEquals implements arrow.ExtensionType.
func (t *naiveTimestampType) ExtensionEquals(o arrow.ExtensionType) bool {
	return o.ExtensionName() == t.ExtensionName() && arrow.TypeEqual(o.StorageType(), t.Storage)
}

// ParquetLogicalType implements pqarrow.ExtensionCustomParquetType.
func (t *naiveTimestampType) ParquetLogicalType() schema.LogicalType {
	unit := map[arrow.TimeUnit]schema.TimeUnitType{
		arrow.Millisecond: schema.TimeUnitMillis,
		arrow.Microsecond: schema.TimeUnitMicros,
		arrow.Nanosecond:  schema.TimeUnitNanos,
	}[t.Storage.(*arrow.TimestampType).Unit]
	return schema.NewTimestampLogicalType(false, unit)
}

// naiveConverter returns a converter applying conv (if any) and then
// marking the timestamps as naive for the Parquet writer.
func naiveConverter(conv keptConverter) keptConverter {
	return func(a arrow.Array) (arrow.Array, error) {
		if conv != nil {
			c, err := conv(a)
			if err != nil {
				return nil, err
			}
			defer c.Release()
			a = c
		}
		unit := a.DataType().(*arrow.TimestampType).Unit
		return array.NewExtensionArrayWithStorage(naiveTimestamps[unit], a), nil
	}
}

// valueBuilder is an Arrow builder appending values of type T.
type valueBuilder[T any] interface {
	array.Builder
	Append(T)
}

// mapValues fills b with value(i) for each entry i of a, nulls staying
// null, and returns the new array; the first error stops it. b is
// released.
func mapValues[T any](b valueBuilder[T], a arrow.Array, value func(i int) (T, error)) (arrow.Array, error) {
	defer b.Release()
	b.Reserve(a.Len())
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		v, err := value(i)
		if err != nil {
			return nil, err
		}
		b.Append(v)
	}
	return b.NewArray(), nil
}

// secondsToMillis converts a timestamp or time32 array in seconds into the
// same type in milliseconds. A value whose milliseconds overflow the type
// (beyond about ±292 million years for a timestamp) is an error wrapping
// [ErrBadInput] rather than a wrong value.
func secondsToMillis(a arrow.Array) (arrow.Array, error) {
	mem := memory.DefaultAllocator
	tooLarge := func(secs int64) error {
		return badInput("%d seconds does not fit the type in milliseconds that Parquet needs (it has no seconds); do not keep the column, fix the value in the input, or write the score file as CSV", secs)
	}
	switch v := a.(type) {
	case *array.Timestamp:
		ts := v.DataType().(*arrow.TimestampType)
		b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: ts.TimeZone})
		return mapValues(b, a, func(i int) (arrow.Timestamp, error) {
			s := int64(v.Value(i))
			if s > math.MaxInt64/1000 || s < math.MinInt64/1000 {
				return 0, tooLarge(s)
			}
			return arrow.Timestamp(s * 1000), nil
		})
	case *array.Time32:
		b := array.NewTime32Builder(mem, arrow.FixedWidthTypes.Time32ms.(*arrow.Time32Type))
		return mapValues(b, a, func(i int) (arrow.Time32, error) {
			s := int64(v.Value(i))
			if s > math.MaxInt32/1000 || s < math.MinInt32/1000 {
				return 0, tooLarge(s)
			}
			return arrow.Time32(s * 1000), nil
		})
	}
	return nil, fmt.Errorf("secondsToMillis: unexpected %s", a.DataType())
}

// date64ToDate32 converts dates in milliseconds into dates in days (a
// date64 holds whole days; a stray time of day is dropped, as Parquet
// writers do).
func date64ToDate32(a arrow.Array) (arrow.Array, error) {
	v, ok := a.(*array.Date64)
	if !ok {
		return nil, fmt.Errorf("date64ToDate32: unexpected %s", a.DataType())
	}
	const msPerDay = 86400000
	return mapValues(array.NewDate32Builder(memory.DefaultAllocator), a, func(i int) (arrow.Date32, error) {
		ms := int64(v.Value(i))
		days := ms / msPerDay
		if ms%msPerDay < 0 {
			days--
		}
		return arrow.Date32(days), nil
	})
}

// storedType is the Arrow type readers get for a column the Parquet writer
// is given as dt: dt itself, except for the extension types of this file,
// which only steer the writer's choice of logical type.
func storedType(dt arrow.DataType) arrow.DataType {
	switch dt := dt.(type) {
	case *naiveTimestampType:
		return dt.StorageType()
	case *intervalType:
		// Stored as the bytes they are: a month_day_nano hint makes
		// Polars and arrow-rs refuse the whole file.
		return dt.StorageType()
	case *extensions.UUIDType:
		// The Parquet UUID logical type tells readers what it is; the
		// extension in the stored schema would make Polars refuse the
		// whole file ("cannot create series from Extension").
		return dt.StorageType()
	}
	return dt
}

// storedSchemaMetadata returns the file metadata entry that arrow-go,
// arrow-rs and Arrow C++ read the Arrow types of the columns from
// ("ARROW:schema": the schema as an IPC message, base64). It is written
// here rather than by pqarrow.WithStoreSchema so that it names the types
// readers get, not the extension types that steer the writer. List
// elements are named "element", as in the Parquet schema.
func storedSchemaMetadata(fields []arrow.Field) (arrow.Metadata, error) {
	stored := make([]arrow.Field, len(fields))
	for i, f := range fields {
		f.Type = parquetNames(storedType(f.Type))
		stored[i] = f
	}
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(arrow.NewSchema(stored, nil)))
	if err := w.Close(); err != nil {
		return arrow.Metadata{}, err
	}
	return arrow.NewMetadata([]string{"ARROW:schema"}, []string{base64.StdEncoding.EncodeToString(buf.Bytes())}), nil
}

// parquetNames renames the element fields of lists to "element", the name
// the Parquet writer gives their groups (as pqarrow.WithStoreSchema does),
// at any depth.
func parquetNames(dt arrow.DataType) arrow.DataType {
	elem := func(f arrow.Field) arrow.Field {
		f.Name = "element"
		f.Type = parquetNames(f.Type)
		return f
	}
	inner := func(f arrow.Field) arrow.Field {
		f.Type = parquetNames(f.Type)
		return f
	}
	switch dt := dt.(type) {
	case *arrow.ListType:
		return arrow.ListOfField(elem(dt.ElemField()))
	case *arrow.LargeListType:
		return arrow.LargeListOfField(elem(dt.ElemField()))
	case *arrow.FixedSizeListType:
		return arrow.FixedSizeListOfField(dt.Len(), elem(dt.ElemField()))
	case *arrow.MapType:
		return arrow.MapOfFields(inner(dt.KeyField()), inner(dt.ItemField()))
	case *arrow.StructType:
		fields := dt.Fields()
		for i := range fields {
			fields[i] = inner(fields[i])
		}
		return arrow.StructOf(fields...)
	}
	return dt
}

// viewToLarge copies a string or binary view array into a large string or
// large binary array, which Parquet writers take.
func viewToLarge(a arrow.Array) (arrow.Array, error) {
	mem := memory.DefaultAllocator
	switch v := a.(type) {
	case *array.StringView:
		return mapValues(array.NewLargeStringBuilder(mem), a, func(i int) (string, error) { return v.Value(i), nil })
	case *array.BinaryView:
		return mapValues(array.NewBinaryBuilder(mem, arrow.BinaryTypes.LargeBinary), a, func(i int) ([]byte, error) { return v.Value(i), nil })
	}
	return nil, fmt.Errorf("viewToLarge: unexpected %s", a.DataType())
}

// intervalType is a fixed-size binary of 12 bytes holding a Parquet
// INTERVAL: months, days and milliseconds as little-endian unsigned 32-bit
// integers. It only exists to give the Parquet column that logical type
// (pqarrow asks extension types for theirs).
type intervalType struct {
	arrow.ExtensionBase
}

// parquetInterval is the type Arrow intervals are written as.
var parquetInterval = &intervalType{ExtensionBase: arrow.ExtensionBase{Storage: &arrow.FixedSizeBinaryType{ByteWidth: 12}}}

// intervalArray is the array of an intervalType.
type intervalArray struct {
	array.ExtensionArrayBase
}

// ArrayType implements arrow.ExtensionType.
func (*intervalType) ArrayType() reflect.Type { return reflect.TypeOf(intervalArray{}) }

// ExtensionName implements arrow.ExtensionType.
func (*intervalType) ExtensionName() string { return "vaejob.parquet_interval" }

// Serialize implements arrow.ExtensionType.
func (*intervalType) Serialize() string { return "" }

// Deserialize implements arrow.ExtensionType.
func (*intervalType) Deserialize(storage arrow.DataType, _ string) (arrow.ExtensionType, error) {
	if !arrow.TypeEqual(storage, parquetInterval.Storage) {
		return nil, fmt.Errorf("vaejob.parquet_interval: storage %s, want fixed_size_binary[12]", storage)
	}
	return parquetInterval, nil
}

// ExtensionEquals implements arrow.ExtensionType.
func (*intervalType) ExtensionEquals(o arrow.ExtensionType) bool {
	_, ok := o.(*intervalType)
	return ok
}

// ParquetLogicalType implements pqarrow.ExtensionCustomParquetType.
func (*intervalType) ParquetLogicalType() schema.LogicalType { return schema.IntervalLogicalType{} }

// toParquetInterval converts an Arrow interval array into the 12-byte
// Parquet INTERVAL layout. Parquet's parts are unsigned and its time part
// is in milliseconds, so a negative part or a time with a fraction of a
// millisecond cannot be carried and is an error wrapping [ErrBadInput].
func toParquetInterval(a arrow.Array) (arrow.Array, error) {
	var get func(i int) (months, days int32, nanos int64)
	switch v := a.(type) {
	case *array.MonthInterval:
		get = func(i int) (int32, int32, int64) { return int32(v.Value(i)), 0, 0 }
	case *array.DayTimeInterval:
		get = func(i int) (int32, int32, int64) {
			x := v.Value(i)
			return 0, x.Days, int64(x.Milliseconds) * 1e6
		}
	case *array.MonthDayNanoInterval:
		get = func(i int) (int32, int32, int64) {
			x := v.Value(i)
			return x.Months, x.Days, x.Nanoseconds
		}
	default:
		return nil, fmt.Errorf("toParquetInterval: unexpected %s", a.DataType())
	}
	b := array.NewFixedSizeBinaryBuilder(memory.DefaultAllocator, parquetInterval.Storage.(*arrow.FixedSizeBinaryType))
	defer b.Release()
	b.Reserve(a.Len())
	var buf [12]byte
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		months, days, nanos := get(i)
		if months < 0 || days < 0 || nanos < 0 || nanos%1e6 != 0 || nanos/1e6 > 1<<32-1 {
			return nil, badInput("the interval %s cannot be written as a Parquet INTERVAL, whose months, days and milliseconds are whole and not negative; do not keep the column, or cast it in the input (e.g. to a string)", a.ValueStr(i))
		}
		binary.LittleEndian.PutUint32(buf[0:], uint32(months))
		binary.LittleEndian.PutUint32(buf[4:], uint32(days))
		binary.LittleEndian.PutUint32(buf[8:], uint32(nanos/1e6))
		b.Append(buf[:])
	}
	storage := b.NewArray()
	defer storage.Release()
	return array.NewExtensionArrayWithStorage(parquetInterval, storage), nil
}
