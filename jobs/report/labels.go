package report

import (
	"fmt"
	"html/template"

	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/jobs/report/plot"
)

type labels struct {
	Run     *jobs.RunRecord
	M       *jobs.LabelMetrics
	Figures []template.HTML
}

// labelsSection draws, for a labelled run, the ROC and precision-recall
// curves with the threshold's point on each, beside the confusion matrix
// and the precision, recall and F1 at the threshold.
func labelsSection(run, replaced *jobs.RunRecord) (*section, error) {
	m := run.ValidationMetrics
	if m == nil {
		return nil, nil
	}
	l := labels{Run: run, M: m}
	if c := run.ValidationCurves; c != nil {
		var old *jobs.ValidationCurves
		if replaced != nil {
			old = replaced.ValidationCurves
		}
		l.Figures = append(l.Figures, svg(rocFigure(c, old, m)), svg(prFigure(c, old, m)))
	}
	return newSection("labels", "Against the labels", l)
}

// curvePoints picks one curve's points out of a run's curves.
type curvePoints func(*jobs.ValidationCurves) (x, y []float64)

func rocPoints(c *jobs.ValidationCurves) (x, y []float64) {
	x, y = []float64{0}, []float64{0} // the curve begins at (0, 0)
	for _, p := range c.ROC {
		x, y = append(x, p.FPR), append(y, p.TPR)
	}
	return x, y
}

func prPoints(c *jobs.ValidationCurves) (x, y []float64) {
	for _, p := range c.PR {
		x, y = append(x, p.Recall), append(y, p.Precision)
	}
	return x, y
}

// curveFigure draws this run's curve and, over it, the replaced run's
// (old, nil when it has none), on unit axes.
func curveFigure(name, title, xLabel, yLabel string, c, old *jobs.ValidationCurves, pick curvePoints) plot.Figure {
	f := plot.Figure{Name: name, Title: title,
		X: plot.Axis{Label: xLabel, Min: 0, Max: 1}, Y: plot.Axis{Label: yLabel, Min: 0, Max: 1}}
	x, y := pick(c)
	f.Lines = append(f.Lines, plot.Line{Label: "this run", X: x, Y: y, Style: plot.Primary})
	if old != nil {
		x, y := pick(old)
		f.Lines = append(f.Lines, plot.Line{Label: "replaced run", X: x, Y: y, Style: plot.Replaced})
	}
	return f
}

func rocFigure(c, old *jobs.ValidationCurves, m *jobs.LabelMetrics) plot.Figure {
	f := curveFigure("roc", fmt.Sprintf("ROC curve (area %s)", num(m.ROCAUC)),
		"false positive rate (share of normal rows alerted)", "true positive rate (recall)", c, old, rocPoints)
	f.Lines = append(f.Lines, plot.Line{Label: "chance", X: []float64{0, 1}, Y: []float64{0, 1}, Style: plot.Reference})
	at := m.At
	if n := at.FP + at.TN; n > 0 {
		fpr := float64(at.FP) / float64(n)
		f.Points = []plot.Point{{X: fpr, Y: at.Recall, Style: plot.Highlight,
			Label: fmt.Sprintf("threshold: TPR %s, FPR %s", num(at.Recall), num(fpr))}}
	}
	return f
}

func prFigure(c, old *jobs.ValidationCurves, m *jobs.LabelMetrics) plot.Figure {
	f := curveFigure("precision-recall", fmt.Sprintf("Precision-recall curve (average precision %s)", num(m.PRAUC)),
		"recall (share of anomalies alerted)", "precision (share of alerts that are anomalies)", c, old, prPoints)
	if m.Rows > 0 {
		prevalence := float64(m.Anomalies) / float64(m.Rows)
		f.Rules = []plot.Rule{{At: prevalence, Style: plot.Reference, Label: "chance: share of anomalies " + num(prevalence)}}
	}
	at := m.At
	if at.TP+at.FP > 0 {
		f.Points = []plot.Point{{X: at.Recall, Y: at.Precision, Style: plot.Highlight,
			Label: fmt.Sprintf("threshold: precision %s, recall %s", num(at.Precision), num(at.Recall))}}
	}
	return f
}
