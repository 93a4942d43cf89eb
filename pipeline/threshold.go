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
// Each method names a gap between distinct validation scores, and the
// threshold sits in it, clear of every score (see Choose).
//
// Methods on scores alone:
//
//	quantile:Q       the gap just above the Q-quantile of the validation
//	                 scores (0 < Q < 1); rows tied at the quantile stay normal
//	contamination:P  the same as quantile:(1-P): about a fraction P of rows alert
//	mad:K            the gap just above median + K·MAD, MAD the median absolute
//	                 deviation (K > 0)
//
// Methods that need labels (true = anomaly):
//
//	f1               the gap that maximises F1 on the validation rows
//	recall:R         the highest gap whose recall is at least R
//	precision:P      the lowest gap whose precision is at least P
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

// ScoreTolerance is the relative tolerance within which the runtimes that
// serve a model (vaejob score, the onnx package's evaluator, ONNX Runtime)
// must agree on a row's score: scores a and b agree when
// |a−b| ≤ ScoreTolerance·max(1, |b|). Observed disagreement is about 3e-6
// relative (float32 rounding in another order).
const ScoreTolerance = 1e-4

// scoreMarginFloor is the smallest |s| ScoreMargin scales with, so that a
// score of exactly 0 still gets a margin (1e-7).
const scoreMarginFloor = 1e-3

// ScoreMargin returns how far a threshold keeps from a validation score s:
// ScoreTolerance·max(|s|, 0.001), i.e. 1e-4 of the score, about 30 times
// the disagreement between runtimes, which is relative since it comes from
// float32 rounding. (The parity check's absolute floor, max(1, |s|), would
// push thresholds of small scores, such as the tutorial preset's mean
// squared errors around 0.05, across hundreds of validation rows for no
// gain.) See ThresholdMethod.Choose: no runtime flips the flag of a row that
// scores like a validation row.
func ScoreMargin(s float32) float64 {
	return ScoreTolerance * math.Max(scoreMarginFloor, math.Abs(float64(s)))
}

// Placement says where a threshold sits among the validation scores.
type Placement string

// The placements of a threshold.
const (
	// PlacedBetween: between two adjacent distinct validation scores.
	PlacedBetween Placement = "between"
	// PlacedAboveMax: above the highest validation score (no validation row
	// alerts).
	PlacedAboveMax Placement = "above_max"
	// PlacedBelowMin: below the lowest validation score (every validation
	// row alerts).
	PlacedBelowMin Placement = "below_min"
)

// Threshold is a chosen threshold and where it sits among the validation
// scores it was chosen on.
type Threshold struct {
	// Value is the threshold: a row alerts when its score is strictly
	// greater. It is further than ScoreMargin from every validation score,
	// as a float32.
	Value float32
	// Placement says which gap between validation scores holds Value.
	Placement Placement
	// Below is the highest validation score under Value (unset under
	// PlacedBelowMin); Above the lowest over it (unset under PlacedAboveMax).
	Below, Above float32
	// MethodValue is the cut the method itself names before it is placed:
	// the Q-quantile, median + K·MAD, or for the label-based methods the
	// midpoint of the gap they would pick if every gap could hold a
	// threshold.
	MethodValue float32
	// Moved counts the validation rows whose flag differs between
	// MethodValue and Value because the gaps nearer MethodValue were too
	// narrow to hold a threshold. 0 unless scores crowd within the tolerance
	// of each other.
	Moved int
}

// Choose picks the threshold from validation scores; labels (true = anomaly,
// one per score) are needed by the label-based methods and ignored by the
// others. A row alerts when its score is strictly greater than the result.
//
// The threshold never sits on or within rounding of a validation score. The
// distinct scores cut the line into gaps; a gap between two scores holds a
// threshold when its midpoint, rounded to float32, is further than
// ScoreMargin from both (the gap is a little over twice the margin wide);
// the gap above the highest score holds max + 2·ScoreMargin(max), the gap
// below the lowest min − 2·ScoreMargin(min). A score-only method's threshold
// is its own value v when v lies in the gap at least 2·ScoreMargin from both
// neighbours, else the nearest value that does (the midpoint, in a gap too
// narrow for that); a label-based method's is its gap's midpoint. Each
// method names a gap:
//
//	quantile:Q, contamination:P, mad:K  the gap just above the method's value
//	                                   v (rows scoring exactly v stay normal)
//	f1, recall:R, precision:P           the gap the labels pick, among the
//	                                   gaps that hold a threshold
//
// When a score-only method's gap is too narrow, the threshold moves to the
// gap that holds one and flags the fewest validation rows differently (on a
// tie, the higher gap); Threshold.Moved counts those rows. Scores must be
// finite.
func (t ThresholdMethod) Choose(scores []float32, labels []bool) (Threshold, error) {
	return t.ChooseClearOf(scores, labels, nil)
}

// ChooseClearOf is Choose with the threshold kept clear of the scores in
// others as well: validation rows the method does not count (the anomalies
// that --train-on normal leaves out of a quantile) but that are served all
// the same. The method's value and Threshold.Moved come from scores alone.
func (t ThresholdMethod) ChooseClearOf(scores []float32, labels []bool, others []float32) (Threshold, error) {
	if len(scores) == 0 {
		return Threshold{}, errors.New("choose threshold: no validation scores")
	}
	if t.NeedsLabels() && len(labels) != len(scores) {
		return Threshold{}, fmt.Errorf("choose threshold: %s needs labels; pass --label-column", t)
	}
	bad := 0
	for _, s := range slices.Concat(scores, others) {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			bad++
		}
	}
	if bad > 0 {
		return Threshold{}, fmt.Errorf("choose threshold: %d of %d validation scores are NaN or infinite; leave those rows out", bad, len(scores)+len(others))
	}
	if !t.NeedsLabels() {
		labels = nil
	}
	l := newLadder(scores, labels, others)
	switch t.Kind {
	case ThresholdQuantile:
		return l.chooseAt(QuantileSorted(l.sorted, t.Param))
	case ThresholdContamination:
		return l.chooseAt(QuantileSorted(l.sorted, 1-t.Param))
	case ThresholdMAD:
		med := QuantileSorted(l.sorted, 0.5)
		dev := make([]float32, len(scores))
		for i, s := range scores {
			dev[i] = float32(math.Abs(float64(s) - float64(med)))
		}
		return l.chooseAt(float32(float64(med) + t.Param*float64(Quantile(dev, 0.5))))
	case ThresholdF1, ThresholdRecall, ThresholdPrecision:
		return t.chooseWithLabels(l)
	}
	return Threshold{}, fmt.Errorf("choose threshold: unknown method %q", t.Kind)
}

// ladder is the distinct validation scores in increasing order with the rows
// (and anomalies) of the method under each. Gap g lies under values[g]; gap
// len(values) lies above them all.
type ladder struct {
	sorted    []float32 // the method's scores, increasing
	values    []float32 // the distinct scores, the method's and the others', increasing
	rowsUnder []int     // rowsUnder[g]: the method's rows scoring under values[g]; len(values)+1 entries
	posUnder  []int     // the same for anomalies, when labelled
}

func newLadder(scores []float32, labels []bool, others []float32) ladder {
	l := ladder{sorted: slices.Clone(scores)}
	slices.Sort(l.sorted)
	if len(others) == 0 {
		l.values = slices.Compact(slices.Clone(l.sorted)) // no second sort
	} else {
		l.values = slices.Concat(scores, others)
		slices.Sort(l.values)
		l.values = slices.Compact(l.values)
	}
	l.rowsUnder = make([]int, len(l.values)+1)
	under := 0 // both are increasing: one walk finds every count
	for g, v := range l.values {
		for under < len(l.sorted) && l.sorted[under] < v {
			under++
		}
		l.rowsUnder[g] = under
	}
	l.rowsUnder[len(l.values)] = len(scores)
	if labels != nil {
		// Anomalies per distinct score, then the running sum.
		l.posUnder = make([]int, len(l.values)+1)
		for i, s := range scores {
			if labels[i] {
				g, _ := slices.BinarySearch(l.values, s)
				l.posUnder[g+1]++
			}
		}
		for g := 1; g < len(l.posUnder); g++ {
			l.posUnder[g] += l.posUnder[g-1]
		}
	}
	return l
}

// place returns the threshold gap g holds and whether it holds one: a float32
// further than ScoreMargin from the scores on either side.
func (l ladder) place(g int) (Threshold, bool) {
	k := len(l.values)
	switch g {
	case k:
		top := l.values[k-1]
		v := float32(float64(top) + 2*ScoreMargin(top))
		return Threshold{Value: v, Placement: PlacedAboveMax, Below: top},
			!math.IsInf(float64(v), 0) && float64(v)-float64(top) > ScoreMargin(top)
	case 0:
		low := l.values[0]
		v := float32(float64(low) - 2*ScoreMargin(low))
		return Threshold{Value: v, Placement: PlacedBelowMin, Above: low},
			!math.IsInf(float64(v), 0) && float64(low)-float64(v) > ScoreMargin(low)
	}
	a, b := l.values[g-1], l.values[g]
	v := float32(float64(a)/2 + float64(b)/2)
	return Threshold{Value: v, Placement: PlacedBetween, Below: a, Above: b},
		float64(v)-float64(a) > ScoreMargin(a) && float64(b)-float64(v) > ScoreMargin(b)
}

// placeNear returns the threshold gap g holds nearest to v: v itself when
// it lies in the gap at least 2·ScoreMargin from the scores on either side,
// else the nearest such value, else (a gap too narrow for that) what place
// gives. It reports false when the gap holds no threshold.
func (l ladder) placeNear(g int, v float32) (Threshold, bool) {
	th, ok := l.place(g)
	if !ok {
		return th, false
	}
	k := len(l.values)
	lo, hi := math.Inf(-1), math.Inf(1)
	if g > 0 {
		a := l.values[g-1]
		lo = float64(a) + 2*ScoreMargin(a)
	}
	if g < k {
		b := l.values[g]
		hi = float64(b) - 2*ScoreMargin(b)
	}
	if lo > hi {
		return th, true
	}
	c := float32(min(max(float64(v), lo), hi))
	clear := !math.IsInf(float64(c), 0) &&
		(g == 0 || float64(c)-float64(l.values[g-1]) > ScoreMargin(l.values[g-1])) &&
		(g == k || float64(l.values[g])-float64(c) > ScoreMargin(l.values[g]))
	if clear {
		th.Value = c
	}
	return th, true
}

// chooseAt places the threshold of a score-only method whose own value is v:
// in the gap just above v, or the nearest gap (in validation rows flagged
// differently) that holds a threshold, as near v as that gap allows.
func (l ladder) chooseAt(v float32) (Threshold, error) {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return Threshold{}, fmt.Errorf("choose threshold: %w: the method's value is %v (too large for float32); choose a smaller parameter", ErrNoThreshold, v)
	}
	k := len(l.values)
	want, _ := slices.BinarySearch(l.values, v)
	if want < k && l.values[want] == v {
		want++ // rows scoring exactly v stay normal
	}
	best, bestMoved := Threshold{}, -1
	for g := k; g >= 0; g-- { // from the top, so a tie keeps the higher gap
		th, ok := l.placeNear(g, v)
		if !ok {
			continue
		}
		moved := l.rowsUnder[g] - l.rowsUnder[want]
		if moved < 0 {
			moved = -moved
		}
		if bestMoved < 0 || moved < bestMoved {
			best, bestMoved = th, moved
			best.Moved = moved
		}
	}
	if bestMoved < 0 {
		return Threshold{}, errors.New("choose threshold: no gap between validation scores holds a float32 threshold")
	}
	best.MethodValue = v
	return best, nil
}

// chooseWithLabels walks the gaps from the highest down, tracking the
// confusion counts of "alert when score > cut", and applies the method's
// rule twice: over every gap (the method's own cut) and over the gaps that
// hold a threshold (the one it returns).
func (t ThresholdMethod) chooseWithLabels(l ladder) (Threshold, error) {
	k := len(l.values)
	n, pos := len(l.sorted), l.posUnder[k]
	if pos == 0 {
		return Threshold{}, fmt.Errorf("choose threshold %s: %w among the validation rows (no anomalies)", t, ErrOneClass)
	}
	type pick struct {
		gap   int
		f1    float64
		found bool
		done  bool
	}
	var free, held pick
	consider := func(p *pick, g int, recall, precision float64, tp int) {
		if p.done {
			return
		}
		switch t.Kind {
		case ThresholdF1:
			if f1 := 2 * precision * recall / (precision + recall); tp > 0 && (!p.found || f1 > p.f1) {
				*p = pick{gap: g, f1: f1, found: true}
			}
		case ThresholdRecall:
			if recall >= t.Param {
				*p = pick{gap: g, found: true, done: true}
			}
		case ThresholdPrecision:
			if precision >= t.Param {
				*p = pick{gap: g, found: true}
			}
		}
	}
	for g := k - 1; g >= 0; g-- {
		tp := pos - l.posUnder[g]
		flagged := n - l.rowsUnder[g]
		recall := float64(tp) / float64(pos)
		precision := float64(tp) / float64(flagged)
		consider(&free, g, recall, precision, tp)
		if _, ok := l.place(g); ok {
			consider(&held, g, recall, precision, tp)
		}
	}
	if !held.found {
		if free.found {
			return Threshold{}, fmt.Errorf("choose threshold %s: %w on the validation rows: the cuts that reach it lie within the threshold margin (%g of the score) of a validation score", t, ErrNoThreshold, ScoreTolerance)
		}
		return Threshold{}, fmt.Errorf("choose threshold %s: %w on the validation rows", t, ErrNoThreshold)
	}
	th, _ := l.place(held.gap)
	own, _ := l.place(free.gap)
	th.MethodValue = own.Value
	th.Moved = l.rowsUnder[held.gap] - l.rowsUnder[free.gap]
	if th.Moved < 0 {
		th.Moved = -th.Moved
	}
	return th, nil
}

// Quantile returns the q-quantile of v by linear interpolation between the
// closest ranks (the default of numpy and R's type 7), NaN sorting first as
// slices.Sort puts it. v is not modified. It selects the ranks it needs
// rather than sorting v.
func Quantile(v []float32, q float64) float32 {
	return selectQuantiles(slices.Clone(v), []float64{q})[0]
}

// QuantileInPlace is Quantile that may reorder v instead of copying it.
func QuantileInPlace(v []float32, q float64) float32 {
	return selectQuantiles(v, []float64{q})[0]
}

// QuantileSorted is Quantile of values already sorted in increasing order,
// float32 or float64: the interpolation is computed in float64 and rounded
// once to F.
func QuantileSorted[F float32 | float64](sorted []F, q float64) F {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return F(float64(sorted[lo]) + frac*(float64(sorted[lo+1])-float64(sorted[lo])))
}

// Quantiles returns the given quantiles of v (see Quantile). v is not
// modified.
func Quantiles(v []float32, qs []float64) []float32 {
	return selectQuantiles(slices.Clone(v), qs)
}
