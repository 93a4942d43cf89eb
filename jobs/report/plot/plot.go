// Package plot draws small line, step and bar charts as self-contained
// SVG: axes with ticks and labels, a title and a legend, every colour and
// line style an attribute of the element that uses it, so a figure needs
// no style sheet, script or font to be read or printed. Every text is
// escaped for HTML and SVG alike.
package plot

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// The geometry of a figure, in SVG user units.
const (
	width       = 640
	height      = 340
	marginLeft  = 70
	marginRight = 20
	marginTop   = 56 // the title and the legend
	marginBot   = 50 // the x ticks and the x label
	fontFamily  = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
)

// Style is how a series, rule or point is drawn.
type Style int

// Styles. The first two are the run's own data (this run, and its
// validation rows where training rows come first); Replaced is the run
// this run replaced; Reference is a guide line (chance, a limit).
const (
	Primary Style = iota
	Secondary
	Replaced
	Reference
	Highlight
)

type look struct {
	color  string
	dashes string // stroke-dasharray; "" for a solid line
	fill   string // a bar's fill
}

var looks = map[Style]look{
	Primary:   {color: "#1f5fa8", fill: "#7fa8d8"},
	Secondary: {color: "#d0661b", dashes: "6 3", fill: "#f0b07f"},
	Replaced:  {color: "#555555", dashes: "4 3", fill: "none"},
	Reference: {color: "#999999", dashes: "2 3", fill: "none"},
	Highlight: {color: "#b3122e", fill: "#b3122e"},
}

// Axis is one axis of a figure: its label (with the unit) and the range
// of the data it must show; the drawn range is widened to round ticks.
type Axis struct {
	Label    string
	Min, Max float64
	// Log draws a base-10 logarithmic axis; Min must then be above 0.
	Log bool
	// Integer keeps the ticks on whole numbers (unit indices, epochs). On
	// a log axis it marks counts: ticks from 1 up, the axis from 0.5.
	Integer bool
}

// Line is a polyline through the points (X[i], Y[i]); points that are not
// finite, or outside a log axis, break the line.
type Line struct {
	Label string
	X, Y  []float64
	Style Style
	// Marks draws a dot at every point too (for lines of few points).
	Marks bool
}

// Bars are the bars of a histogram or bar chart: bar i spans
// [Edges[i], Edges[i+1]] and rises to Heights[i]. Outline draws the outer
// steps only, for a second histogram over the first.
type Bars struct {
	Label   string
	Edges   []float64
	Heights []float64
	Style   Style
	Outline bool
}

// Rule is a reference line across the plot: vertical at X = At, or
// horizontal at Y = At, labelled at its end.
type Rule struct {
	Vertical bool
	At       float64
	Label    string
	Style    Style
}

// Point is a marked point with a label beside it.
type Point struct {
	X, Y  float64
	Label string
	Style Style
}

// Figure is one chart. Name becomes its data-figure attribute; the bars
// and the lines but the Reference ones are drawn inside a group
// <g data-role="data">.
type Figure struct {
	Name   string
	Title  string
	X, Y   Axis
	Bars   []Bars
	Lines  []Line
	Rules  []Rule
	Points []Point
}

// SVG draws the figure.
func (f *Figure) SVG() string {
	xs, ys := newScale(f.X, marginLeft, width-marginRight), newScale(f.Y, height-marginBot, marginTop)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" data-figure="%s" font-family="%s" font-size="12">`,
		width, height, width, height, esc(f.Name), esc(fontFamily))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(f.Title))
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="600" fill="#222">%s</text>`, marginLeft, esc(f.Title))
	f.legend(&b)
	drawAxes(&b, f.X, f.Y, xs, ys)
	// The data (bars and lines but guides) in one group, so that a reader
	// (or a test) tells a figure with data from an empty frame.
	b.WriteString(`<g data-role="data">`)
	for _, bars := range f.Bars {
		drawBars(&b, bars, xs, ys)
	}
	for _, l := range f.Lines {
		if l.Style != Reference {
			drawLine(&b, l, xs, ys)
		}
	}
	b.WriteString(`</g>`)
	for _, l := range f.Lines {
		if l.Style == Reference {
			drawLine(&b, l, xs, ys)
		}
	}
	for i, r := range f.Rules {
		drawRule(&b, r, i, xs, ys)
	}
	for _, p := range f.Points {
		drawPoint(&b, p, xs, ys)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// legendItem is one entry of a legend: a bar's swatch or a line's stroke.
type legendItem struct {
	label string
	style Style
	bar   bool
}

// legend names every labelled series in one row under the title.
func (f *Figure) legend(b *strings.Builder) {
	var items []legendItem
	for _, bars := range f.Bars {
		items = append(items, legendItem{bars.Label, bars.Style, !bars.Outline})
	}
	for _, l := range f.Lines {
		items = append(items, legendItem{l.Label, l.Style, false})
	}
	drawLegend(b, items)
}

// drawLegend draws the labelled items in one row under the title.
func drawLegend(b *strings.Builder, items []legendItem) {
	x := float64(marginLeft)
	for _, it := range items {
		if it.label == "" {
			continue
		}
		lk := looks[it.style]
		if it.bar && lk.fill != "none" {
			fmt.Fprintf(b, `<rect x="%.1f" y="31" width="14" height="10" fill="%s" stroke="%s"/>`, x, lk.fill, lk.color)
		} else {
			fmt.Fprintf(b, `<path d="M%.1f 36h18" stroke="%s" stroke-width="2"%s/>`, x, lk.color, dashAttr(lk))
		}
		fmt.Fprintf(b, `<text x="%.1f" y="40" fill="#333">%s</text>`, x+22, esc(it.label))
		x += 22 + 6.5*float64(len([]rune(it.label))) + 18
	}
}

func drawAxes(b *strings.Builder, xa, ya Axis, xs, ys scale) {
	left, right, top, bottom := xs.lo, xs.hi, ys.hi, ys.lo
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`, left, top, right-left, bottom-top)
	for _, t := range xs.ticks {
		x := xs.px(t.Value)
		fmt.Fprintf(b, `<path d="M%.1f %.1fv5" stroke="#888"/><path d="M%.1f %.1fV%.1f" stroke="#eee"/>`, x, bottom, x, bottom, top)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">%s</text>`, x, bottom+18, esc(t.Label))
	}
	for _, t := range ys.ticks {
		y := ys.px(t.Value)
		fmt.Fprintf(b, `<path d="M%.1f %.1fh-5" stroke="#888"/><path d="M%.1f %.1fH%.1f" stroke="#eee"/>`, left, y, left, y, right)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#333">%s</text>`, left-8, y, esc(t.Label))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#222">%s</text>`, (left+right)/2, height-8, esc(xa.Label))
	fmt.Fprintf(b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle" fill="#222">%s</text>`, (top+bottom)/2, esc(ya.Label))
}

func drawBars(b *strings.Builder, bars Bars, xs, ys scale) {
	lk := looks[bars.Style]
	base := ys.lo
	if bars.Outline {
		var d strings.Builder
		for i, h := range bars.Heights {
			if i+1 >= len(bars.Edges) {
				break
			}
			x0, x1 := xs.px(bars.Edges[i]), xs.px(bars.Edges[i+1])
			y := base
			if ys.ok(h) {
				y = ys.px(h)
			}
			if i == 0 {
				fmt.Fprintf(&d, "M%.1f %.1f", x0, base)
			}
			fmt.Fprintf(&d, "L%.1f %.1fL%.1f %.1f", x0, y, x1, y)
			if i == len(bars.Heights)-1 || i+2 == len(bars.Edges) {
				fmt.Fprintf(&d, "L%.1f %.1f", x1, base)
			}
		}
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, d.String(), lk.color, dashAttr(lk))
		return
	}
	for i, h := range bars.Heights {
		if i+1 >= len(bars.Edges) || !ys.ok(h) || h == 0 && !ys.log {
			continue
		}
		x0, x1, y := xs.px(bars.Edges[i]), xs.px(bars.Edges[i+1]), ys.px(h)
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s" stroke-width="0.5"/>`,
			x0, y, math.Max(x1-x0, 0.5), base-y, lk.fill, lk.color)
	}
}

func drawLine(b *strings.Builder, l Line, xs, ys scale) {
	lk := looks[l.Style]
	var d strings.Builder
	pen := false
	for i := range min(len(l.X), len(l.Y)) {
		if !xs.ok(l.X[i]) || !ys.ok(l.Y[i]) {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%.1f %.1f", cmd, xs.px(l.X[i]), ys.px(l.Y[i]))
		pen = true
	}
	if d.Len() == 0 {
		return
	}
	fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"%s/>`, d.String(), lk.color, dashAttr(lk))
	if !l.Marks {
		return
	}
	for i := range min(len(l.X), len(l.Y)) {
		if xs.ok(l.X[i]) && ys.ok(l.Y[i]) {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, xs.px(l.X[i]), ys.px(l.Y[i]), lk.color)
		}
	}
}

// drawRule draws the i-th rule of a figure; the labels of vertical rules
// go one under the other, so that two rules close together stay readable.
func drawRule(b *strings.Builder, r Rule, i int, xs, ys scale) {
	lk := looks[r.Style]
	if r.Vertical {
		if !xs.ok(r.At) {
			return
		}
		x := xs.px(r.At)
		anchor, dx := "start", 4.0
		if x > (xs.lo+xs.hi)/2 {
			anchor, dx = "end", -4
		}
		fmt.Fprintf(b, `<path d="M%.1f %.1fV%.1f" stroke="%s" stroke-width="2"%s/>`, x, ys.lo, ys.hi, lk.color, dashAttr(lk))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s"`+halo+`>%s</text>`, x+dx, ys.hi+14+16*float64(i), anchor, lk.color, esc(r.Label))
		return
	}
	if !ys.ok(r.At) {
		return
	}
	y := ys.px(r.At)
	fmt.Fprintf(b, `<path d="M%.1f %.1fH%.1f" stroke="%s" stroke-width="1.5"%s/>`, xs.lo, y, xs.hi, lk.color, dashAttr(lk))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="%s"`+halo+`>%s</text>`, xs.hi-4, y-4, lk.color, esc(r.Label))
}

func drawPoint(b *strings.Builder, p Point, xs, ys scale) {
	if !xs.ok(p.X) || !ys.ok(p.Y) {
		return
	}
	lk := looks[p.Style]
	x, y := xs.px(p.X), ys.px(p.Y)
	// The label goes inwards from the point, away from the nearer edges.
	anchor, dx, dy := "start", 8.0, 16.0
	if x > (xs.lo+xs.hi)/2 {
		anchor, dx = "end", -8
	}
	if y > (ys.lo+ys.hi)/2 {
		dy = -10
	}
	fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="#fff"/>`, x, y, lk.color)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s"`+halo+`>%s</text>`, x+dx, y+dy, anchor, lk.color, esc(p.Label))
}

// halo outlines a label over data in white, so that it stays readable
// where it crosses bars or lines.
const halo = ` stroke="#fff" stroke-width="3" paint-order="stroke"`

func dashAttr(lk look) string {
	if lk.dashes == "" {
		return ""
	}
	return ` stroke-dasharray="` + lk.dashes + `"`
}

// esc escapes s for text and attribute values alike.
func esc(s string) string { return html.EscapeString(s) }
