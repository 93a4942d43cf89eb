package report

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"

	"github.com/vaejob/vaejob/jobs"
	"github.com/vaejob/vaejob/jobs/report/plot"
)

// featureRow is one feature of the model as the data section lists it.
type featureRow struct {
	Name                   string
	Offset, Scale          float32
	Min, Max               float32 // the range on the training rows
	Missing                int
	Imputed                *float32 // the training median that replaces a missing value
	Constant               *jobs.ConstantFeature
	ConstantInTrainingOnly bool
	Ignored                bool
	Spike                  *jobs.SpikeFeature
}

type features struct {
	Run     *jobs.RunRecord
	Rows    []featureRow
	Dropped []jobs.ConstantFeature // constant features not among the model's (--constant-columns drop)
	Shares  template.HTML          // the chart of the features' mean shares of the score
}

// shownShares is the most features the chart of shares draws.
const shownShares = 20

// sharesFigure draws each feature's mean share of the score on the
// validation rows that alert and on all of them, the features with the
// largest share on alerts first (on all rows when none alerts), at most
// shownShares of them. It is empty for a run without the shares.
func sharesFigure(fs *jobs.FeatureShares) template.HTML {
	if fs == nil || len(fs.Features) == 0 {
		return ""
	}
	sorted := slices.Clone(fs.Features)
	key := func(f jobs.FeatureShare) float32 { return f.Alerts }
	if fs.Alerts == 0 {
		key = func(f jobs.FeatureShare) float32 { return f.All }
	}
	slices.SortStableFunc(sorted, func(a, b jobs.FeatureShare) int {
		return cmp.Or(cmp.Compare(key(b), key(a)), cmp.Compare(b.All, a.All), cmp.Compare(a.Name, b.Name))
	})
	c := plot.BarChart{Name: "feature-shares", Title: "Mean share of the score per feature"}
	if len(sorted) > shownShares {
		c.Note = fmt.Sprintf("and %d more features with smaller shares", len(sorted)-shownShares)
		sorted = sorted[:shownShares]
	}
	alerts := plot.Series{Label: fmt.Sprintf("the %d validation rows that alert", fs.Alerts), Style: plot.Highlight}
	all := plot.Series{Label: fmt.Sprintf("all %d validation rows", fs.Rows), Style: plot.Primary}
	for _, f := range sorted {
		c.Categories = append(c.Categories, f.Name)
		alerts.Values = append(alerts.Values, float64(f.Alerts))
		all.Values = append(all.Values, float64(f.All))
	}
	if fs.Alerts > 0 {
		c.Series = append(c.Series, alerts)
	}
	c.Series = append(c.Series, all)
	lo, hi := spanOf(alerts.Values, all.Values, []float64{0})
	c.Value = plot.Axis{Label: "mean share of the score (score units)", Min: lo, Max: hi}
	return template.HTML(c.SVG()) // plot escapes every text it writes
}

// featuresSection lists the model's features with their scaling, missing
// values and imputation, the constant, spike and ignored features, and the
// columns the selection skipped, under a chart of each feature's mean share
// of the score on the validation alerts and on all validation rows.
func featuresSection(run, _ *jobs.RunRecord) (*section, error) {
	f := features{Run: run, Shares: sharesFigure(run.FeatureShares)}
	constant := map[string]*jobs.ConstantFeature{}
	for i := range run.ConstantFeatures {
		c := &run.ConstantFeatures[i]
		constant[c.Name] = c
		if !slices.Contains(run.Features, c.Name) {
			f.Dropped = append(f.Dropped, *c)
		}
	}
	spike := map[string]*jobs.SpikeFeature{}
	for i := range run.SpikeFeatures {
		spike[run.SpikeFeatures[i].Name] = &run.SpikeFeatures[i]
	}
	for i, name := range run.Features {
		r := featureRow{Name: name, Constant: constant[name],
			ConstantInTrainingOnly: slices.Contains(run.ConstantInTraining, name),
			Ignored:                slices.Contains(run.IgnoredFeatures, name), Spike: spike[name]}
		if i < len(run.Scaler.Offset) && i < len(run.Scaler.Scale) {
			r.Offset, r.Scale = run.Scaler.Offset[i], run.Scaler.Scale[i]
		}
		if i < len(run.Scaler.Min) && i < len(run.Scaler.Max) {
			r.Min, r.Max = run.Scaler.Min[i], run.Scaler.Max[i]
		}
		if m := run.Missing; m != nil {
			r.Missing = m.PerColumn[name]
			if v, ok := m.Values[name]; ok {
				r.Imputed = &v
			}
		}
		f.Rows = append(f.Rows, r)
	}
	return newSection("features", "Features", f)
}
