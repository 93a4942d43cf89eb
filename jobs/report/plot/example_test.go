package plot_test

import (
	"fmt"
	"strings"

	"github.com/vaejob/vaejob/jobs/report/plot"
)

func ExampleLinearTicks() {
	for _, t := range plot.LinearTicks(3.7, 41.2, 5, false) {
		fmt.Print(t.Label, " ")
	}
	fmt.Println()
	// Output: 0 10 20 30 40 50
}

func ExampleFigure_SVG() {
	f := plot.Figure{
		Name: "scores", Title: "Validation scores",
		X:     plot.Axis{Label: "score", Min: 0, Max: 30},
		Y:     plot.Axis{Label: "rows per bin", Min: 1, Max: 120, Log: true, Integer: true},
		Bars:  []plot.Bars{{Label: "this run", Edges: []float64{0, 10, 20, 30}, Heights: []float64{120, 9, 1}}},
		Rules: []plot.Rule{{Vertical: true, At: 22, Label: "threshold 22", Style: plot.Highlight}},
	}
	svg := f.SVG()
	fmt.Println(strings.HasPrefix(svg, "<svg "), strings.Contains(svg, `data-figure="scores"`), strings.Count(svg, "<rect "))
	// Output: true true 5
}
