package pipeline

import (
	"fmt"
	"math"
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

// ConstantColumnError reports a feature whose training values are all equal,
// which min-max scaling cannot handle.
type ConstantColumnError struct {
	Column string
	Value  float32
}

func (e *ConstantColumnError) Error() string {
	return fmt.Sprintf("column %q is constant (every training row is %g): it carries no information; drop it with --exclude %s", e.Column, e.Value, e.Column)
}

// FitMinMax fits a min-max scaler on the rows of x (n rows of d values,
// row-major). names is used in errors only.
func FitMinMax(x []float32, d int, names []string) (Scaler, error) {
	n := len(x) / d
	s := Scaler{Kind: "minmax", Min: make([]float32, d), Max: make([]float32, d), Scale: make([]float32, d)}
	if n == 0 {
		return s, fmt.Errorf("fit scaler: no rows")
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
		span := float64(s.Max[j]) - float64(s.Min[j])
		scale := float32(1 / span)
		if span == 0 || math.IsInf(float64(scale), 0) {
			name := fmt.Sprintf("#%d", j)
			if j < len(names) {
				name = names[j]
			}
			return s, &ConstantColumnError{Column: name, Value: s.Min[j]}
		}
		s.Scale[j] = scale
	}
	return s, nil
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
