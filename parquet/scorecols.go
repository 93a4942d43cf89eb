package parquet

import (
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file owns the optional columns of a score file that follow score
// and is_anomaly: the tail probability and the explanation of each row.

// Names of the optional score file columns (see ScoreLayout).
const (
	// TailColumn holds the row's tail probability (float32; null when the
	// model has no tail table).
	TailColumn = "tail_probability"
	// ExplainColumn is the CSV explanation: one readable text per row.
	ExplainColumn = "explain"
	// The Parquet explanation: parallel lists, one entry per explained
	// feature, largest share first.
	ExplainFeatureColumn  = "explain_feature"  // list<string>: the feature's name
	ExplainShareColumn    = "explain_share"    // list<float>: its share of the score
	ExplainValueColumn    = "explain_value"    // list<double>: its value in the row
	ExplainExpectedColumn = "explain_expected" // list<double>: the value the model expected
	ExplainImputedColumn  = "explain_imputed"  // list<bool>: whether the value was imputed
)

// ScoreLayout says which optional columns a score file has after score and
// is_anomaly.
type ScoreLayout struct {
	Tail    bool // TailColumn
	Explain bool // the explain columns: ExplainColumn in CSV, the five lists in Parquet and Arrow
}

// explainLists are the Parquet explanation columns, in order, with their
// element types.
var explainLists = []arrow.Field{
	{Name: ExplainFeatureColumn, Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: ExplainShareColumn, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	{Name: ExplainValueColumn, Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
	{Name: ExplainExpectedColumn, Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
	{Name: ExplainImputedColumn, Type: arrow.ListOf(arrow.FixedWidthTypes.Boolean)},
}

// outputFields returns the fields written after the kept columns.
func (l ScoreLayout) outputFields(format Format) []arrow.Field {
	fields := []arrow.Field{
		{Name: ScoreColumn, Type: arrow.PrimitiveTypes.Float32},
		{Name: AnomalyColumn, Type: arrow.FixedWidthTypes.Boolean},
	}
	if l.Tail {
		fields = append(fields, arrow.Field{Name: TailColumn, Type: arrow.PrimitiveTypes.Float32, Nullable: true})
	}
	if l.Explain && format == CSV {
		fields = append(fields, arrow.Field{Name: ExplainColumn, Type: arrow.BinaryTypes.String})
	} else if l.Explain {
		for _, f := range explainLists {
			f.Nullable = true
			fields = append(fields, f)
		}
	}
	return fields
}

// Explanation is one explained feature of a row.
type Explanation struct {
	Feature string
	// Share is the feature's additive share of the score.
	Share float32
	// Value is the row's value; Expected the value the model expected (its
	// reconstruction in the input's units).
	Value, Expected float64
	// Imputed says the row's value was missing and replaced by the model's
	// imputation value: Value is then absent (null).
	Imputed bool
	// Missing says the value is missing and the model does not impute, so
	// the row scores NaN: Share, Value and Expected are absent (null).
	Missing bool
}

// ScoreRows holds the computed columns of a batch of rows.
type ScoreRows struct {
	Score     []float32
	IsAnomaly []bool
	// Tail holds each row's tail probability; nil writes nulls (a model
	// without a tail table). Used when the layout has Tail.
	Tail []float32
	// Explain holds each row's explained features. Used when the layout
	// has Explain.
	Explain [][]Explanation
}

// check reports a ScoreRows whose columns disagree in length.
func (r ScoreRows) check(l ScoreLayout) error {
	n := len(r.Score)
	switch {
	case len(r.IsAnomaly) != n:
		return usageError("write scores: %d scores but %d anomaly flags; both need one entry per row", n, len(r.IsAnomaly))
	case l.Tail && r.Tail != nil && len(r.Tail) != n:
		return usageError("write scores: %d scores but %d tail probabilities; both need one entry per row", n, len(r.Tail))
	case l.Explain && len(r.Explain) != n:
		return usageError("write scores: %d scores but %d explanations; both need one entry per row", n, len(r.Explain))
	}
	return nil
}

// formatFloat32 prints a float32 in the shortest form that reads back
// exactly.
func formatFloat32(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// csvOptional returns the text of row r's optional CSV columns.
func (r ScoreRows) csvOptional(l ScoreLayout, row int, dst []string) []string {
	if l.Tail {
		if r.Tail == nil {
			dst = append(dst, "")
		} else {
			dst = append(dst, formatFloat32(r.Tail[row]))
		}
	}
	if l.Explain {
		dst = append(dst, ExplainText(r.Explain[row]))
	}
	return dst
}

// ExplainText renders a row's explanation as the CSV explain column does:
// "name=value (expected e, share s)" per feature, joined by "; ". An
// imputed value reads "name=missing, imputed (expected e, share s)"; a
// missing one the model does not impute "name=missing".
func ExplainText(ex []Explanation) string {
	var b strings.Builder
	for i, e := range ex {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Feature)
		switch {
		case e.Missing:
			b.WriteString("=missing")
			continue
		case e.Imputed:
			b.WriteString("=missing, imputed")
		default:
			b.WriteString("=" + strconv.FormatFloat(e.Value, 'g', 6, 64))
		}
		b.WriteString(" (expected " + strconv.FormatFloat(e.Expected, 'g', 6, 64) + ", share " + strconv.FormatFloat(float64(e.Share), 'g', 3, 32) + ")")
	}
	return b.String()
}

// parquetOptional builds the arrays of the optional Parquet columns.
// The caller releases them.
func (r ScoreRows) parquetOptional(l ScoreLayout) []arrow.Array {
	mem := memory.DefaultAllocator
	var out []arrow.Array
	if l.Tail {
		b := array.NewFloat32Builder(mem)
		if r.Tail == nil {
			b.AppendNulls(len(r.Score))
		} else {
			b.AppendValues(r.Tail, nil)
		}
		out = append(out, b.NewArray())
		b.Release()
	}
	if l.Explain {
		out = append(out, r.explainArrays()...)
	}
	return out
}

// explainArrays builds the five explanation lists.
func (r ScoreRows) explainArrays() []arrow.Array {
	mem := memory.DefaultAllocator
	lists := make([]*array.ListBuilder, len(explainLists))
	for i, f := range explainLists {
		lists[i] = array.NewListBuilder(mem, f.Type.(*arrow.ListType).Elem())
		defer lists[i].Release()
	}
	name := lists[0].ValueBuilder().(*array.StringBuilder)
	share := lists[1].ValueBuilder().(*array.Float32Builder)
	value := lists[2].ValueBuilder().(*array.Float64Builder)
	expected := lists[3].ValueBuilder().(*array.Float64Builder)
	imputed := lists[4].ValueBuilder().(*array.BooleanBuilder)
	for _, ex := range r.Explain {
		for _, l := range lists {
			l.Append(true)
		}
		for _, e := range ex {
			name.Append(e.Feature)
			imputed.Append(e.Imputed)
			appendOrNull(share, e.Share, e.Missing)
			appendOrNull(value, e.Value, e.Missing || e.Imputed)
			appendOrNull(expected, e.Expected, e.Missing)
		}
	}
	out := make([]arrow.Array, len(lists))
	for i, l := range lists {
		out[i] = l.NewArray()
	}
	return out
}

// appendOrNull appends v, or a null when null is set or v is NaN.
func appendOrNull[T float32 | float64](b valueBuilder[T], v T, null bool) {
	if null || math.IsNaN(float64(v)) {
		b.AppendNull()
		return
	}
	b.Append(v)
}
