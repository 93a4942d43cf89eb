package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// halves are the two halves of the 20 dev tables on which a default is
// selected and confirmed (issue 17): settings chosen on one half are
// confirmed on the other, then the halves swap.
var halves = [2][]string{
	{"ALOI", "annthyroid", "breastw", "cardio", "Cardiotocography", "fault", "glass", "Hepatitis", "http", "landsat"},
	{"mnist", "optdigits", "pendigits", "Pima", "satellite", "shuttle", "SpamBase", "thyroid", "Waveform", "WBC"},
}

// halfOf names the selection half of a dataset: "A", "B" or "" for a table
// in neither.
func halfOf(dataset string) string {
	for i, h := range halves {
		if slices.Contains(h, dataset) {
			return string(rune('A' + i))
		}
	}
	return ""
}

// Floor margins: a model may fall at most centroidMargin ROC-AUC below the
// centroid column and baselineMargin below the baseline preset on any table.
const (
	centroidMargin = 0.02
	baselineMargin = 0.05
)

// tableRow is one dataset's means over its successful runs.
type tableRow struct {
	dataset, half   string
	runs            int // usable runs; 0 when every run failed
	hasRef          bool
	model, baseline figures // means over the runs
	hasBaseline     bool
	active          []int
	ref             [6]float64 // reference columns, see reference
	floor           float64    // the lowest ROC-AUC the table allows
}

// floorOf is a table's floor: centroidMargin under its centroid column
// (where it has reference figures), or baselineMargin under the ROC-AUC it
// is compared with (the baseline preset's, or in the study the model's
// own), whichever is higher.
func floorOf(ref [6]float64, hasRef bool, compared float64, hasCompared bool) float64 {
	floor := 0.0
	if hasRef {
		floor = ref[2] - centroidMargin
	}
	if hasCompared {
		floor = max(floor, compared-baselineMargin)
	}
	return floor
}

// below reports whether the model's ROC-AUC is under the table's floor.
func (r tableRow) below() bool { return r.runs > 0 && r.model.roc < r.floor }

// report is a benchmark's per-table rows and run count.
type report struct {
	rows   []tableRow
	failed int
}

// summarize averages each dataset's usable runs (see split.usable); a run
// where either preset failed counts for neither, so both columns rest on
// the same splits. A dataset without a usable run keeps a row with runs 0.
func summarize(tasks []split) report {
	var rep report
	byDataset := map[string][]split{} // usable runs; every dataset has a key
	for _, t := range tasks {
		runs := byDataset[t.dataset]
		if t.usable() {
			runs = append(runs, t)
		} else {
			rep.failed++
		}
		byDataset[t.dataset] = runs
	}
	for name, runs := range byDataset {
		_, hasRef := reference[name]
		row := tableRow{dataset: name, half: halfOf(name), runs: len(runs), hasRef: hasRef, ref: reference[name]}
		for _, t := range runs {
			row.hasBaseline = t.hasBaseline
			row.model.add(t.model.figures, len(runs))
			row.baseline.add(t.baseline.figures, len(runs))
			row.active = append(row.active, t.model.active)
		}
		row.floor = floorOf(row.ref, hasRef, row.baseline.roc, row.hasBaseline)
		rep.rows = append(rep.rows, row)
	}
	slices.SortFunc(rep.rows, func(a, b tableRow) int {
		// Names that differ only in case still get one order.
		return cmp.Or(strings.Compare(strings.ToLower(a.dataset), strings.ToLower(b.dataset)), strings.Compare(a.dataset, b.dataset))
	})
	return rep
}

// add adds m's share of a mean over n values.
func (a *figures) add(m figures, n int) {
	f := float64(n)
	a.roc += m.roc / f
	a.pr += m.pr / f
	a.trainSeconds += m.trainSeconds / f
	a.scoreNsRow += m.scoreNsRow / f
}

// mean averages the figures of the rows with runs that keep returns true
// for, and counts them; the reference columns are averaged over those of
// them that have reference figures.
func (rep report) mean(keep func(tableRow) bool) (model, baseline figures, ref [6]float64, n int) {
	use := func(r tableRow) bool { return r.runs > 0 && keep(r) }
	refs := 0
	for _, r := range rep.rows {
		if use(r) {
			n++
			if r.hasRef {
				refs++
			}
		}
	}
	for _, r := range rep.rows {
		if !use(r) {
			continue
		}
		model.add(r.model, n)
		baseline.add(r.baseline, n)
		for i := range ref {
			if r.hasRef {
				ref[i] += r.ref[i] / float64(refs)
			}
		}
	}
	return model, baseline, ref, n
}

// meanGroups are the groups of tables the reports average: half A, half B
// and all tables.
var meanGroups = []struct {
	label string
	keep  func(tableRow) bool
}{
	{"mean, half A", func(r tableRow) bool { return r.half == "A" }},
	{"mean, half B", func(r tableRow) bool { return r.half == "B" }},
	{"mean", func(tableRow) bool { return true }},
}

// print writes the report as Markdown tables.
func (rep report) print(w io.Writer, preset, baseline string) {
	withBaseline := baseline != ""
	fmt.Fprintf(w, "preset %s: test ROC-AUC and PR-AUC, mean over runs", preset)
	if withBaseline {
		fmt.Fprintf(w, "; baseline preset %s on the same splits and job seeds", baseline)
	}
	columns := []string{"dataset", "half", "runs", "ROC"}
	if withBaseline {
		columns = append(columns, "baseline ROC", "Δ")
	}
	columns = append(columns, "iforest ROC", "centroid ROC", "floor", "PR")
	if withBaseline {
		columns = append(columns, "baseline PR")
	}
	columns = append(columns, "iforest PR", "centroid PR", "active units", "train s", "score µs/row")
	fmt.Fprint(w, "\n\n")
	writeHeader(w, columns, 2)
	var under, failed []string
	for _, r := range rep.rows {
		if r.runs == 0 {
			failed = append(failed, r.dataset)
			fmt.Fprintf(w, "| %s | %s | 0 | failed |\n", r.dataset, r.half)
			continue
		}
		mark := ""
		if r.below() {
			mark = " ✗"
			under = append(under, fmt.Sprintf("%s (%.3f < %.3f)", r.dataset, r.model.roc, r.floor))
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.3f%s |", r.dataset, r.half, r.runs, r.model.roc, mark)
		if withBaseline {
			fmt.Fprintf(w, " %.3f | %+.3f |", r.baseline.roc, r.model.roc-r.baseline.roc)
		}
		fmt.Fprintf(w, " %.3f | %.3f | %.3f | %.3f |", r.ref[1], r.ref[2], r.floor, r.model.pr)
		if withBaseline {
			fmt.Fprintf(w, " %.3f |", r.baseline.pr)
		}
		fmt.Fprintf(w, " %.3f | %.3f | %s | %.1f | %.2f |\n", r.ref[4], r.ref[5], span(r.active), r.model.trainSeconds, r.model.scoreNsRow/1e3)
	}
	for _, g := range meanGroups {
		m, b, ref, n := rep.mean(g.keep)
		if n == 0 || (n == len(rep.rows) && g.label != "mean") {
			continue
		}
		fmt.Fprintf(w, "| **%s** | | %d tables | **%.3f** |", g.label, n, m.roc)
		if withBaseline {
			fmt.Fprintf(w, " %.3f | %+.3f |", b.roc, m.roc-b.roc)
		}
		fmt.Fprintf(w, " %.3f | %.3f | | **%.3f** |", ref[1], ref[2], m.pr)
		if withBaseline {
			fmt.Fprintf(w, " %.3f |", b.pr)
		}
		fmt.Fprintf(w, " %.3f | %.3f | | %.1f | %.2f |\n", ref[4], ref[5], m.trainSeconds, m.scoreNsRow/1e3)
	}
	fmt.Fprintf(w, "\nfloor: centroid ROC − %.2f", centroidMargin)
	if withBaseline {
		fmt.Fprintf(w, ", or baseline ROC − %.2f where higher", baselineMargin)
	}
	switch {
	case len(under) == 0 && len(failed) == 0:
		fmt.Fprintln(w, "; no table below its floor")
	case len(under) == 0:
		fmt.Fprintln(w, "; no table with runs below its floor")
	default:
		fmt.Fprintf(w, "; %d below: %s\n", len(under), strings.Join(under, ", "))
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "no run of %s succeeded: left out of the means\n", strings.Join(failed, ", "))
	}
	if withBaseline {
		m, b, _, n := rep.mean(func(tableRow) bool { return true })
		if n > 0 && b.trainSeconds > 0 && b.scoreNsRow > 0 {
			fmt.Fprintf(w, "cost against the baseline, mean of tables: training %.2f× (%.1f s / %.1f s a run), ONNX scoring %.2f× (%.2f µs / %.2f µs a row)\n",
				m.trainSeconds/b.trainSeconds, m.trainSeconds, b.trainSeconds, m.scoreNsRow/b.scoreNsRow, m.scoreNsRow/1e3, b.scoreNsRow/1e3)
		}
	}
}

// writeHeader writes a Markdown table header, its first left columns
// aligned left and the others right.
func writeHeader(w io.Writer, columns []string, left int) {
	fmt.Fprintf(w, "| %s |\n|", strings.Join(columns, " | "))
	for i := range columns {
		if i < left {
			fmt.Fprint(w, "---|")
		} else {
			fmt.Fprint(w, "---:|")
		}
	}
	fmt.Fprintln(w)
}

// span prints the range of a list of counts: "3" or "2–5".
func span(v []int) string {
	if len(v) == 0 {
		return ""
	}
	lo, hi := slices.Min(v), slices.Max(v)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// reference holds the seed-vae, iforest and centroid columns of the datasets
// README (ROC-AUC, then PR-AUC).
var reference = map[string][6]float64{
	"ALOI":             {0.553, 0.560, 0.552, 0.050, 0.037, 0.050},
	"annthyroid":       {0.562, 0.827, 0.561, 0.103, 0.278, 0.102},
	"breastw":          {0.855, 0.988, 0.956, 0.870, 0.970, 0.960},
	"cardio":           {0.941, 0.932, 0.948, 0.639, 0.594, 0.636},
	"Cardiotocography": {0.829, 0.681, 0.806, 0.601, 0.447, 0.569},
	"fault":            {0.459, 0.554, 0.461, 0.374, 0.404, 0.378},
	"glass":            {0.514, 0.813, 0.576, 0.114, 0.154, 0.121},
	"Hepatitis":        {0.727, 0.703, 0.728, 0.275, 0.251, 0.274},
	"http":             {0.994, 1.000, 0.994, 0.413, 0.899, 0.412},
	"landsat":          {0.375, 0.505, 0.375, 0.166, 0.206, 0.166},
	"mnist":            {0.849, 0.803, 0.844, 0.358, 0.272, 0.348},
	"optdigits":        {0.514, 0.716, 0.542, 0.027, 0.050, 0.029},
	"pendigits":        {0.934, 0.957, 0.934, 0.189, 0.332, 0.191},
	"Pima":             {0.549, 0.654, 0.647, 0.413, 0.507, 0.469},
	"satellite":        {0.604, 0.698, 0.605, 0.592, 0.661, 0.593},
	"shuttle":          {0.982, 0.997, 0.981, 0.893, 0.970, 0.891},
	"SpamBase":         {0.427, 0.639, 0.554, 0.359, 0.494, 0.414},
	"thyroid":          {0.891, 0.985, 0.874, 0.214, 0.707, 0.194},
	"Waveform":         {0.643, 0.696, 0.649, 0.050, 0.060, 0.051},
	"WBC":              {0.997, 0.995, 0.999, 0.966, 0.949, 0.981},
}
