package pipeline

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Scaler maps raw feature values to the range the network was trained on:
// scaled = (x - Offset) * Scale, computed in float32 in that order, the same
// two operations (Sub, Mul) the ONNX graph performs.
type Scaler struct {
	Kind   string    `json:"kind"` // ScalerMinMax or ScalerRobust
	Offset []float32 `json:"offset"`
	Scale  []float32 `json:"scale"`
	// Min and Max are each feature's range on the training rows, kept for
	// the audit record and to draw test-vector rows.
	Min []float32 `json:"min"`
	Max []float32 `json:"max"`
}

// Scaler kinds.
const (
	// ScalerMinMax maps the training range to [0, 1]: Offset = min,
	// Scale = 1 / (max - min).
	ScalerMinMax = "minmax"
	// ScalerRobust centres on the median and divides by 4 × the
	// interquartile range (the standard deviation, then the range, where the
	// IQR is 0; at least 1/1000 of the range), so the bulk of the data spans
	// about one unit and outliers do not squeeze it.
	ScalerRobust = "robust"
)

// ScalerKinds lists the known scaler kinds.
var ScalerKinds = []string{ScalerMinMax, ScalerRobust}

// ConstantColumnError reports features whose values are all equal, which
// carry no information and cannot be min-max scaled.
type ConstantColumnError struct {
	Columns []string
	Values  []float32
}

func (e *ConstantColumnError) Error() string {
	var b strings.Builder
	for i, c := range e.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q (always %g)", c, e.Values[i])
	}
	return fmt.Sprintf("constant column(s) %s: a column with one value carries no information; leave it out with --exclude %s",
		b.String(), strings.Join(e.Columns, ","))
}

// CheckConstant returns a *ConstantColumnError naming every column of x
// (row-major, len(names) values a row) whose values are all equal, or nil.
func CheckConstant(x []float32, names []string) error {
	var e ConstantColumnError
	for _, j := range ConstantColumns(x, len(names)) {
		e.Columns = append(e.Columns, names[j])
		e.Values = append(e.Values, x[j])
	}
	if len(e.Columns) > 0 {
		return &e
	}
	return nil
}

// FitMinMax fits a min-max scaler on the rows of x (row-major, d values a
// row). A feature that is constant on these rows, at c, gets Offset c and
// Scale 1/DepartureScale(c), so that a served value measures its departure
// from the constant (see Model.Constant); the indices of those features are
// returned.
func FitMinMax(x []float32, d int) (s Scaler, constant []int, err error) {
	n := len(x) / d
	s = Scaler{Kind: ScalerMinMax, Scale: make([]float32, d)}
	if n == 0 {
		return s, nil, fmt.Errorf("fit scaler: no rows")
	}
	s.Min, s.Max = featureRange(x, d)
	s.Offset = slices.Clone(s.Min)
	for j := range s.Scale {
		scale := float32(1 / (float64(s.Max[j]) - float64(s.Min[j])))
		if s.Max[j] == s.Min[j] || math.IsInf(float64(scale), 0) || scale == 0 {
			scale = 1 / DepartureScale(s.Min[j])
			constant = append(constant, j)
		}
		s.Scale[j] = scale
	}
	return s, constant, nil
}

// FitRobust fits a robust scaler (see ScalerRobust) on the rows of x. Like
// FitMinMax it returns the features constant on these rows and scales them
// by their departure scale.
func FitRobust(x []float32, d int) (s Scaler, constant []int, err error) {
	n := len(x) / d
	s = Scaler{Kind: ScalerRobust, Offset: make([]float32, d), Scale: make([]float32, d)}
	if n == 0 {
		return s, nil, fmt.Errorf("fit scaler: no rows")
	}
	s.Min, s.Max = featureRange(x, d)
	isConstant := make([]bool, d)
	EachColumnOf(x, d, func(j int, col []float32) {
		var sum, sumSq float64
		for _, v := range col {
			sum += float64(v)
			sumSq += float64(v) * float64(v)
		}
		qs := selectQuantiles(col, []float64{0.5, 0.25, 0.75})
		s.Offset[j] = qs[0]
		spread := float64(qs[2]) - float64(qs[1])
		if spread == 0 {
			mean := sum / float64(n)
			spread = math.Sqrt(max(0, sumSq/float64(n)-mean*mean))
		}
		span := float64(s.Max[j]) - float64(s.Min[j])
		if spread == 0 {
			spread = span
		}
		// A spike of one value with rare others would otherwise blow those
		// others up by orders of magnitude.
		spread = max(spread, 1e-3*span)
		scale := float32(1 / (4 * spread))
		if s.Max[j] == s.Min[j] || math.IsInf(float64(scale), 0) || scale == 0 {
			s.Offset[j] = s.Min[j]
			scale = 1 / DepartureScale(s.Min[j])
			isConstant[j] = true
		}
		s.Scale[j] = scale
	})
	for j, c := range isConstant {
		if c {
			constant = append(constant, j)
		}
	}
	return s, constant, nil
}

// Fit fits a scaler of the given kind (see ScalerKinds).
func Fit(kind string, x []float32, d int) (Scaler, []int, error) {
	switch kind {
	case ScalerMinMax:
		return FitMinMax(x, d)
	case ScalerRobust:
		return FitRobust(x, d)
	}
	return Scaler{}, nil, fmt.Errorf("unknown scaler %q; known: %s", kind, strings.Join(ScalerKinds, ", "))
}

// featureRange returns each feature's minimum and maximum over the rows of x.
// The pieces' ranges combine in any order: min and max are commutative
// (NaN wins, -0 is below 0).
func featureRange(x []float32, d int) (lo, hi []float32) {
	n := len(x) / d
	pieces := PieceResults(n, rowPieceRows, func(first, end int) [2][]float32 {
		l, h := slices.Clone(x[first*d:(first+1)*d]), slices.Clone(x[first*d:(first+1)*d])
		for r := first + 1; r < end; r++ {
			for j, v := range x[r*d : (r+1)*d] {
				l[j] = min(l[j], v)
				h[j] = max(h[j], v)
			}
		}
		return [2][]float32{l, h}
	})
	lo, hi = pieces[0][0], pieces[0][1]
	for _, p := range pieces[1:] {
		for j := range lo {
			lo[j] = min(lo[j], p[0][j])
			hi[j] = max(hi[j], p[1][j])
		}
	}
	return lo, hi
}

// Transform scales one row into out.
func (s *Scaler) Transform(x, out []float32) {
	for j, v := range x {
		out[j] = (v - s.Offset[j]) * s.Scale[j]
	}
}

func (s *Scaler) validate(d int) error {
	if !slices.Contains(ScalerKinds, s.Kind) {
		return fmt.Errorf("unknown scaler kind %q", s.Kind)
	}
	if len(s.Offset) != d || len(s.Scale) != d || len(s.Min) != d || len(s.Max) != d {
		return fmt.Errorf("scaler has %d/%d/%d/%d parameters for %d features", len(s.Offset), len(s.Scale), len(s.Min), len(s.Max), d)
	}
	if !allFinite(s.Offset) || !allFinite(s.Scale) {
		return fmt.Errorf("scaler has a non-finite parameter")
	}
	return nil
}
