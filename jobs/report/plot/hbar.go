package plot

import (
	"fmt"
	"math"
	"strings"
)

// The geometry of a bar chart, beside the figure's: room for the
// category names left of the bars, and the height of one bar.
const (
	nameMargin = 190
	nameRunes  = 28 // a longer name is cut, and whole in its tooltip
	barHeight  = 9
	rowGap     = 8
)

// BarChart is a horizontal bar chart: one row per category, top to
// bottom, holding one bar per series, each bar from 0 to its value along
// the Value axis.
type BarChart struct {
	Name       string // its data-figure attribute
	Title      string
	Value      Axis // the horizontal axis; Min at most 0
	Categories []string
	Series     []Series
	// Note is a line under the rows, such as how many categories were
	// left out.
	Note string
}

// Series is one value per category of a bar chart.
type Series struct {
	Label  string
	Values []float64
	Style  Style
}

// SVG draws the chart; its height grows with the categories.
func (c *BarChart) SVG() string {
	rowH := float64(barHeight*len(c.Series) + rowGap)
	plotBottom := float64(marginTop) + rowH*float64(len(c.Categories)) + rowGap
	h := int(math.Ceil(plotBottom)) + marginBot
	if c.Note != "" {
		h += 18
	}
	xs := newScale(c.Value, nameMargin, width-marginRight)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" data-figure="%s" font-family="%s" font-size="12">`,
		width, h, width, h, esc(c.Name), esc(fontFamily))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="600" fill="#222">%s</text>`, marginLeft, esc(c.Title))
	var items []legendItem
	for _, s := range c.Series {
		items = append(items, legendItem{s.Label, s.Style, true})
	}
	drawLegend(&b, items)
	top := float64(marginTop)
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`, xs.lo, top, xs.hi-xs.lo, plotBottom-top)
	for _, t := range xs.ticks {
		x := xs.px(t.Value)
		fmt.Fprintf(&b, `<path d="M%.1f %.1fv5" stroke="#888"/><path d="M%.1f %.1fV%.1f" stroke="#eee"/>`, x, plotBottom, x, plotBottom, top)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">%s</text>`, x, plotBottom+18, esc(t.Label))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#222">%s</text>`, (xs.lo+xs.hi)/2, plotBottom+40, esc(c.Value.Label))
	if c.Note != "" {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#555">%s</text>`, float64(marginLeft), plotBottom+58, esc(c.Note))
	}
	for i, name := range c.Categories {
		y := top + rowGap + rowH*float64(i) + float64(barHeight*len(c.Series))/2
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#333"><title>%s</title>%s</text>`,
			xs.lo-8, y, esc(name), esc(cut(name, nameRunes)))
	}
	zero := xs.px(math.Max(0, xs.min))
	b.WriteString(`<g data-role="data">`)
	for k, s := range c.Series {
		lk := looks[s.Style]
		for i, v := range s.Values {
			if i >= len(c.Categories) || !xs.ok(v) {
				continue
			}
			x := xs.px(v)
			y := top + rowGap + rowH*float64(i) + float64(barHeight*k)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s" stroke="%s" stroke-width="0.5"/>`,
				math.Min(zero, x), y, math.Max(math.Abs(x-zero), 0.5), barHeight, lk.fill, lk.color)
		}
	}
	b.WriteString(`</g></svg>`)
	return b.String()
}

// cut shortens s to at most n runes, ending it with an ellipsis when cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
