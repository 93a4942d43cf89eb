package plot

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func labels(ts []Tick) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Label)
	}
	return out
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		name     string
		lo, hi   float64
		n        int
		integer  bool
		want     []string
		wantLow  float64 // the first tick
		wantHigh float64 // the last tick
	}{
		{"unit range", 0, 1, 6, false, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}, 0, 1},
		{"widened to round ends", 3.7, 41.2, 5, false, []string{"0", "10", "20", "30", "40", "50"}, 0, 50},
		{"negative to positive", -2.5, 2.5, 6, false, []string{"-3", "-2", "-1", "0", "1", "2", "3"}, -3, 3},
		{"small steps keep their decimals", 0.011, 0.018, 4, false, []string{"0.010", "0.015", "0.020"}, 0.01, 0.02},
		{"whole numbers only", 1, 3, 7, true, []string{"1", "2", "3"}, 1, 3},
		{"one value gets a range", 5, 5, 5, false, []string{"4.0", "4.5", "5.0", "5.5", "6.0"}, 4, 6},
		{"reversed ends are ordered", 10, 0, 3, false, []string{"0", "5", "10"}, 0, 10},
		{"huge values in exponent form", 0, 3e6, 4, false, []string{"0", "1e6", "2e6", "3e6"}, 0, 3e6},
		{"NaN end takes the other", math.NaN(), 2, 3, false, []string{"1", "2", "3"}, 1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := LinearTicks(tc.lo, tc.hi, tc.n, tc.integer)
			if got := labels(ts); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("labels %q, want %q", got, tc.want)
			}
			if lo, hi := ts[0].Value, ts[len(ts)-1].Value; math.Abs(lo-tc.wantLow) > 1e-9 || math.Abs(hi-tc.wantHigh) > 1e-9 {
				t.Errorf("ticks span [%g, %g], want [%g, %g]", lo, hi, tc.wantLow, tc.wantHigh)
			}
		})
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float64
		want   []string
	}{
		{"many decades: powers only", 1, 5000, []string{"1", "10", "100", "1000", "10000"}},
		{"few decades: 1, 2, 5", 1, 60, []string{"1", "2", "5", "10", "20", "50", "100"}},
		{"below one", 0.03, 0.4, []string{"0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"}},
		{"three decades: powers only", 0.003, 0.4, []string{"0.001", "0.01", "0.1", "1"}},
		{"tiny in exponent form", 1e-7, 1e-4, []string{"1e-7", "1e-6", "1e-5", "0.0001"}},
		{"one decade exactly", 10, 10, []string{"10", "20", "50", "100"}},
		{"zero low end", 0, 100, []string{"0.1", "1", "10", "100"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := labels(LogTicks(tc.lo, tc.hi)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("labels %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScalePixels(t *testing.T) {
	lin := newScale(Axis{Min: 0, Max: 10}, 100, 200)
	if got := lin.px(5); got != 150 {
		t.Errorf("linear: px(5) = %v, want 150", got)
	}
	log := newScale(Axis{Min: 1, Max: 100, Log: true}, 300, 100) // y grows upwards
	if got := log.px(10); math.Abs(got-200) > 1e-9 {
		t.Errorf("log: px(10) = %v, want 200", got)
	}
	if log.ok(0) || log.ok(-1) || !log.ok(0.5) || lin.ok(math.NaN()) || lin.ok(math.Inf(1)) {
		t.Error("ok: a log axis takes only values above 0, and no axis takes NaN or ±Inf")
	}
}

func TestFigureSVG(t *testing.T) {
	f := Figure{
		Name: `scores"<x>`, Title: "Scores <script>alert(1)</script>",
		X: Axis{Label: "score & more", Min: 0, Max: 10}, Y: Axis{Label: "rows", Min: 1, Max: 100, Log: true},
		Bars:   []Bars{{Label: "this run", Edges: []float64{0, 5, 10}, Heights: []float64{50, 0}}, {Label: "replaced", Edges: []float64{0, 5, 10}, Heights: []float64{20, 3}, Style: Replaced, Outline: true}},
		Lines:  []Line{{Label: "line", X: []float64{0, 1, math.NaN(), 3}, Y: []float64{1, 2, 3, 4}}},
		Rules:  []Rule{{Vertical: true, At: 7, Label: "threshold 7"}},
		Points: []Point{{X: 2, Y: 10, Label: "here"}},
	}
	svg := f.SVG()
	for _, want := range []string{
		`data-figure="scores&#34;&lt;x&gt;"`,
		"Scores &lt;script&gt;alert(1)&lt;/script&gt;",
		"score &amp; more",
		`<rect x="`, // a bar
		"M", "threshold 7", "here", `<circle`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, `"<x>`) {
		t.Errorf("SVG holds unescaped text:\n%s", svg)
	}
	// The NaN breaks the line into two pieces; the zero bar is not drawn
	// (on a log axis it has no height).
	if got := strings.Count(svg, `stroke-linejoin="round"`); got != 1 {
		t.Errorf("%d line paths, want 1", got)
	}
	if line := svg[strings.Index(svg, `stroke-linejoin`)-200:]; strings.Count(line[:200], "M") < 2 {
		t.Errorf("the line is not broken at NaN: %s", line[:200])
	}
	if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>") {
		t.Error("not one svg element")
	}
}

func TestCountAxis(t *testing.T) {
	s := newScale(Axis{Min: 0, Max: 60, Log: true, Integer: true}, 300, 100)
	if got := labels(s.ticks); !reflect.DeepEqual(got, []string{"1", "2", "5", "10", "20", "50", "100"}) {
		t.Errorf("count axis ticks %q", got)
	}
	if s.px(1) >= 300 {
		t.Errorf("a count of 1 sits on the axis floor (px %v): its bar would not show", s.px(1))
	}
}

// A bar chart draws a bar per series and category from 0 (leftwards for a
// negative value, none for NaN), escapes and cuts long names, keeps them
// whole in their tooltips, and grows with its categories.
func TestBarChart(t *testing.T) {
	long := strings.Repeat("x", 40) + "<&>"
	c := BarChart{Name: "shares", Title: "Shares", Value: Axis{Label: "share", Min: -1, Max: 4},
		Categories: []string{"a", long, "c"},
		Series: []Series{{Label: "alerts", Values: []float64{4, -1, math.NaN()}, Style: Highlight},
			{Label: "all", Values: []float64{1, 0.5, 2}, Style: Primary}},
		Note: "and 3 more"}
	svg := c.SVG()
	data := svg[strings.Index(svg, `<g data-role="data">`):]
	if got := strings.Count(data, "<rect "); got != 5 {
		t.Errorf("%d bars drawn, want 5", got)
	}
	for _, want := range []string{`data-figure="shares"`, "<title>" + esc(long) + "</title>", strings.Repeat("x", 27) + "…", "and 3 more", ">alerts<", ">all<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(svg, "<&>") {
		t.Error("a name is not escaped")
	}
	one := BarChart{Value: c.Value, Categories: []string{"a"}, Series: c.Series}
	if svgHeight(t, one.SVG()) >= svgHeight(t, svg) {
		t.Error("a chart of one category is not shorter than one of three")
	}
}

func svgHeight(t *testing.T, svg string) int {
	t.Helper()
	var w, h int
	if _, err := fmt.Sscanf(svg[strings.Index(svg, "viewBox="):], `viewBox="0 0 %d %d"`, &w, &h); err != nil {
		t.Fatal(err)
	}
	return h
}
