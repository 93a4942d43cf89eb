package parquet

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
)

// keptColumn finds a kept column by name.
func (t *Table) keptColumn(name string) (*arrow.Column, error) {
	if t.Kept != nil {
		sc := t.Kept.Schema()
		if idx := sc.FieldIndices(name); len(idx) > 0 {
			return t.Kept.Column(idx[0]), nil
		}
	}
	return nil, usageError("column %q was not kept; add it to Selection.Keep", name)
}

// KeptFloat64 returns a kept numeric or boolean column (true = 1) as
// float64, one value per row, e.g. for a label column. A column of another
// type, or one holding nulls, NaN or ±Inf, is an error wrapping
// [ErrBadInput]; a name that was not kept is an error wrapping [ErrUsage].
func (t *Table) KeptFloat64(name string) ([]float64, error) {
	col, err := t.keptColumn(name)
	if err != nil {
		return nil, err
	}
	if !isConvertible(col.DataType()) {
		return nil, badInput("column %q is %s; a numeric or boolean column is needed here", name, typeName(col.DataType()))
	}
	out := make([]float64, 0, col.Len())
	var st valueStats
	for _, c := range col.Data().Chunks() {
		value, err := valueFunc(c)
		if err != nil {
			return nil, badInput("column %q: %w", name, err)
		}
		for i := 0; i < c.Len(); i++ {
			if c.IsNull(i) {
				st.nulls++
				out = append(out, math.NaN())
				continue
			}
			v := value(i)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				st.nonFinite++
			}
			out = append(out, v)
		}
	}
	if st.bad() {
		return nil, badInput("column %q: %s; every row needs a finite value", name, st)
	}
	return out, nil
}

// KeptStrings returns a kept column of any type rendered as text, one value
// per row, as it would appear in CSV output (numbers in their shortest exact
// form, booleans as true/false). A column holding nulls is an error wrapping
// [ErrBadInput]; a name that was not kept is an error wrapping [ErrUsage].
func (t *Table) KeptStrings(name string) ([]string, error) {
	col, err := t.keptColumn(name)
	if err != nil {
		return nil, err
	}
	if n := col.NullN(); n > 0 {
		return nil, badInput("column %q: %s; every row needs a value", name, plural(n, "null"))
	}
	out := make([]string, 0, col.Len())
	for _, c := range col.Data().Chunks() {
		f := formatter(c)
		for i := 0; i < c.Len(); i++ {
			out = append(out, f(i))
		}
	}
	return out, nil
}

// KeptOrder returns a kept column as float64 values that order like its
// values: numbers, booleans (0/1), timestamps and dates (as seconds since
// the epoch, whatever their unit), e.g. for a time column. Nulls and NaN are an error
// wrapping [ErrBadInput].
func (t *Table) KeptOrder(name string) ([]float64, error) {
	col, err := t.keptColumn(name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, col.Len())
	for _, c := range col.Data().Chunks() {
		value, err := orderValue(c)
		if err != nil {
			return nil, badInput("column %q is %s; a time, date or numeric column is needed here", name, typeName(c.DataType()))
		}
		for i := 0; i < c.Len(); i++ {
			v := value(i)
			if c.IsNull(i) || math.IsNaN(v) {
				return nil, badInput("column %q has a null or NaN in row %d; every row needs a time", name, len(out))
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// String summarizes the table's shape, e.g. "569 rows × 30 features".
func (t *Table) String() string {
	return fmt.Sprintf("%d rows × %d features", t.Rows, len(t.Names))
}
