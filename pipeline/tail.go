package pipeline

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// The tail table's resolution: every validation score among the TailRows
// highest is a knot of the table, and the rows below them are summarised
// by at most TailBodyKnots knots, so that a table holds at most
// TailRows + TailBodyKnots entries whatever the number of validation rows.
const (
	TailRows      = 256
	TailBodyKnots = 64
)

// maxTailEntries bounds a tail table read from a file.
const maxTailEntries = 4 * (TailRows + TailBodyKnots)

// TailTable turns a score into a tail probability: the share of the
// validation rows (those the threshold was chosen on) that score at least
// as high. It is 1 for a score at or below the smallest validation score,
// falls as the score rises, and beyond the largest validation score it is
// the honest bound 1/(n+1) for n validation rows: a score no validation row
// reached is rarer than one in n, and n rows cannot say by how much. A NaN
// score gets 0, so that a row with a missing value is never silently
// ordinary.
//
// The table holds the edges between which the probability is constant:
// a score s with Upper[i-1] < s ≤ Upper[i] (Upper[-1] = -∞) gets
// AtLeast[i]/n, where AtLeast[i] counts the validation rows scoring above
// Upper[i-1], i.e. at least as high as the lowest validation score of
// (Upper[i-1], Upper[i]]. Each edge lies just above a validation score, by
// its ScoreMargin, in a gap between validation scores at least twice as
// wide as the margins, so that a runtime that agrees with the Go scorer
// within ScoreTolerance reads the same probability for a row that scores
// like a validation row. Between the TailRows highest validation rows every
// such gap is an edge, so the probability there is the exact share of rows
// scoring at least as high (up to the margin); below them at most
// TailBodyKnots edges remain, and the probability reads the share at the
// lowest score of the step, at most one step above the exact share.
type TailTable struct {
	// Rows is n, the number of validation rows the table was built from.
	Rows    int       `json:"validation_rows"`
	Upper   []float32 `json:"upper"`
	AtLeast []int     `json:"at_least"`
}

// NewTailTable builds the tail table of the validation scores (the scores
// the threshold was chosen on). NaN and infinite scores are left out, as
// they are from the threshold.
func NewTailTable(validationScores []float32) *TailTable {
	sorted := make([]float32, 0, len(validationScores))
	for _, v := range validationScores {
		if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			sorted = append(sorted, v)
		}
	}
	slices.Sort(sorted)
	n := len(sorted)
	t := &TailTable{Rows: n}
	body := max(n-TailRows, 0) // sorted[:body] is the body, the rest the tail
	step := max(1, (body+TailBodyKnots-1)/TailBodyKnots)
	below, lastKept := 0, 0 // rows at or below the last edge; rank of the last body edge
	for i := 0; i < n; i++ {
		if i+1 < n && !clearGap(sorted[i], sorted[i+1]) {
			continue // not an edge: the next score crowds this one
		}
		if i+1 < body && i+1-lastKept < step {
			continue // a body edge too close to the last one kept
		}
		lastKept = i + 1
		t.Upper = append(t.Upper, edgeAbove(sorted[i]))
		t.AtLeast = append(t.AtLeast, n-below)
		below = i + 1
	}
	return t
}

// clearGap reports whether the gap between the validation scores a < b
// holds an edge clear of both: wider than their two score margins.
func clearGap(a, b float32) bool {
	return float64(b)-float64(a) > ScoreMargin(a)+ScoreMargin(b)
}

// edgeAbove returns the edge just above the validation score v: v plus its
// ScoreMargin, as a float32 above v.
func edgeAbove(v float32) float32 {
	e := float32(float64(v) + ScoreMargin(v))
	if e <= v {
		e = math.Nextafter32(v, float32(math.Inf(1)))
	}
	return e
}

// Lookup returns the arrays a runtime reads the table with: the edges, and
// the probability for each count of edges below a score (one more entry
// than edges). A score s that is not NaN gets prob[k] for k = the number of
// edges e with e < s; Probability and the ONNX graph both read the table
// so. prob[k] = AtLeast[k]/n, and its last entry is 1/(n+1). A table with
// no validation rows reads as one edge at +∞ with both probabilities 1 (the
// bound 1/(0+1)), so that every runtime has an edge to compare with.
func (t *TailTable) Lookup() (edges, prob []float32) {
	if t == nil || len(t.Upper) == 0 {
		return []float32{float32(math.Inf(1))}, []float32{1, 1}
	}
	n := float64(t.Rows)
	prob = make([]float32, len(t.Upper)+1)
	for i, a := range t.AtLeast {
		prob[i] = float32(float64(a) / n)
	}
	prob[len(t.Upper)] = float32(1 / (n + 1))
	return t.Upper, prob
}

// Probability returns the tail probability of score (see TailTable), read
// from the table as the ONNX graph reads it. A nil table (a model read from
// a file of an earlier format) has no validation rows: every score that is
// not NaN gets 1.
func (t *TailTable) Probability(score float32) float32 {
	return t.Reader().Probability(score)
}

// TailReader reads tail probabilities from a table's lookup (see Lookup),
// built once: Probability builds the lookup on every call, which costs a
// sixth of a large scoring run.
type TailReader struct {
	edges, prob []float32
}

// Reader returns the table's lookup, built once, for reading many scores.
func (t *TailTable) Reader() *TailReader {
	edges, prob := t.Lookup()
	return &TailReader{edges: edges, prob: prob}
}

// Probability is the table's Probability of score: 0 for NaN, else the
// probability of the first edge not below score.
func (r *TailReader) Probability(score float32) float32 {
	if score != score {
		return 0
	}
	below := sort.Search(len(r.edges), func(i int) bool { return !(r.edges[i] < score) })
	return r.prob[below]
}

// validate checks that the table is one NewTailTable can build: edges
// finite and increasing, counts decreasing from Rows to at least 1.
func (t *TailTable) validate() error {
	switch {
	case t.Rows < 0 || len(t.Upper) != len(t.AtLeast) || len(t.Upper) > maxTailEntries:
		return fmt.Errorf("tail table: %d validation rows, %d edges and %d counts; want as many counts as edges, at most %d", t.Rows, len(t.Upper), len(t.AtLeast), maxTailEntries)
	case len(t.Upper) == 0 && t.Rows != 0, len(t.Upper) > 0 && t.AtLeast[0] != t.Rows:
		return fmt.Errorf("tail table: the first count must be all %d validation rows", t.Rows)
	case !allFinite(t.Upper):
		return errors.New("tail table: non-finite edge")
	}
	for i := 1; i < len(t.Upper); i++ {
		if !(t.Upper[i-1] < t.Upper[i]) || !(t.AtLeast[i-1] > t.AtLeast[i]) {
			return fmt.Errorf("tail table: entry %d does not rise in score and fall in count", i)
		}
	}
	if k := len(t.AtLeast); k > 0 && t.AtLeast[k-1] < 1 {
		return errors.New("tail table: the last count must be at least 1")
	}
	return nil
}
