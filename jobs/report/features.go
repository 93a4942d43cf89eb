package report

import (
	"slices"

	"github.com/vaejob/vaejob/jobs"
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
}

type features struct {
	Run     *jobs.RunRecord
	Rows    []featureRow
	Dropped []jobs.ConstantFeature // constant features not among the model's (--constant-columns drop)
}

// featuresSection lists the model's features with their scaling, missing
// values and imputation, the constant and ignored features, and the
// columns the selection skipped. (The mean share of each feature in the
// score, on alerts and on all validation rows, joins it once run.json
// records it.)
func featuresSection(run, _ *jobs.RunRecord) (*section, error) {
	f := features{Run: run}
	constant := map[string]*jobs.ConstantFeature{}
	for i := range run.ConstantFeatures {
		c := &run.ConstantFeatures[i]
		constant[c.Name] = c
		if !slices.Contains(run.Features, c.Name) {
			f.Dropped = append(f.Dropped, *c)
		}
	}
	for i, name := range run.Features {
		r := featureRow{Name: name, Constant: constant[name],
			ConstantInTrainingOnly: slices.Contains(run.ConstantInTraining, name),
			Ignored:                slices.Contains(run.IgnoredFeatures, name)}
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
