package pipeline

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// repeat returns n copies of v.
func repeat(v float32, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// spread returns n distinct scores lo, lo+step, ...
func spread(lo, step float32, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = lo + float32(i)*step
	}
	return out
}

func concat(parts ...[]float32) []float32 {
	var out []float32
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// labelFrom returns n labels, true (anomaly) from row i on.
func labelFrom(n, i int) []bool {
	l := make([]bool, n)
	for j := i; j < n; j++ {
		l[j] = true
	}
	return l
}

// checkClear fails unless th.Value is a finite float32 further than
// ScoreMargin from every score and th's placement fields describe its gap.
func checkClear(t *testing.T, scores []float32, th Threshold) {
	t.Helper()
	v := float64(th.Value)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		t.Fatalf("threshold %v is not finite", th.Value)
	}
	var below, above float32
	hasBelow, hasAbove := false, false
	for _, s := range scores {
		if d := math.Abs(v - float64(s)); !(d > ScoreMargin(s)) {
			t.Fatalf("threshold %v lies %g from validation score %v, within the margin %g", th.Value, d, s, ScoreMargin(s))
		}
		if s < th.Value && (!hasBelow || s > below) {
			below, hasBelow = s, true
		}
		if s > th.Value && (!hasAbove || s < above) {
			above, hasAbove = s, true
		}
	}
	want := PlacedBetween
	switch {
	case !hasBelow:
		want = PlacedBelowMin
	case !hasAbove:
		want = PlacedAboveMax
	}
	if th.Placement != want || (hasBelow && th.Below != below) || (hasAbove && th.Above != above) {
		t.Fatalf("threshold %v recorded as %s between %v and %v; it is %s between %v and %v", th.Value, th.Placement, th.Below, th.Above, want, below, above)
	}
	switch {
	case th.Placement == PlacedBetween:
		// The midpoint, or the value nearest the method's own that keeps
		// 2 margins from both neighbours.
		mid := float32(float64(below)/2 + float64(above)/2)
		lo, hi := float64(below)+2*ScoreMargin(below), float64(above)-2*ScoreMargin(above)
		near := float32(min(max(float64(th.MethodValue), lo), hi))
		if th.Value != mid && (lo > hi || th.Value != near) {
			t.Fatalf("threshold %v is neither the float32 midpoint %v of %v and %v nor the value %v nearest the method's %v", th.Value, mid, below, above, near, th.MethodValue)
		}
	case th.Value == th.MethodValue: // mad:K far above the top score
	case th.Placement == PlacedAboveMax:
		if d := v - float64(below); d < 1.9*ScoreMargin(below) || d > 2.1*ScoreMargin(below) {
			t.Fatalf("threshold %v lies %g above the top score %v, not 2 margins (%g)", th.Value, d, below, 2*ScoreMargin(below))
		}
	case th.Placement == PlacedBelowMin:
		if d := float64(above) - v; d < 1.9*ScoreMargin(above) || d > 2.1*ScoreMargin(above) {
			t.Fatalf("threshold %v lies %g under the lowest score %v, not 2 margins (%g)", th.Value, d, above, 2*ScoreMargin(above))
		}
	}
}

// alerts counts the scores strictly above t.
func alerts(scores []float32, t float32) int {
	n := 0
	for _, s := range scores {
		if s > t {
			n++
		}
	}
	return n
}

func TestThresholdPlacement(t *testing.T) {
	one := float32(1)
	oneUlp := math.Nextafter32(one, 2)
	// 950 distinct scores under 0.9 and 50 duplicate rows at 1.0: the
	// 0.99-quantile is the tied top score itself.
	tiedTop := concat(spread(0.001, 0.0009, 950), repeat(1, 50))
	// 400 rows tied at 0.5 straddle the median.
	tiedMiddle := concat(spread(0.1, 0.001, 300), repeat(0.5, 400), spread(0.7, 0.001, 300))
	// Scores 2e-5 apart around 0.5: no gap there is twice the tolerance wide.
	crowded := concat(spread(0.1, 0.01, 10), spread(0.5, 0.00002, 50), spread(0.9, 0.01, 10))
	large := concat(spread(1000, 0.05, 20), spread(2000, 1, 10)) // margins 0.1..0.2: the 0.05 gaps are too narrow
	ulpApart := concat(repeat(one, 60), repeat(oneUlp, 40))
	tests := []struct {
		name      string
		method    string
		scores    []float32
		labels    []bool
		others    []float32 // scores to keep clear of, not counted by the method
		placement Placement
		alerts    int // validation rows above the threshold
		moved     int
		err       error
	}{
		{"quantile ties at the top", "quantile:0.99", tiedTop, nil, nil, PlacedAboveMax, 0, 0, nil},
		{"contamination ties at the top", "contamination:0.03", tiedTop, nil, nil, PlacedAboveMax, 0, 0, nil},
		{"quantile below the tied top", "quantile:0.94", tiedTop, nil, nil, PlacedBetween, 60, 0, nil},
		{"quantile tied in the middle", "quantile:0.5", tiedMiddle, nil, nil, PlacedBetween, 300, 0, nil},
		{"mad tied in the middle", "mad:0.0001", tiedMiddle, nil, nil, PlacedBetween, 300, 0, nil},
		{"mad far above the top", "mad:1000", tiedMiddle, nil, nil, PlacedAboveMax, 0, 0, nil},
		{"all equal quantile", "quantile:0.5", repeat(0.3, 100), nil, nil, PlacedAboveMax, 0, 0, nil},
		{"all equal contamination", "contamination:0.5", repeat(0.3, 100), nil, nil, PlacedAboveMax, 0, 0, nil},
		{"all equal mad", "mad:3", repeat(0.3, 100), nil, nil, PlacedAboveMax, 0, 0, nil},
		{"all equal large", "quantile:0.5", repeat(5000, 10), nil, nil, PlacedAboveMax, 0, 0, nil},
		{"all equal at float32's limit", "quantile:0.5", repeat(math.MaxFloat32, 10), nil, nil, PlacedBelowMin, 10, 10, nil},
		{"two scores an ulp apart, more below", "quantile:0.5", ulpApart, nil, nil, PlacedAboveMax, 0, 40, nil},
		{"two scores an ulp apart, more above", "quantile:0.1", concat(repeat(one, 30), repeat(oneUlp, 70)), nil, nil, PlacedBelowMin, 100, 30, nil},
		{"crowded scores", "quantile:0.5", crowded, nil, nil, PlacedBetween, 10, 25, nil},
		{"crowded large scores", "quantile:0.4", large, nil, nil, PlacedBetween, 10, 8, nil},
		// A score the method does not count (an anomaly under --train-on
		// normal) splits the gap above the median: the threshold takes the
		// part just above it.
		{"clear of others", "quantile:0.5", []float32{0.1, 0.2, 0.5, 0.5, 0.7, 0.9}, nil, []float32{0.6, 0.95}, PlacedBetween, 2, 0, nil},
		{"clear of crowding others", "quantile:0.5", []float32{0.1, 0.2, 0.5, 0.5, 0.7, 0.9}, nil, []float32{0.50001}, PlacedBetween, 2, 0, nil},
		{"negative scores", "quantile:0.5", []float32{-3, -2, -1, -1, 0, 1}, nil, nil, PlacedBetween, 2, 0, nil},

		{"f1 ties at the top", "f1", tiedTop, labelFrom(1000, 950), nil, PlacedBetween, 50, 0, nil},
		{"recall ties at the top", "recall:1", tiedTop, labelFrom(1000, 950), nil, PlacedBetween, 50, 0, nil},
		{"precision ties at the top", "precision:1", tiedTop, labelFrom(1000, 950), nil, PlacedBetween, 50, 0, nil},
		{"recall of the lowest row", "recall:1", tiedTop, labelFrom(1000, 0), nil, PlacedBelowMin, 1000, 0, nil},
		{"f1 all equal", "f1", repeat(0.3, 10), labelFrom(10, 0), nil, PlacedBelowMin, 10, 0, nil},
		{"precision all equal, mixed labels", "precision:1", repeat(0.3, 10), labelFrom(10, 5), nil, "", 0, 0, ErrNoThreshold},
		// The anomalies are the 40 rows one ulp above the rest: the only cut
		// that separates them is too narrow; f1 settles for flagging all.
		{"f1 an ulp apart", "f1", ulpApart, labelFrom(100, 60), nil, PlacedBelowMin, 100, 60, nil},
		{"recall an ulp apart", "recall:0.5", ulpApart, labelFrom(100, 60), nil, PlacedBelowMin, 100, 60, nil},
		{"precision an ulp apart", "precision:0.9", ulpApart, labelFrom(100, 60), nil, "", 0, 0, ErrNoThreshold},
		// The best cut (under the 30 highest crowded scores) is too narrow;
		// the best wide one flags 20 normal crowded rows too.
		{"f1 crowded", "f1", crowded, labelFrom(70, 30), nil, PlacedBetween, 60, 20, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseThresholdMethod(tc.method)
			if err != nil {
				t.Fatal(err)
			}
			th, err := m.ChooseClearOf(tc.scores, tc.labels, tc.others)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Choose = %+v, %v; want %v", th, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkClear(t, concat(tc.scores, tc.others), th)
			if got := alerts(tc.scores, th.Value); th.Placement != tc.placement || got != tc.alerts || th.Moved != tc.moved {
				t.Fatalf("Choose = %+v: %s, %d alerts, %d rows moved; want %s, %d alerts, %d moved", th, th.Placement, got, th.Moved, tc.placement, tc.alerts, tc.moved)
			}
			if got, own := alerts(tc.scores, th.Value), alerts(tc.scores, th.MethodValue); got-own != tc.moved && own-got != tc.moved {
				t.Errorf("%d validation alerts at %v, %d at the method's own %v: %d moved, recorded %d", got, th.Value, own, th.MethodValue, got-own, th.Moved)
			}
		})
	}
}

// TestThresholdKeepsQuantileFlags checks on random tables with duplicate
// rows that a score-only threshold flags exactly the validation rows the
// method's own value flags whenever it did not have to move, and is always
// clear of every score.
func TestThresholdKeepsQuantileFlags(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	methods := []string{"quantile:0.5", "quantile:0.9", "quantile:0.99", "contamination:0.05", "mad:1", "mad:3", "f1", "recall:0.8", "precision:0.5"}
	kept, moved := 0, 0
	for trial := range 300 {
		n := 20 + rng.Intn(500)
		scores := make([]float32, n)
		for i := range scores {
			switch {
			case i > 0 && rng.Float64() < 0.3: // a duplicate row
				scores[i] = scores[rng.Intn(i)]
			case rng.Float64() < 0.1: // crowding within the tolerance
				scores[i] = 0.2 + float32(rng.Intn(20))*1e-5
			default:
				scores[i] = float32(rng.ExpFloat64() * math.Pow(10, float64(rng.Intn(7)-3)))
			}
		}
		labels := make([]bool, n)
		labels[rng.Intn(n)] = true
		for i, s := range scores {
			labels[i] = labels[i] || rng.Float64() < float64(s)/(1+float64(s))
		}
		for _, ms := range methods {
			m, _ := ParseThresholdMethod(ms)
			th, err := m.Choose(scores, labels)
			if errors.Is(err, ErrNoThreshold) {
				continue
			}
			if err != nil {
				t.Fatalf("trial %d %s: %v", trial, ms, err)
			}
			t.Run(fmt.Sprintf("%d/%s", trial, ms), func(t *testing.T) { checkClear(t, scores, th) })
			if th.Moved > 0 {
				moved++
				continue
			}
			kept++
			if alerts(scores, th.Value) != alerts(scores, th.MethodValue) {
				t.Fatalf("trial %d %s: %d alerts at %v, %d at the method's own %v, none moved", trial, ms, alerts(scores, th.Value), th.Value, alerts(scores, th.MethodValue), th.MethodValue)
			}
		}
	}
	if kept == 0 || moved == 0 {
		t.Fatalf("random tables exercised %d kept and %d moved thresholds; want both", kept, moved)
	}
}

func TestThresholdRefusesNonFiniteScores(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, scores := range [][]float32{{0.1, nan, 0.3}, {0.1, 0.2, inf}, {float32(math.Inf(-1))}} {
		for _, ms := range []string{"quantile:0.5", "mad:2", "f1"} {
			m, _ := ParseThresholdMethod(ms)
			th, err := m.Choose(scores, []bool{true, false, true}[:len(scores)])
			if err == nil || !strings.Contains(err.Error(), "NaN or infinite") {
				t.Errorf("%s on %v: %+v, %v; want an error about NaN or infinite scores", ms, scores, th, err)
			}
		}
	}
}

func ExampleThresholdMethod_Choose() {
	// Five validation rows; the two highest are duplicates.
	scores := []float32{0.1, 0.2, 0.3, 0.5, 0.5}

	// The 0.9-quantile is the tied top score 0.5: the threshold sits two
	// tolerances above it, so no runtime flags those rows.
	m, _ := ParseThresholdMethod("quantile:0.9")
	th, _ := m.Choose(scores, nil)
	fmt.Println(th.Value, th.Placement, th.MethodValue)

	// The median is the score 0.3: the threshold sits two margins above it,
	// in the gap that ends at 0.5.
	m, _ = ParseThresholdMethod("quantile:0.5")
	th, _ = m.Choose(scores, nil)
	fmt.Println(th.Value, th.Placement, th.Below, th.Above)

	// The 0.6-quantile, 0.38, lies well inside that gap: it is the threshold.
	m, _ = ParseThresholdMethod("quantile:0.6")
	th, _ = m.Choose(scores, nil)
	fmt.Println(th.Value, th.Placement, th.MethodValue)
	// Output:
	// 0.5001 above_max 0.5
	// 0.30006 between 0.3 0.5
	// 0.38 between 0.38
}

// TestThresholdStaysNearMethodValue: a method's value inside a wide gap is
// the threshold itself, not the gap's midpoint (one outlier far above the
// bulk must not move a quantile threshold halfway to it).
func TestThresholdStaysNearMethodValue(t *testing.T) {
	scores := make([]float32, 0, 100)
	for i := 1; i < 100; i++ {
		scores = append(scores, float32(i))
	}
	scores = append(scores, 1000)
	for _, tc := range []struct {
		method string
		want   float32
	}{
		{"quantile:0.99", 108.01},
		{"contamination:0.01", 108.01},
		{"quantile:0.5", 50.5},
		{"mad:1", 75.5},
	} {
		m, err := ParseThresholdMethod(tc.method)
		if err != nil {
			t.Fatal(err)
		}
		th, err := m.Choose(scores, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkClear(t, scores, th)
		if th.Value != tc.want || th.MethodValue != tc.want || th.Moved != 0 {
			t.Errorf("%s: threshold %v (method value %v, moved %d), want %v", tc.method, th.Value, th.MethodValue, th.Moved, tc.want)
		}
	}
	// A value too large for float32 is no threshold: exit 3, not a
	// metadata file that cannot hold +Inf.
	m, _ := ParseThresholdMethod("mad:1e300")
	if _, err := m.Choose(scores, nil); !errors.Is(err, ErrNoThreshold) {
		t.Errorf("mad:1e300: %v, want ErrNoThreshold", err)
	}
}
