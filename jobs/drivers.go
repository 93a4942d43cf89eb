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
	Anomalies *float32 `json:"mean_share_anomalies"`
	Normal    *float32 `json:"mean_share_normal"`
	Alerts    *float32 `json:"mean_share_alerts"`
}

// driversShown is how many features evaluate's text output lists.
const driversShown = 5

// featureDrivers returns every feature's driver figures, the features
// with the largest mean share among the labelled anomalies first (equal
// ones in feature order). parts are the scores of the rows split into
// shares, labels mark the anomalies; the means are featureShares', the one
// place shares are averaged.
func featureDrivers(m *pipeline.Model, parts pipeline.ScoreParts, labels []bool) []FeatureDriver {
	over := func(on func(i int) bool) *FeatureShares {
		return featureShares(m.Features, parts, m.Threshold, on)
	}
	anomalies := over(func(i int) bool { return labels[i] })
	normal := over(func(i int) bool { return !labels[i] })
	all := over(func(int) bool { return true })
	mean := func(fs *FeatureShares, rows int, share func(FeatureShare) float32, j int) *float32 {
		if rows == 0 {
			return nil
		}
		v := share(fs.Features[j])
		return &v
	}
	byAll := func(f FeatureShare) float32 { return f.All }
	byAlerts := func(f FeatureShare) float32 { return f.Alerts }
	out := make([]FeatureDriver, m.Dim())
	for j, name := range m.Features {
		out[j] = FeatureDriver{
			Feature:   name,
			Anomalies: mean(anomalies, anomalies.Rows, byAll, j),
			Normal:    mean(normal, normal.Rows, byAll, j),
			Alerts:    mean(all, all.Alerts, byAlerts, j),
		}
	}
	slices.SortStableFunc(out, func(a, b FeatureDriver) int { return cmp.Compare(orZero(b.Anomalies), orZero(a.Anomalies)) })
	return out
}

// orZero returns *v, or 0 for nil.
func orZero(v *float32) float32 {
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
	text := func(v *float32) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.4g", *v)
	}
	for _, dr := range drivers[:min(driversShown, len(drivers))] {
		fmt.Fprintf(w, "           %-28s %10s %10s %10s\n", dr.Feature, text(dr.Anomalies), text(dr.Normal), text(dr.Alerts))
	}
}
