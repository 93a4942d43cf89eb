package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vaejob/vaejob/pipeline"
)

// defaultCombinations is the --study-combinations list: each term alone,
// the model's score with each other term, and the mixes the issue 17 study
// measured.
var defaultCombinations = func() string {
	var c []string
	for _, t := range terms {
		c = append(c, t.name)
	}
	for _, t := range terms[1:] {
		c = append(c, modelScore+"+"+t.name)
	}
	return strings.Join(append(c, "vae+0.5*centroid-minmax", "vae+0.5*pca-residual", "vae+l1-robust+pca-residual", "vae+centroid-minmax+pca-residual"), ",")
}()

// combination is a weighted set of terms: "vae+0.5*pca-residual".
type combination struct {
	spec    string
	terms   []int // indices into terms
	weights []float64
}

// parseCombinations parses a comma-separated list of combinations, each
// terms joined by "+", a term optionally weighted as "W*name".
func parseCombinations(list string) ([]combination, error) {
	var out []combination
	for _, spec := range strings.Split(list, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		c := combination{spec: spec}
		for _, part := range strings.Split(spec, "+") {
			w, name := 1.0, strings.TrimSpace(part)
			if before, after, ok := strings.Cut(name, "*"); ok {
				before = strings.TrimSpace(before)
				var err error
				if w, err = strconv.ParseFloat(before, 64); err != nil || !(w > 0) || math.IsInf(w, 1) {
					return nil, fmt.Errorf("combination %q: weight %q is not a positive number", spec, before)
				}
				name = strings.TrimSpace(after)
			}
			t := termNamed(name)
			if t < 0 {
				names := make([]string, len(terms))
				for i, tm := range terms {
					names[i] = tm.name
				}
				return nil, fmt.Errorf("combination %q: unknown term %q; known terms: %s", spec, name, strings.Join(names, ", "))
			}
			c.terms, c.weights = append(c.terms, t), append(c.weights, w)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no combinations in %q", list)
	}
	return out, nil
}

// A normalisation maps a term's test scores onto a scale fitted on its
// training scores, so that terms of different units can be added.
type normalisation struct {
	name, about string
	apply       func(train, test []float64) []float64
}

// normalisations are the study's ways to put terms on one scale.
var normalisations = []normalisation{
	{"q90", "(s − median) / (q90 − median) of the training scores", normaliseQ90},
	{"tail", "−log of the share of training scores ≥ s (a step function below q90), extrapolated exponentially past q90", normaliseTail},
}

// A rule combines normalised terms: their weighted sum or maximum.
type rule struct {
	name    string
	combine func(acc, v float64) float64
	start   float64 // the value before the first term
}

// rules are the study's rules.
var rules = []rule{
	{"sum", func(acc, v float64) float64 { return acc + v }, 0},
	{"max", math.Max, math.Inf(-1)},
}

// spreadAbove returns the first positive one of q90 − median, q99 −
// median and max − median of sorted values, or 1 when all are 0 (a
// constant term).
func spreadAbove(sorted []float64, med float64) float64 {
	for _, q := range []float64{0.9, 0.99, 1} {
		if d := pipeline.QuantileSorted(sorted, q) - med; d > 0 {
			return d
		}
	}
	return 1
}

// normaliseQ90 maps s to (s − median) / spread with spreadAbove's spread
// of the training scores: the median goes to 0, q90 to 1 where they differ.
func normaliseQ90(train, test []float64) []float64 {
	sorted := slices.Sorted(slices.Values(train))
	med := pipeline.QuantileSorted(sorted, 0.5)
	spread := spreadAbove(sorted, med)
	out := make([]float64, len(test))
	for i, v := range test {
		out[i] = (v - med) / spread
	}
	return out
}

// normaliseTail maps s to −log of the share of training scores at least s
// up to q90 (half a score where none is), and past q90 to −log of the share
// above q90 plus (s − q90) / the mean excess of those scores over q90: an
// exponential tail. Where no training score exceeds q90 (ties at the top),
// the share is of the scores at q90 and the scale is spreadAbove's.
func normaliseTail(train, test []float64) []float64 {
	sorted := slices.Sorted(slices.Values(train))
	n := float64(len(sorted))
	q90 := pipeline.QuantileSorted(sorted, 0.9)
	above := sorted[sortSearch(sorted, q90, true):]
	beyond := float64(len(above))
	scale := 0.0
	for _, v := range above {
		scale += (v - q90) / beyond
	}
	if len(above) == 0 {
		beyond = n - float64(sortSearch(sorted, q90, false))
		scale = spreadAbove(sorted, pipeline.QuantileSorted(sorted, 0.5))
	}
	out := make([]float64, len(test))
	for i, v := range test {
		if v > q90 {
			out[i] = math.Log(n/beyond) + (v-q90)/scale
			continue
		}
		atLeast := n - float64(sortSearch(sorted, v, false))
		out[i] = -math.Log(max(atLeast, 0.5) / n)
	}
	return out
}

// sortSearch returns the index of the first value of sorted above v
// (strict) or at least v.
func sortSearch(sorted []float64, v float64, strict bool) int {
	if strict {
		return sort.Search(len(sorted), func(i int) bool { return sorted[i] > v })
	}
	i, _ := slices.BinarySearch(sorted, v)
	return i
}

// normalisedRun is one run's terms with their normalised test scores, each
// computed once, when first asked for, and kept for every combination and
// rule that uses it.
type normalisedRun struct {
	terms [][2][]float64
	done  [][][]float64 // [normalisation][term]
}

func newNormalisedRun(terms [][2][]float64) *normalisedRun {
	n := &normalisedRun{terms: terms, done: make([][][]float64, len(normalisations))}
	for i := range n.done {
		n.done[i] = make([][]float64, len(terms))
	}
	return n
}

// test returns term t's test scores under normalisation ni.
func (n *normalisedRun) test(ni, t int) []float64 {
	if n.done[ni][t] == nil {
		n.done[ni][t] = normalisations[ni].apply(n.terms[t][0], n.terms[t][1])
	}
	return n.done[ni][t]
}

// combine scores a run's test rows with a combination of its terms
// normalised by ni.
func combine(c combination, run *normalisedRun, ni int, r rule) []float32 {
	var out []float64
	for k, t := range c.terms {
		z := run.test(ni, t)
		if out == nil {
			out = make([]float64, len(z))
			for i := range out {
				out[i] = r.start
			}
		}
		for i, v := range z {
			out[i] = r.combine(out[i], c.weights[k]*v)
		}
	}
	s := make([]float32, len(out))
	for i, v := range out {
		s[i] = float32(v)
	}
	return s
}

// printStudy writes the study table: for each combination, normalisation
// and rule, the mean test ROC-AUC and PR-AUC of each half and of all
// tables, and the tables below their floor, max(centroid − 0.02, the
// model's own ROC-AUC − 0.05).
func printStudy(w io.Writer, tasks []split, combos []combination) error {
	var ok []split // the main table's runs, less those whose study failed
	for _, t := range tasks {
		if t.usable() && t.study.err == nil && t.study.terms != nil {
			ok = append(ok, t)
		}
	}
	normalised := make([]*normalisedRun, len(ok))
	for i, t := range ok {
		normalised[i] = newNormalisedRun(t.study.terms)
	}
	own := summarize(ok)
	floors := map[string]float64{}
	for _, r := range own.rows {
		floors[r.dataset] = floorOf(r.ref, r.hasRef, r.model.roc, true)
	}
	fmt.Fprintln(w, "\nstudy: the model's score and candidate terms computed beside it (fitted on each run's training rows), normalised on the training scores and combined")
	fmt.Fprintln(w)
	writeHeader(w, []string{"combination", "normalised", "rule", "ROC half A", "ROC half B", "ROC", "PR half A", "PR half B", "PR", "below floor"}, 3)
	for _, c := range combos {
		for ni, norm := range normalisations {
			for ri, r := range rules {
				if len(c.terms) == 1 && (ni > 0 || ri > 0) {
					continue // one term: q90 is affine, so it ranks as the raw term
				}
				rep, err := scoreCombination(ok, normalised, c, ni, r)
				if err != nil {
					return err
				}
				normName, ruleName := norm.name, r.name
				if len(c.terms) == 1 {
					normName, ruleName = "", ""
				}
				fmt.Fprintln(w, studyRow(rep, floors, c.spec, normName, ruleName))
			}
		}
	}
	if err := printSelectionBounds(w, ok, normalised, floors); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nterms:")
	for _, t := range terms {
		fmt.Fprintf(w, "- %s: %s\n", t.name, t.about)
	}
	for _, n := range normalisations {
		fmt.Fprintf(w, "- normalised %s: %s\n", n.name, n.about)
	}
	return nil
}

// printSelectionBounds writes what a rule that picks one term per table
// could reach at best, the picks made with the test labels: per table, the
// best ROC-AUC among the options (which bounds the mean ROC-AUC and the
// tables under their floors, every floor being a ROC-AUC floor), and the
// best PR-AUC among the options that clear the table's floor (all of them
// where none does), which bounds the mean PR-AUC of any choice that keeps
// the floors. The options are every term, then the model's score and each
// other term. These are bounds, not detectors.
func printSelectionBounds(w io.Writer, runs []split, normalised []*normalisedRun, floors map[string]float64) error {
	if len(runs) == 0 {
		return nil
	}
	single := make([]report, len(terms))
	every := make([]int, len(terms))
	for t := range terms {
		every[t] = t
		rep, err := scoreCombination(runs, normalised, combination{spec: terms[t].name, terms: []int{t}, weights: []float64{1}}, 0, rules[0])
		if err != nil {
			return err
		}
		single[t] = rep
	}
	// best returns, per table, the best ROC-AUC of the options and the best
	// PR-AUC of those that clear the floor, and the term of each ROC pick.
	best := func(from []int) (report, []string, error) {
		rep := report{rows: slices.Clone(single[from[0]].rows)}
		var picks []string
		for i := range rep.rows {
			row := &rep.rows[i]
			pick, clears := from[0], false
			for _, t := range from {
				opt := single[t].rows[i]
				if opt.dataset != row.dataset {
					return report{}, nil, fmt.Errorf("selection bounds: term %s scored %s where %s scored %s", terms[t].name, opt.dataset, terms[from[0]].name, row.dataset)
				}
				if opt.model.roc > row.model.roc {
					row.model.roc, pick = opt.model.roc, t
				}
				if ok := opt.model.roc >= floors[row.dataset]; ok && !clears {
					row.model.pr, clears = opt.model.pr, true
				} else if ok == clears {
					row.model.pr = max(row.model.pr, opt.model.pr)
				}
			}
			picks = append(picks, fmt.Sprintf("%s %s", row.dataset, terms[pick].name))
		}
		return rep, picks, nil
	}
	fmt.Fprintln(w, "\nselection bounds, picked per table with the test labels (bounds on any rule that picks one term per table, not detectors): ROC, the best ROC-AUC of the options; PR, the best PR-AUC of the options that clear the table's floor (of all options where none does)")
	fmt.Fprintln(w)
	writeHeader(w, []string{"picked from", "ROC half A", "ROC half B", "ROC", "below floor", "PR half A", "PR half B", "PR"}, 1)
	rep, picks, err := best(every)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, boundRow(rep, floors, "every term"))
	for t := range terms {
		if t == termNamed(modelScore) {
			continue
		}
		rep, _, err := best([]int{termNamed(modelScore), t})
		if err != nil {
			return err
		}
		fmt.Fprintln(w, boundRow(rep, floors, modelScore+" or "+terms[t].name))
	}
	fmt.Fprintf(w, "\nbest ROC-AUC per table among every term: %s\n", strings.Join(picks, ", "))
	return nil
}

// underFloor lists the tables of rep under their floors, with their
// ROC-AUC.
func underFloor(rep report, floors map[string]float64) []string {
	var under []string
	for _, row := range rep.rows {
		if row.model.roc < floors[row.dataset] {
			under = append(under, fmt.Sprintf("%s %.3f", row.dataset, row.model.roc))
		}
	}
	return under
}

// halfMeans formats the mean ROC-AUC and PR-AUC of half A, half B and all
// tables ("–" for none).
func halfMeans(rep report) (roc, pr [3]string) {
	for i, g := range meanGroups {
		roc[i], pr[i] = "–", "–"
		if m, _, _, n := rep.mean(g.keep); n > 0 {
			roc[i], pr[i] = fmt.Sprintf("%.3f", m.roc), fmt.Sprintf("%.3f", m.pr)
		}
	}
	return roc, pr
}

// boundRow formats one line of the selection bounds.
func boundRow(rep report, floors map[string]float64, options string) string {
	under := underFloor(rep, floors)
	roc, pr := halfMeans(rep)
	return fmt.Sprintf("| %s | %s | %s | **%s** | %d %s | %s | %s | **%s** |",
		options, roc[0], roc[1], roc[2], len(under), strings.Join(under, ", "), pr[0], pr[1], pr[2])
}

// scoreCombination scores every run's test rows with a combination and
// averages ROC-AUC and PR-AUC per table, as the main table does.
func scoreCombination(runs []split, normalised []*normalisedRun, c combination, ni int, r rule) (report, error) {
	scored := make([]split, len(runs))
	for i, t := range runs {
		s := combine(c, normalised[i], ni, r)
		var err error
		scored[i] = split{dataset: t.dataset, seed: t.seed, jobSeed: t.jobSeed}
		if scored[i].model.roc, err = pipeline.ROCAUC(s, t.study.labels); err != nil {
			return report{}, err
		}
		if scored[i].model.pr, err = pipeline.AveragePrecision(s, t.study.labels); err != nil {
			return report{}, err
		}
	}
	return summarize(scored), nil
}

// studyRow formats one line of the study table: the means per half and of
// all tables, and the tables under their floors.
func studyRow(rep report, floors map[string]float64, spec, normName, ruleName string) string {
	under := underFloor(rep, floors)
	roc, pr := halfMeans(rep)
	return fmt.Sprintf("| %s | %s | %s | %s | %s | **%s** | %s | %s | **%s** | %d %s |",
		spec, normName, ruleName, roc[0], roc[1], roc[2], pr[0], pr[1], pr[2], len(under), strings.Join(under, ", "))
}
