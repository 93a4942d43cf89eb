package parquet

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/float16"
)

// build makes an array of type dt from JSON.
func build(t *testing.T, dt arrow.DataType, js string) arrow.Array {
	t.Helper()
	a, _, err := array.FromJSON(mem, dt, strings.NewReader(js))
	if err != nil {
		t.Fatalf("%s from %s: %v", dt, js, err)
	}
	return a
}

func TestConvertArrays(t *testing.T) {
	dictOf := func(dt arrow.DataType, dict string, idx []int32) arrow.Array {
		d := build(t, dt, dict)
		i := i32s(idx)
		return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: dt}, i, d)
	}
	d256 := func() arrow.Array {
		b := array.NewDecimal256Builder(mem, &arrow.Decimal256Type{Precision: 40, Scale: 1})
		defer b.Release()
		b.Append(decimal256.FromI64(15))
		b.AppendNull()
		return b.NewArray()
	}
	f16 := func() arrow.Array {
		b := array.NewFloat16Builder(mem)
		defer b.Release()
		b.Append(float16.New(1.5))
		b.AppendNull()
		return b.NewArray()
	}
	nan := float32(math.NaN()) // nulls read as NaN
	tests := []struct {
		name    string
		arr     arrow.Array
		numeric bool      // isNumeric
		floats  []float32 // nil: not convertible
		stats   valueStats
		text    []string
	}{
		{"int8", build(t, arrow.PrimitiveTypes.Int8, "[-1, null]"), true, []float32{-1, nan}, valueStats{nulls: 1}, []string{"-1", ""}},
		{"int16", build(t, arrow.PrimitiveTypes.Int16, "[300, 2]"), true, []float32{300, 2}, valueStats{}, []string{"300", "2"}},
		{"uint8", build(t, arrow.PrimitiveTypes.Uint8, "[255, 0]"), true, []float32{255, 0}, valueStats{}, []string{"255", "0"}},
		{"uint16", build(t, arrow.PrimitiveTypes.Uint16, "[65535, 0]"), true, []float32{65535, 0}, valueStats{}, []string{"65535", "0"}},
		{"uint32", build(t, arrow.PrimitiveTypes.Uint32, "[4294967295, 1]"), true, []float32{4294967295, 1}, valueStats{}, []string{"4294967295", "1"}},
		{"uint64", u64s([]uint64{math.MaxUint64, 1}), true, []float32{math.MaxUint64, 1}, valueStats{}, []string{"18446744073709551615", "1"}},
		{"float16", f16(), true, []float32{1.5, nan}, valueStats{nulls: 1}, []string{"1.5", ""}},
		{"float64 overflow", build(t, arrow.PrimitiveTypes.Float64, "[1e39, -1e39, 0.5]"), true, []float32{float32(math.Inf(1)), float32(math.Inf(-1)), 0.5}, valueStats{overflow: 2}, []string{"1e+39", "-1e+39", "0.5"}},
		{"decimal256", d256(), true, []float32{1.5, nan}, valueStats{nulls: 1}, []string{"1.5", ""}},
		{"bool", build(t, arrow.FixedWidthTypes.Boolean, "[true, null, false]"), false, []float32{1, nan, 0}, valueStats{nulls: 1}, []string{"true", "", "false"}},
		{"dict float", dictOf(arrow.PrimitiveTypes.Float64, "[2.5, null]", []int32{0, 1, 0}), true, []float32{2.5, float32(math.NaN()), 2.5}, valueStats{nonFinite: 1}, []string{"2.5", "", "2.5"}},
		{"dict string", dictOf(arrow.BinaryTypes.String, `["x", "y"]`, []int32{1, 0}), false, nil, valueStats{}, []string{"y", "x"}},
		{"string", build(t, arrow.BinaryTypes.String, `["a,b", null]`), false, nil, valueStats{}, []string{"a,b", ""}},
		{"large string", build(t, arrow.BinaryTypes.LargeString, `["z"]`), false, nil, valueStats{}, []string{"z"}},
		{"date32", build(t, arrow.FixedWidthTypes.Date32, `["2024-02-29"]`), false, nil, valueStats{}, []string{"2024-02-29"}},
		{"timestamp", build(t, arrow.FixedWidthTypes.Timestamp_s, `["2024-02-29T12:00:00Z"]`), false, nil, valueStats{}, []string{"2024-02-29T12:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isNumeric(tt.arr.DataType()); got != tt.numeric {
				t.Errorf("isNumeric = %v", got)
			}
			if got := isConvertible(tt.arr.DataType()); got != (tt.floats != nil) {
				t.Errorf("isConvertible = %v", got)
			}
			if tt.floats != nil {
				dst := make([]float32, 2*tt.arr.Len())
				var st valueStats
				if err := toFloat32(tt.arr, dst, 2, &st); err != nil {
					t.Fatal(err)
				}
				for i, want := range tt.floats {
					got := dst[2*i]
					if got != want && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
						t.Errorf("value %d = %v, want %v", i, got, want)
					}
				}
				if st != tt.stats {
					t.Errorf("stats %+v, want %+v", st, tt.stats)
				}
			} else if err := toFloat32(tt.arr, make([]float32, tt.arr.Len()), 1, &valueStats{}); err == nil {
				t.Error("toFloat32 accepted a non-numeric array")
			}
			f := formatter(tt.arr)
			var text []string
			for i := 0; i < tt.arr.Len(); i++ {
				text = append(text, f(i))
			}
			if !reflect.DeepEqual(text, tt.text) {
				t.Errorf("text %q, want %q", text, tt.text)
			}
		})
	}
}
