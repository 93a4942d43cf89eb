package pipeline

import (
	"errors"
	"math"
	"math/rand"
	"reflect"
	"testing"
)

func TestROCAndPRCurves(t *testing.T) {
	// scikit-learn's roc_curve and precision_recall_curve on its doc
	// example: scores 0.1 0.4 0.35 0.8, labels 0 0 1 1.
	scores := []float32{0.1, 0.4, 0.35, 0.8}
	labels := []bool{false, false, true, true}
	roc, err := ROCCurve(scores, labels, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantROC := []ROCPoint{{0, 0.5, 0.8}, {0.5, 0.5, 0.4}, {0.5, 1, 0.35}, {1, 1, 0.1}}
	if !reflect.DeepEqual(roc, wantROC) {
		t.Errorf("ROCCurve = %v, want %v", roc, wantROC)
	}
	pr, err := PRCurve(scores, labels, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantPR := []PRPoint{{0.5, 1, 0.8}, {0.5, 0.5, 0.4}, {1, 2.0 / 3, 0.35}, {1, 0.5, 0.1}}
	if !reflect.DeepEqual(pr, wantPR) {
		t.Errorf("PRCurve = %v, want %v", pr, wantPR)
	}
	if _, err := ROCCurve([]float32{1, 2}, []bool{true, true}, 0); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: err = %v", err)
	}
	if _, err := PRCurve([]float32{1, float32(math.NaN())}, []bool{true, false}, 0); err == nil {
		t.Error("PRCurve accepted a NaN score")
	}
}

// The thinned curves stay within the point budget, keep both ends, and
// leave the area under the ROC curve close to ROCAUC.
func TestCurvesThinned(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{10, 1000, 20000} {
		scores := make([]float32, n)
		labels := make([]bool, n)
		for i := range scores {
			labels[i] = rng.Float64() < 0.1
			scores[i] = float32(rng.NormFloat64())
			if labels[i] {
				scores[i] += 1.5
			}
		}
		const budget = 200
		roc, err := ROCCurve(scores, labels, budget)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := PRCurve(scores, labels, budget)
		if err != nil {
			t.Fatal(err)
		}
		full, _ := ROCCurve(scores, labels, 0)
		for name, got := range map[string]int{"ROC": len(roc), "PR": len(pr)} {
			if got > budget+1 || got < 2 && n > 2 {
				t.Errorf("n=%d: %s curve has %d points, want at most %d", n, name, got, budget+1)
			}
		}
		if roc[0] != full[0] || roc[len(roc)-1] != full[len(full)-1] {
			t.Errorf("n=%d: thinned ROC curve lost an end: %v..%v", n, roc[0], roc[len(roc)-1])
		}
		if last := roc[len(roc)-1]; last.FPR != 1 || last.TPR != 1 {
			t.Errorf("n=%d: ROC curve ends at %v, want (1, 1)", n, last)
		}
		auc, _ := ROCAUC(scores, labels)
		var area, px, py float64
		for _, p := range roc {
			area += (p.FPR - px) * (p.TPR + py) / 2
			px, py = p.FPR, p.TPR
		}
		if math.Abs(area-auc) > 0.01 {
			t.Errorf("n=%d: area under the thinned ROC curve %.4f, ROCAUC %.4f", n, area, auc)
		}
	}
}
