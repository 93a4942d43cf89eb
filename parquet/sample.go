package parquet

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// keptStore holds a kept column of a sampled read, one value per reservoir
// slot: numbers (booleans as 0/1, timestamps and dates as seconds since the
// epoch) as float64, text as strings.
type keptStore struct {
	isText, set bool
	num         []float64
	text        []string
	valid       []bool
}

// put stores the values of the batch rows that slots sends to a reservoir
// slot (slot -1: the row is not kept).
func (k *keptStore) put(name string, field arrow.Field, chunks []arrow.Array, slots []int) error {
	text := isText(field.Type)
	if !k.set {
		k.set, k.isText = true, text
	}
	if k.isText != text {
		return badInput("column %q is text in some files and numbers in others", name)
	}
	row := 0
	for _, c := range chunks {
		var num func(int) float64
		var str func(int) string
		if text {
			str = formatter(c)
		} else {
			var err error
			if num, err = orderValue(c); err != nil {
				return badInput("column %q cannot be kept in a sample: %w", name, err)
			}
		}
		for i := 0; i < c.Len(); i, row = i+1, row+1 {
			slot := slots[row]
			if slot < 0 {
				continue
			}
			if slot == len(k.valid) {
				k.valid = append(k.valid, false)
				k.num = append(k.num, 0)
				k.text = append(k.text, "")
			}
			k.valid[slot] = !c.IsNull(i)
			if !k.valid[slot] {
				continue
			}
			if text {
				k.text[slot] = str(i)
			} else {
				k.num[slot] = num(i)
			}
		}
	}
	return nil
}

// array builds the column of n sampled rows.
func (k *keptStore) array(name string, n int) (arrow.Field, []arrow.Array) {
	mem := memory.DefaultAllocator
	if k.isText {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(k.text[:n], k.valid[:n])
		return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}, []arrow.Array{b.NewArray()}
	}
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues(k.num[:n], k.valid[:n])
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}, []arrow.Array{b.NewArray()}
}

// orderValue reads entry i of arr as a float64 that orders like the value:
// numbers and booleans as themselves, timestamps and dates as seconds since
// the epoch, whatever their unit, so that files written with other units
// still compare.
func orderValue(arr arrow.Array) (func(int) float64, error) {
	switch a := arr.(type) {
	case *array.Timestamp:
		perSecond := float64(a.DataType().(*arrow.TimestampType).Unit.Multiplier()) / 1e9
		return func(i int) float64 { return float64(a.Value(i)) * perSecond }, nil
	case *array.Date32:
		return func(i int) float64 { return float64(a.Value(i)) * 86400 }, nil
	case *array.Date64:
		return func(i int) float64 { return float64(a.Value(i)) / 1000 }, nil
	case *array.Dictionary:
		inner, err := orderValue(a.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(i int) float64 {
			j := a.GetValueIndex(i)
			if a.Dictionary().IsNull(j) {
				return math.NaN()
			}
			return inner(j)
		}, nil
	}
	return valueFunc(arr)
}
