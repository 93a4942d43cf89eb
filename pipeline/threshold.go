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
//
// Methods on scores alone:
//
//	quantile:Q       the Q-quantile of the validation scores (0 < Q < 1)
//	contamination:P  the same as quantile:(1-P): about a fraction P of rows alert
//	mad:K            median + K·MAD, MAD the median absolute deviation (K > 0)
//
// Methods that need labels (true = anomaly):
//
//	f1               the cut that maximises F1 on the validation rows
//	recall:R         the highest cut whose recall is at least R
//	precision:P      the lowest cut whose precision is at least P
type ThresholdMethod struct {
	Kind  string
	Param float64 // unused by f1
}

// The threshold method kinds.
const (
	ThresholdQuantile      = "quantile"
	ThresholdContamination = "contamination"
	ThresholdMAD           = "mad"
	ThresholdF1            = "f1"
	ThresholdRecall        = "recall"
	ThresholdPrecision     = "precision"
)

// ErrNoThreshold reports a label-based target that no threshold reaches.
var ErrNoThreshold = errors.New("no threshold meets the target")

// NeedsLabels reports whether the method chooses with labels.
func (t ThresholdMethod) NeedsLabels() bool {
	switch t.Kind {
	case ThresholdF1, ThresholdRecall, ThresholdPrecision:
		return true
	}
	return false
}

// String returns the method in the form ParseThresholdMethod reads.
func (t ThresholdMethod) String() string {
	if t.Kind == ThresholdF1 {
		return t.Kind
	}
	return t.Kind + ":" + strconv.FormatFloat(t.Param, 'g', -1, 64)
}

// ParseThresholdMethod parses a threshold method (see ThresholdMethod).
func ParseThresholdMethod(s string) (ThresholdMethod, error) {
	const forms = "quantile:Q, contamination:P, mad:K, f1, recall:R or precision:P"
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	if kind == ThresholdF1 {
		if hasArg {
			return ThresholdMethod{}, fmt.Errorf("threshold %q: f1 takes no value", s)
		}
		return ThresholdMethod{Kind: kind}, nil
	}
	var lo, hi float64 // the open range of the parameter
	var example string
	switch kind {
	case ThresholdQuantile:
		lo, hi, example = 0, 1, "quantile:0.99"
	case ThresholdContamination:
		lo, hi, example = 0, 1, "contamination:0.01"
	case ThresholdMAD:
		lo, hi, example = 0, math.Inf(1), "mad:5"
	case ThresholdRecall:
		lo, hi, example = 0, 1.0000001, "recall:0.9"
	case ThresholdPrecision:
		lo, hi, example = 0, 1.0000001, "precision:0.8"
	default:
		return ThresholdMethod{}, fmt.Errorf("threshold %q: unknown method %q; known: %s", s, kind, forms)
	}
	v, err := strconv.ParseFloat(arg, 64)
	if !hasArg || err != nil || !(v > lo && v < hi) {
		upper := "1 (exclusive)"
		switch {
		case math.IsInf(hi, 1):
			upper = "infinity"
		case hi > 1:
			upper = "1 (inclusive)"
		}
		return ThresholdMethod{}, fmt.Errorf("threshold %q: %s needs a number above 0 and below %s, e.g. %s", s, kind, upper, example)
	}
	return ThresholdMethod{Kind: kind, Param: v}, nil
}

// Choose picks the threshold from validation scores; labels (true = anomaly,
// one per score) are needed by the label-based methods and ignored by the
// others. A row alerts when its score is strictly greater than the result.
func (t ThresholdMethod) Choose(scores []float32, labels []bool) (float32, error) {
	if len(scores) == 0 {
		return 0, errors.New("choose threshold: no validation scores")
	}
	if t.NeedsLabels() && len(labels) != len(scores) {
		return 0, fmt.Errorf("choose threshold: %s needs labels; pass --label-column", t)
	}
	switch t.Kind {
	case ThresholdQuantile:
		return Quantile(scores, t.Param), nil
	case ThresholdContamination:
		return Quantile(scores, 1-t.Param), nil
	case ThresholdMAD:
		med := Quantile(scores, 0.5)
		dev := make([]float32, len(scores))
		for i, s := range scores {
			dev[i] = float32(math.Abs(float64(s) - float64(med)))
		}
		return float32(float64(med) + t.Param*float64(Quantile(dev, 0.5))), nil
	case ThresholdF1, ThresholdRecall, ThresholdPrecision:
		return t.chooseWithLabels(scores, labels)
	}
	return 0, fmt.Errorf("choose threshold: unknown method %q", t.Kind)
}

// chooseWithLabels walks the cuts between distinct scores from the highest
// down, tracking the confusion counts of "alert when score > cut".
func (t ThresholdMethod) chooseWithLabels(scores []float32, labels []bool) (float32, error) {
	var pos int
	for _, l := range labels {
		if l {
			pos++
		}
	}
	if pos == 0 {
		return 0, fmt.Errorf("choose threshold %s: %w among the validation rows (no anomalies)", t, ErrOneClass)
	}
	best, bestF1 := float32(math.Inf(1)), -1.0
	found := false
	walkCuts(scores, labels, func(tp, fp int, at, next float32) bool {
		cut := cutBetween(next, at)
		recall := float64(tp) / float64(pos)
		precision := float64(tp) / float64(tp+fp)
		switch t.Kind {
		case ThresholdF1:
			if f1 := 2 * precision * recall / (precision + recall); tp > 0 && f1 > bestF1 {
				best, bestF1, found = cut, f1, true
			}
		case ThresholdRecall:
			if recall >= t.Param {
				best, found = cut, true
				return false
			}
		case ThresholdPrecision:
			if precision >= t.Param {
				best, found = cut, true
			}
		}
		return true
	})
	if !found {
		return 0, fmt.Errorf("choose threshold %s: %w on the validation rows", t, ErrNoThreshold)
	}
	return best, nil
}

// cutBetween returns a float32 t with lo <= t < hi, so that "score > t"
// holds for hi and not for lo: the midpoint where float32 can represent it.
func cutBetween(lo, hi float32) float32 {
	if math.IsInf(float64(lo), -1) {
		return float32(math.Nextafter32(hi, float32(math.Inf(-1))))
	}
	mid := float32(float64(lo)/2 + float64(hi)/2)
	if mid >= hi || mid < lo {
		return lo
	}
	return mid
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

// QuantileSorted is Quantile of values already sorted in increasing order.
func QuantileSorted(sorted []float32, q float64) float32 { return quantileSorted(sorted, q) }

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
