package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"

	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/jobs/report/plot"
	"github.com/vaejob/vaejob/pipeline"
)

// fewPoints is the most points a line gets dots at.
const fewPoints = 30

// svg draws f for the page.
func svg(f plot.Figure) template.HTML {
	return template.HTML(f.SVG()) // plot escapes every text it writes
}

type training struct {
	Run     *jobs.RunRecord
	Figures []template.HTML
}

// trainingSection draws the loss, reconstruction and KL per epoch, on the
// training and the validation rows.
func trainingSection(run, _ *jobs.RunRecord) (*section, error) {
	eps := run.Training.Epochs
	if len(eps) == 0 {
		return nil, nil
	}
	x := make([]float64, len(eps))
	series := map[string][]float64{}
	for i, e := range eps {
		x[i] = float64(e.Epoch)
		for k, v := range map[string]float64{"loss": e.Loss, "val_loss": e.ValLoss, "rec": e.Reconstruction,
			"val_rec": e.ValReconstruction, "kl": e.KL, "val_kl": e.ValKL} {
			series[k] = append(series[k], v)
		}
	}
	figs := []struct{ name, title, unit, train, val, trainLabel, valLabel string }{
		{"training-loss", "Loss per epoch", "loss", "loss", "val_loss",
			"training rows: the objective as optimised", "validation rows: reconstruction + KL"},
		{"training-reconstruction", "Reconstruction loss per epoch", "reconstruction loss per feature", "rec", "val_rec",
			"training rows", "validation rows"},
		{"training-kl", "KL divergence per epoch", "KL per row (nats)", "kl", "val_kl", "training rows", "validation rows"},
	}
	t := training{Run: run}
	for _, f := range figs {
		lo, hi := spanOf(series[f.train], series[f.val])
		t.Figures = append(t.Figures, svg(plot.Figure{
			Name: f.name, Title: f.title,
			X: plot.Axis{Label: "epoch", Min: x[0], Max: x[len(x)-1], Integer: true},
			Y: plot.Axis{Label: f.unit, Min: lo, Max: hi},
			Lines: []plot.Line{
				{Label: f.trainLabel, X: x, Y: series[f.train], Style: plot.Primary, Marks: len(x) <= fewPoints},
				{Label: f.valLabel, X: x, Y: series[f.val], Style: plot.Secondary, Marks: len(x) <= fewPoints},
			},
		}))
	}
	return newSection("training", "Training", t)
}

// spanOf is the range of the finite values of every list.
func spanOf(lists ...[]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, l := range lists {
		for _, v := range l {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	return lo, hi
}

type scores struct {
	Run, Replaced *jobs.RunRecord
	Figure, Tail  template.HTML
	LogCounts     bool
	Quantiles     []setting
}

// quantileNames are run.json's validation score quantiles in order.
var quantileNames = []string{"min", "p01", "p05", "p25", "p50", "p75", "p95", "p99", "p999", "max"}

// scoresSection draws the validation score histogram with the threshold
// and the alerts, over the replaced run's, and the tail probability curve.
func scoresSection(run, replaced *jobs.RunRecord) (*section, error) {
	h := run.Threshold.Histogram
	if len(h.Counts) == 0 {
		return nil, nil
	}
	s := scores{Run: run, Replaced: replaced}
	for _, q := range quantileNames {
		if v, ok := run.Threshold.ValidationScores[q]; ok {
			s.Quantiles = append(s.Quantiles, setting{q, num(v)})
		}
	}
	th := run.Threshold
	f := plot.Figure{
		Name: "scores", Title: "Validation scores",
		Bars: []plot.Bars{histBars("this run", h, plot.Primary, false)},
		Rules: []plot.Rule{{Vertical: true, At: float64(th.Value), Style: plot.Highlight,
			Label: fmt.Sprintf("threshold %s: %d of %d rows alert", num(th.Value), th.ValidationAlerts, th.ValidationRows)}},
	}
	xlo, xhi := float64(h.Edges[0]), float64(h.Edges[len(h.Edges)-1])
	xlo, xhi = math.Min(xlo, float64(th.Value)), math.Max(xhi, float64(th.Value))
	counts := [][]int{h.Counts}
	if replaced != nil && len(replaced.Threshold.Histogram.Counts) > 0 {
		rh, rt := replaced.Threshold.Histogram, replaced.Threshold.Value
		f.Bars = append(f.Bars, histBars("replaced run "+replaced.RunID, rh, plot.Replaced, true))
		f.Rules = append(f.Rules, plot.Rule{Vertical: true, At: float64(rt), Style: plot.Replaced,
			Label: fmt.Sprintf("replaced run's threshold %s: %d of %d alert", num(rt), replaced.Threshold.ValidationAlerts, replaced.Threshold.ValidationRows)})
		xlo = math.Min(xlo, math.Min(float64(rh.Edges[0]), float64(rt)))
		xhi = math.Max(xhi, math.Max(float64(rh.Edges[len(rh.Edges)-1]), float64(rt)))
		counts = append(counts, rh.Counts)
	}
	most, fewest := countSpan(counts...)
	s.LogCounts = most >= 20*fewest
	yLabel := "validation rows per bin"
	if s.LogCounts {
		yLabel += " (log scale)"
	}
	f.X = plot.Axis{Label: "score (higher: more unusual)", Min: xlo, Max: xhi}
	f.Y = plot.Axis{Label: yLabel, Min: 0, Max: float64(most), Log: s.LogCounts, Integer: true}
	s.Figure, s.Tail = svg(f), tailFigure(run)
	return newSection("scores", "Scores", s)
}

// histBars turns a run.json histogram into bars.
func histBars(label string, h jobs.ScoreHistogram, st plot.Style, outline bool) plot.Bars {
	b := plot.Bars{Label: label, Style: st, Outline: outline}
	for _, e := range h.Edges {
		b.Edges = append(b.Edges, float64(e))
	}
	for _, c := range h.Counts {
		b.Heights = append(b.Heights, float64(c))
	}
	return b
}

// countSpan is the largest count and the smallest count above 0.
func countSpan(lists ...[]int) (most, fewest int) {
	fewest = math.MaxInt
	for _, l := range lists {
		for _, c := range l {
			most = max(most, c)
			if c > 0 {
				fewest = min(fewest, c)
			}
		}
	}
	return most, max(fewest, 1)
}

// tailFigure draws the tail probability against the score, from the
// model's table of validation scores (run.json's tail_table): a step down
// at each edge, on a log axis since the tail is what matters, with the
// threshold and the 1/(n+1) floor beyond the largest validation score
// marked. It is empty for a run without the table.
func tailFigure(run *jobs.RunRecord) template.HTML {
	t := run.TailTable
	if t == nil || len(t.Edges) == 0 || len(t.Shares) != len(t.Edges)+1 {
		return ""
	}
	edges, shares := t.Edges, t.Shares
	floor := float64(shares[len(shares)-1])
	th := float64(run.Threshold.Value)
	lo, hi := spanOf(f64s(edges), []float64{th})
	if q, ok := run.Threshold.ValidationScores["min"]; ok {
		lo = math.Min(lo, float64(q))
	}
	hi += 0.08 * math.Max(hi-lo, 1e-9) // room for the floor beyond the last edge
	x, y := []float64{lo}, []float64{float64(shares[0])}
	for i, e := range edges {
		x = append(x, float64(e), float64(e))
		y = append(y, float64(shares[i]), float64(shares[i+1]))
	}
	x, y = append(x, hi), append(y, floor)
	atThreshold := shares[sort.Search(len(edges), func(i int) bool { return !(edges[i] < run.Threshold.Value) })]
	last := float64(edges[len(edges)-1])
	f := plot.Figure{
		Name: "tail", Title: "Tail probability",
		X: plot.Axis{Label: "score (higher: more unusual)", Min: lo, Max: hi},
		Y: plot.Axis{Label: "share scoring at least as high (log scale)", Min: floor, Max: 1, Log: true},
		Lines: []plot.Line{
			{Label: fmt.Sprintf("tail probability, from %d validation rows", t.Rows), X: x, Y: y, Style: plot.Primary},
		},
		Rules: []plot.Rule{
			{Vertical: true, At: th, Style: plot.Highlight, Label: fmt.Sprintf("threshold %s: tail probability %s", num(run.Threshold.Value), num(atThreshold))},
			{At: floor, Style: plot.Reference},
		},
		Points: []plot.Point{{X: last, Y: floor, Style: plot.Reference,
			Label: fmt.Sprintf("beyond the largest validation score: 1/(n+1) = %s", num(float32(floor)))}},
	}
	return svg(f)
}

// f64s widens v.
func f64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

type latent struct {
	Run    *jobs.RunRecord
	Figure template.HTML
}

// latentSection draws the posterior-mean variance of every latent unit
// against the activity threshold.
func latentSection(run, _ *jobs.RunRecord) (*section, error) {
	v := run.Latent.MeanVariance
	if len(v) == 0 {
		return nil, nil
	}
	b := plot.Bars{Label: "variance of the posterior mean", Style: plot.Primary}
	for i, x := range v {
		b.Edges = append(b.Edges, float64(i)-0.4, float64(i)+0.4)
		b.Heights = append(b.Heights, x, math.NaN()) // the gaps between bars
	}
	b.Heights = b.Heights[:len(b.Heights)-1] // 2k edges, 2k-1 bars
	lo, hi := spanOf(v, []float64{pipeline.ActiveUnitThreshold})
	logY := lo > 0 && hi/lo > 100
	y := plot.Axis{Label: "variance over the training rows", Min: 0, Max: hi}
	if logY {
		y = plot.Axis{Label: "variance over the training rows (log scale)", Min: lo, Max: hi, Log: true}
	}
	f := plot.Figure{
		Name: "latent", Title: "Latent units: variance of the posterior mean",
		X:     plot.Axis{Label: "latent unit", Min: -0.5, Max: float64(len(v)) - 0.5, Integer: true},
		Y:     y,
		Bars:  []plot.Bars{b},
		Rules: []plot.Rule{{At: pipeline.ActiveUnitThreshold, Style: plot.Highlight, Label: fmt.Sprintf("active above %g", pipeline.ActiveUnitThreshold)}},
	}
	return newSection("latent", "The latent space", latent{Run: run, Figure: svg(f)})
}
