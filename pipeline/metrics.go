package pipeline

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// ErrOneClass reports labels that hold only one class, for which ranking
// metrics are undefined.
var ErrOneClass = errors.New("labels hold only one class")

// checkRankable rejects inputs that ranking metrics cannot order.
func checkRankable(scores []float32, labels []bool) error {
	if len(scores) != len(labels) {
		return fmt.Errorf("%d scores but %d labels", len(scores), len(labels))
	}
	for i, s := range scores {
		if s != s {
			return fmt.Errorf("score of row %d is NaN: ranking metrics need finite scores", i)
		}
	}
	return nil
}

// ROCAUC returns the area under the ROC curve of scores against binary labels
// (true = anomaly), with tied scores counted as half, as the Mann-Whitney U
// statistic.
func ROCAUC(scores []float32, labels []bool) (float64, error) {
	if err := checkRankable(scores, labels); err != nil {
		return 0, err
	}
	order := argsort(scores)
	var nPos, nNeg float64
	var rankSumPos float64
	for i := 0; i < len(order); {
		j := i
		for j < len(order) && scores[order[j]] == scores[order[i]] {
			j++
		}
		avgRank := float64(i+j+1) / 2 // ranks are 1-based
		for _, k := range order[i:j] {
			if labels[k] {
				nPos++
				rankSumPos += avgRank
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return 0, ErrOneClass
	}
	return (rankSumPos - nPos*(nPos+1)/2) / (nPos * nNeg), nil
}

// AveragePrecision returns the area under the precision-recall curve as the
// step-wise sum of precision times recall increments over descending score
// thresholds (scikit-learn's average_precision_score); tied scores form one
// threshold.
func AveragePrecision(scores []float32, labels []bool) (float64, error) {
	nPos, _, err := classCounts(scores, labels)
	if err != nil {
		return 0, err
	}
	var ap, prevRecall float64
	walkCuts(scores, labels, func(tp, fp int, _, _ float32) bool {
		recall := float64(tp) / nPos
		ap += (recall - prevRecall) * float64(tp) / float64(tp+fp)
		prevRecall = recall
		return true
	})
	return ap, nil
}

// walkCuts visits the cuts between distinct scores from the highest down.
// For each it passes the true and false positives of alerting on every score
// >= at, and the next lower score (-Inf after the lowest). It stops when
// visit returns false.
func walkCuts(scores []float32, labels []bool, visit func(tp, fp int, at, next float32) bool) {
	order := argsort(scores) // ascending
	tp, fp := 0, 0
	for i := len(order) - 1; i >= 0; {
		j := i
		for j >= 0 && scores[order[j]] == scores[order[i]] {
			if labels[order[j]] {
				tp++
			} else {
				fp++
			}
			j--
		}
		next := float32(math.Inf(-1))
		if j >= 0 {
			next = scores[order[j]]
		}
		if !visit(tp, fp, scores[order[i]], next) {
			return
		}
		i = j
	}
}

func argsort(v []float32) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	return idx
}

// Confusion holds the outcome of "alert when score > threshold" against
// labels (true = anomaly).
type Confusion struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	TN        int     `json:"tn"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// AtThreshold counts alerts (score > t, or a NaN score) against labels.
// Precision is 0 when nothing alerts, and F1 is 0 when precision and recall
// both are.
func AtThreshold(scores []float32, labels []bool, t float32) Confusion {
	var c Confusion
	for i, s := range scores {
		alert := IsAnomaly(s, t)
		switch {
		case alert && labels[i]:
			c.TP++
		case alert:
			c.FP++
		case labels[i]:
			c.FN++
		default:
			c.TN++
		}
	}
	if c.TP+c.FP > 0 {
		c.Precision = float64(c.TP) / float64(c.TP+c.FP)
	}
	if c.TP+c.FN > 0 {
		c.Recall = float64(c.TP) / float64(c.TP+c.FN)
	}
	if c.Precision+c.Recall > 0 {
		c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
	}
	return c
}

// KSStatistic is the two-sample Kolmogorov–Smirnov statistic of a and b: the
// largest gap between their empirical distribution functions, from 0 (the
// same distribution) to 1 (no overlap). NaN values sort above every number,
// so a sample that gains NaNs drifts. It is NaN when a or b is empty.
func KSStatistic(a, b []float32) float64 {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN()
	}
	sa, sb := sortedNaNLast(a), sortedNaNLast(b)
	var i, j int
	var ks float64
	for i < len(sa) && j < len(sb) {
		v := sa[i]
		if less(sb[j], v) {
			v = sb[j]
		}
		for i < len(sa) && !less(v, sa[i]) {
			i++
		}
		for j < len(sb) && !less(v, sb[j]) {
			j++
		}
		ks = math.Max(ks, math.Abs(float64(i)/float64(len(sa))-float64(j)/float64(len(sb))))
	}
	return ks
}

// AlertRate is the fraction of scores that IsAnomaly flags at threshold t.
func AlertRate(scores []float32, t float32) float64 {
	if len(scores) == 0 {
		return math.NaN()
	}
	n := 0
	for _, s := range scores {
		if IsAnomaly(s, t) {
			n++
		}
	}
	return float64(n) / float64(len(scores))
}

// less orders float32 values with NaN above everything, NaNs equal.
func less(x, y float32) bool {
	xn, yn := x != x, y != y
	switch {
	case xn:
		return false
	case yn:
		return true
	}
	return x < y
}

func sortedNaNLast(v []float32) []float32 {
	s := slices.Clone(v)
	slices.SortFunc(s, func(x, y float32) int {
		switch {
		case less(x, y):
			return -1
		case less(y, x):
			return 1
		}
		return 0
	})
	return s
}

// ROCPoint is one point of an ROC curve: the false and true positive
// rates of alerting on every score >= Score.
type ROCPoint struct {
	FPR   float64 `json:"fpr"`
	TPR   float64 `json:"tpr"`
	Score float32 `json:"score"`
}

// PRPoint is one point of a precision-recall curve: the recall and
// precision of alerting on every score >= Score.
type PRPoint struct {
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
	Score     float32 `json:"score"`
}

// ROCCurve returns the ROC curve of scores against labels (true = anomaly),
// one point per distinct score from the highest down (the curve begins at
// (0, 0), which is not listed), thinned to at most about maxPoints points
// (see thin); the last point, (1, 1), is always kept.
func ROCCurve(scores []float32, labels []bool, maxPoints int) ([]ROCPoint, error) {
	return curve(scores, labels, maxPoints,
		func(tp, fp int, nPos, nNeg float64, at float32) ROCPoint {
			return ROCPoint{FPR: float64(fp) / nNeg, TPR: float64(tp) / nPos, Score: at}
		},
		func(p ROCPoint) (float64, float64) { return p.FPR, p.TPR })
}

// PRCurve returns the precision-recall curve of scores against labels,
// one point per distinct score from the highest down, thinned as ROCCurve's.
func PRCurve(scores []float32, labels []bool, maxPoints int) ([]PRPoint, error) {
	return curve(scores, labels, maxPoints,
		func(tp, fp int, nPos, _ float64, at float32) PRPoint {
			return PRPoint{Recall: float64(tp) / nPos, Precision: float64(tp) / float64(tp+fp), Score: at}
		},
		func(p PRPoint) (float64, float64) { return p.Recall, p.Precision })
}

// curve walks the cuts of scores from the highest down, makes a point of
// each with point, and thins them by the coordinates xy gives.
func curve[P any](scores []float32, labels []bool, maxPoints int,
	point func(tp, fp int, nPos, nNeg float64, at float32) P, xy func(P) (float64, float64)) ([]P, error) {
	nPos, nNeg, err := classCounts(scores, labels)
	if err != nil {
		return nil, err
	}
	var pts []P
	walkCuts(scores, labels, func(tp, fp int, at, _ float32) bool {
		pts = append(pts, point(tp, fp, nPos, nNeg, at))
		return true
	})
	return thin(pts, maxPoints, xy), nil
}

// classCounts checks scores and labels for the ranking curves and counts
// the anomalies and the normal rows; one class alone is ErrOneClass.
func classCounts(scores []float32, labels []bool) (nPos, nNeg float64, err error) {
	if err := checkRankable(scores, labels); err != nil {
		return 0, 0, err
	}
	for _, l := range labels {
		if l {
			nPos++
		} else {
			nNeg++
		}
	}
	if nPos == 0 || nNeg == 0 {
		return 0, 0, ErrOneClass
	}
	return nPos, nNeg, nil
}

// thin keeps the first and the last of pts and, between them, a point
// each time the curve has moved at least 2/maxPoints (in the sum of the
// two coordinates' changes, both in [0, 1]) from the last point kept. A
// curve whose coordinates only grow, as ROC's, keeps at most about
// maxPoints points; a precision-recall curve that zig-zags may keep more,
// and is then thinned again by taking every k-th point. maxPoints < 2
// keeps every point.
func thin[P any](pts []P, maxPoints int, xy func(P) (float64, float64)) []P {
	if maxPoints < 2 || len(pts) <= maxPoints {
		return pts
	}
	step := 2 / float64(maxPoints)
	kept := []P{pts[0]}
	lx, ly := xy(pts[0])
	for _, p := range pts[1 : len(pts)-1] {
		x, y := xy(p)
		if math.Abs(x-lx)+math.Abs(y-ly) >= step {
			kept = append(kept, p)
			lx, ly = x, y
		}
	}
	if len(kept) > maxPoints-1 {
		k := (len(kept) + maxPoints - 2) / (maxPoints - 1)
		every := kept[:0:0]
		for i := 0; i < len(kept); i += k {
			every = append(every, kept[i])
		}
		kept = every
	}
	return append(kept, pts[len(pts)-1])
}
