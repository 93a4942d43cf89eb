package jobs

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/vaejob/vaejob/pipeline"
)

// FeatureDriver is one feature's mean share of the score (see
// pipeline.ScoreParts) among the labelled anomalies, the normal rows and
// the alerts: the features whose share is large among anomalies and small
// among normal rows are those that drive the alerts. Rows that score NaN
// (a missing value the model does not impute) have no shares and are left
// out; a mean over no rows is null.
type FeatureDriver struct {
	Feature   string   `json:"feature"`
	Anomalies *float64 `json:"mean_share_anomalies"`
	Normal    *float64 `json:"mean_share_normal"`
	Alerts    *float64 `json:"mean_share_alerts"`
}

// driversShown is how many features evaluate's text output lists.
const driversShown = 5

// featureDrivers returns every feature's driver figures, the features
// with the largest mean share among the labelled anomalies first (equal
// ones in feature order). parts are the scores of the rows split into
// shares, labels mark the anomalies.
func featureDrivers(m *pipeline.Model, parts pipeline.ScoreParts, labels []bool) []FeatureDriver {
	d := m.Dim()
	type mean struct {
		sum []float64
		n   int
	}
	newMean := func() *mean { return &mean{sum: make([]float64, d)} }
	anom, normal, alerts := newMean(), newMean(), newMean()
	for i, score := range parts.Scores {
		if score != score {
			continue
		}
		groups := []*mean{normal}
		if labels[i] {
			groups[0] = anom
		}
		if pipeline.IsAnomaly(score, m.Threshold) {
			groups = append(groups, alerts)
		}
		for _, g := range groups {
			g.n++
			for j, v := range parts.Features[i*d : (i+1)*d] {
				g.sum[j] += float64(v)
			}
		}
	}
	at := func(g *mean, j int) *float64 {
		if g.n == 0 {
			return nil
		}
		v := g.sum[j] / float64(g.n)
		return &v
	}
	out := make([]FeatureDriver, d)
	for j, name := range m.Features {
		out[j] = FeatureDriver{Feature: name, Anomalies: at(anom, j), Normal: at(normal, j), Alerts: at(alerts, j)}
	}
	slices.SortStableFunc(out, func(a, b FeatureDriver) int { return cmp.Compare(orZero(b.Anomalies), orZero(a.Anomalies)) })
	return out
}

// orZero returns *v, or 0 for nil.
func orZero(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// writeDrivers prints the first driversShown drivers as a table.
func writeDrivers(w io.Writer, drivers []FeatureDriver) {
	if len(drivers) == 0 {
		return
	}
	fmt.Fprintf(w, "drivers    mean share of the score, by the share among labelled anomalies (top %d of %d; all in --json)\n", min(driversShown, len(drivers)), len(drivers))
	fmt.Fprintf(w, "           %-28s %10s %10s %10s\n", "feature", "anomalies", "normal", "alerts")
	text := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.4g", *v)
	}
	for _, dr := range drivers[:min(driversShown, len(drivers))] {
		fmt.Fprintf(w, "           %-28s %10s %10s %10s\n", dr.Feature, text(dr.Anomalies), text(dr.Normal), text(dr.Alerts))
	}
}
