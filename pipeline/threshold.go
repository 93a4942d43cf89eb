package pipeline

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ThresholdMethod is a parsed --threshold value such as "quantile:0.99".
type ThresholdMethod struct {
	Kind  string  // "quantile"
	Param float64 // the quantile for "quantile"
}

// String returns the method in the form ParseThresholdMethod reads.
func (t ThresholdMethod) String() string {
	return t.Kind + ":" + strconv.FormatFloat(t.Param, 'g', -1, 64)
}

// ParseThresholdMethod parses a threshold method. The only form so far is
// "quantile:Q" with 0 < Q < 1: the Q-quantile of the validation scores.
func ParseThresholdMethod(s string) (ThresholdMethod, error) {
	kind, arg, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return ThresholdMethod{}, fmt.Errorf("threshold %q: want METHOD:VALUE, e.g. quantile:0.99", s)
	}
	switch kind {
	case "quantile":
		q, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(q > 0 && q < 1) {
			return ThresholdMethod{}, fmt.Errorf("threshold %q: the quantile must be a number between 0 and 1 (exclusive), e.g. quantile:0.99", s)
		}
		return ThresholdMethod{Kind: kind, Param: q}, nil
	}
	return ThresholdMethod{}, fmt.Errorf("threshold %q: unknown method %q; known: quantile", s, kind)
}

// Choose picks the threshold from validation scores.
func (t ThresholdMethod) Choose(scores []float32) (float32, error) {
	if len(scores) == 0 {
		return 0, errors.New("choose threshold: no validation scores")
	}
	switch t.Kind {
	case "quantile":
		return Quantile(scores, t.Param), nil
	}
	return 0, fmt.Errorf("choose threshold: unknown method %q", t.Kind)
}

// Quantile returns the q-quantile of v by linear interpolation between the
// closest ranks (the default of numpy and R's type 7). v is not modified.
func Quantile(v []float32, q float64) float32 {
	s := slices.Clone(v)
	slices.Sort(s)
	return quantileSorted(s, q)
}

func quantileSorted(s []float32, q float64) float32 {
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(lo)
	return float32(float64(s[lo]) + frac*(float64(s[lo+1])-float64(s[lo])))
}

// Quantiles returns the given quantiles of v.
func Quantiles(v []float32, qs []float64) []float32 {
	s := slices.Clone(v)
	slices.Sort(s)
	out := make([]float32, len(qs))
	for i, q := range qs {
		out[i] = quantileSorted(s, q)
	}
	return out
}
