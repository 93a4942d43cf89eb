package report

import (
	"slices"

	"github.com/vaejob/vaejob/jobs"
)

// change is one measure of the run beside the replaced run's.
type change struct {
	What       string
	Old, New   string
	Difference string // new − old, when both are numbers
}

type changes struct {
	Run, Replaced  *jobs.RunRecord
	BaselineID     string // the run latest pointed at (gate.baseline_run_id)
	Rows           []change
	Added, Removed []string
}

// changesSection compares the run with the run it replaced: rows, the
// threshold, alerts, label metrics, latent units, and the features added
// or removed. Without a replaced run there is no section; with one whose
// record could not be read, the section says so.
func changesSection(run, replaced *jobs.RunRecord) (*section, error) {
	if run.Gate == nil || run.Gate.Baseline == "" {
		return nil, nil
	}
	c := changes{Run: run, Replaced: replaced, BaselineID: run.Gate.Baseline}
	if replaced != nil {
		c.Rows = changeRows(replaced, run)
		for _, f := range run.Features {
			if !slices.Contains(replaced.Features, f) {
				c.Added = append(c.Added, f)
			}
		}
		for _, f := range replaced.Features {
			if !slices.Contains(run.Features, f) {
				c.Removed = append(c.Removed, f)
			}
		}
	}
	return newSection("changes", "Against the replaced run", c)
}

func changeRows(old, cur *jobs.RunRecord) []change {
	numeric := func(what string, o, n float64) change {
		return change{What: what, Old: num(o), New: num(n), Difference: signed(n - o)}
	}
	text := func(what, o, n string) change { return change{What: what, Old: o, New: n} }
	rate := func(r *jobs.RunRecord) float64 {
		if r.Threshold.ValidationRows == 0 {
			return 0
		}
		return float64(r.Threshold.ValidationAlerts) / float64(r.Threshold.ValidationRows)
	}
	rows := []change{
		numeric("training rows", float64(old.Rows.Train), float64(cur.Rows.Train)),
		numeric("validation rows", float64(old.Rows.Validation), float64(cur.Rows.Validation)),
		numeric("features", float64(len(old.Features)), float64(len(cur.Features))),
		text("threshold method", old.Threshold.Method, cur.Threshold.Method),
		numeric("threshold", float64(old.Threshold.Value), float64(cur.Threshold.Value)),
		numeric("validation alert rate", rate(old), rate(cur)),
		numeric("median validation score", float64(old.Threshold.ValidationScores["p50"]), float64(cur.Threshold.ValidationScores["p50"])),
		numeric("active latent units", float64(old.Latent.Active), float64(cur.Latent.Active)),
	}
	if o, n := old.ValidationMetrics, cur.ValidationMetrics; o != nil && n != nil {
		rows = append(rows,
			numeric("ROC-AUC", o.ROCAUC, n.ROCAUC),
			numeric("PR-AUC", o.PRAUC, n.PRAUC),
			numeric("F1 at the threshold", o.At.F1, n.At.F1))
	}
	if eo, en := old.Training.Epochs, cur.Training.Epochs; len(eo) > 0 && len(en) > 0 {
		rows = append(rows, numeric("final validation loss", eo[len(eo)-1].ValLoss, en[len(en)-1].ValLoss))
	}
	return rows
}

// signed writes a difference with its sign.
func signed(d float64) string {
	if d > 0 {
		return "+" + num(d)
	}
	return num(d)
}
