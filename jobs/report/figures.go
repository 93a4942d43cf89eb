package report

import (
	"fmt"
	"html/template"
	"math"

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
	Figure        template.HTML
	LogCounts     bool
	Quantiles     []setting
}

// quantileNames are run.json's validation score quantiles in order.
var quantileNames = []string{"min", "p01", "p05", "p25", "p50", "p75", "p95", "p99", "p999", "max"}

// scoresSection draws the validation score histogram with the threshold
// and the alerts, over the replaced run's.
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
	s.Figure = svg(f)
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

// tailSection will draw the tail probability curve from the table of
// validation scores the model carries (issue 15, part 2). run.json holds
// no such table yet, so the section is left out.
func tailSection(_, _ *jobs.RunRecord) (*section, error) { return nil, nil }

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
