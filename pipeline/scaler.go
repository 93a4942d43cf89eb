package pipeline

import (
	"fmt"
	"math"
	"strings"
)

// Scaler maps raw feature values to the range the network was trained on:
// scaled = (x - Min) * Scale, computed in float32 in that order, the same two
// operations (Sub, Mul) the ONNX graph performs.
type Scaler struct {
	Kind  string    `json:"kind"` // "minmax"
	Min   []float32 `json:"min"`
	Max   []float32 `json:"max"`
	Scale []float32 `json:"scale"` // 1 / (Max - Min)
}

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
	d := len(names)
	if len(x) < d {
		return nil
	}
	var e ConstantColumnError
	for j := 0; j < d; j++ {
		first := x[j]
		constant := true
		for i := j + d; i < len(x); i += d {
			if x[i] != first {
				constant = false
				break
			}
		}
		if constant {
			e.Columns = append(e.Columns, names[j])
			e.Values = append(e.Values, first)
		}
	}
	if len(e.Columns) > 0 {
		return &e
	}
	return nil
}

// FitMinMax fits a min-max scaler on the rows of x (row-major, d values a
// row). A feature that is constant on these rows (though not, the caller has
// checked, on the whole table) gets Scale 1, as scikit-learn's MinMaxScaler
// does; its indices are returned so the caller can report them.
func FitMinMax(x []float32, d int) (s Scaler, constant []int, err error) {
	n := len(x) / d
	s = Scaler{Kind: "minmax", Min: make([]float32, d), Max: make([]float32, d), Scale: make([]float32, d)}
	if n == 0 {
		return s, nil, fmt.Errorf("fit scaler: no rows")
	}
	copy(s.Min, x[:d])
	copy(s.Max, x[:d])
	for r := 1; r < n; r++ {
		row := x[r*d : (r+1)*d]
		for j, v := range row {
			if v < s.Min[j] {
				s.Min[j] = v
			}
			if v > s.Max[j] {
				s.Max[j] = v
			}
		}
	}
	for j := range s.Scale {
		scale := float32(1 / (float64(s.Max[j]) - float64(s.Min[j])))
		if math.IsInf(float64(scale), 0) || scale == 0 {
			scale = 1
			constant = append(constant, j)
		}
		s.Scale[j] = scale
	}
	return s, constant, nil
}

// Transform scales one row into out.
func (s *Scaler) Transform(x, out []float32) {
	for j, v := range x {
		out[j] = (v - s.Min[j]) * s.Scale[j]
	}
}

func (s *Scaler) validate(d int) error {
	if s.Kind != "minmax" {
		return fmt.Errorf("unknown scaler kind %q", s.Kind)
	}
	if len(s.Min) != d || len(s.Scale) != d {
		return fmt.Errorf("scaler has %d/%d parameters for %d features", len(s.Min), len(s.Scale), d)
	}
	if !allFinite(s.Min) || !allFinite(s.Scale) {
		return fmt.Errorf("scaler has a non-finite parameter")
	}
	return nil
}
