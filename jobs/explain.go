package jobs

import (
	"fmt"
	"math"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// explainer explains scored rows: per row the features with the largest
// shares of the score, with their values and the values the model
// expected. It owns scratch buffers: one per goroutine.
type explainer struct {
	m       *pipeline.Model
	k       int
	net     []int // feature → its position in the network's output, -1 for a constant feature
	missing func(float32) bool
	order   []int
}

// newExplainer returns an explainer of the k largest shares of m's rows.
func newExplainer(m *pipeline.Model, k int) *explainer {
	e := &explainer{m: m, k: k, net: make([]int, m.Dim()), missing: pipeline.IsMissing}
	for j := range e.net {
		e.net[j] = -1
	}
	for k, j := range pipeline.Varying(m.Dim(), m.Constant) {
		e.net[j] = k
	}
	if m.LegacyMissing {
		// The earlier format took only NaN and ±Inf for missing.
		e.missing = func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }
	}
	return e
}

// checkExplain refuses a --explain beyond the model's features.
func checkExplain(k, d int) error {
	if k < 0 || k > d {
		return fmt.Errorf("%w: --explain %d: want the number of features to explain per row, 1 to %d (the model's features), or 0 for none", ErrUsage, k, d)
	}
	return nil
}

// explain returns the explanation of the raw row x, whose score is score,
// whose features' shares are shares and whose reconstruction (scaled
// units, the network's features) is recon (see pipeline.ExplainParts).
//
// A row that scores NaN has no shares: its explanation lists every
// feature whose value is missing (the model does not impute), in feature
// order, whatever k, so that it says why the row has no score.
func (e *explainer) explain(x, shares, recon []float32, score float32) []parquet.Explanation {
	m := e.m
	if score != score {
		var out []parquet.Explanation
		for j, v := range x {
			if e.missing(v) {
				out = append(out, parquet.Explanation{Feature: m.Features[j], Missing: true})
			}
		}
		return out
	}
	top := e.top(shares)
	expected := e.expected(recon)
	out := make([]parquet.Explanation, len(top))
	for i, j := range top {
		imputed := e.missing(x[j]) && m.Imputation != nil
		out[i] = parquet.Explanation{
			Feature:  m.Features[j],
			Share:    shares[j],
			Value:    float64(x[j]),
			Expected: expected(j),
			Imputed:  imputed,
		}
	}
	return out
}

// top returns the features of the k largest shares, largest first; equal
// shares are taken in feature order.
func (e *explainer) top(shares []float32) []int {
	order := e.order[:0]
	for j := range shares {
		order = append(order, j)
	}
	e.order = order
	k := min(e.k, len(order))
	// Selection of the k largest: k passes over d features.
	for i := range k {
		best := i
		for c := i + 1; c < len(order); c++ {
			if shares[order[c]] > shares[order[best]] || shares[order[c]] == shares[order[best]] && order[c] < order[best] {
				best = c
			}
		}
		order[i], order[best] = order[best], order[i]
	}
	return order[:k]
}

// expected returns the value the model expected for each feature, in the
// input's units: the reconstruction mean recon (the decoder's output, in
// scaled units, whatever the likelihood) mapped back through the scaler,
// Offset + x̂/Scale. A constant feature's reconstruction is 0, its
// constant; a feature the scaler ignores (Scale 0) gets its Offset.
func (e *explainer) expected(recon []float32) func(j int) float64 {
	m := e.m
	return func(j int) float64 {
		off, scale := float64(m.Scaler.Offset[j]), float64(m.Scaler.Scale[j])
		k := e.net[j]
		if k < 0 || scale == 0 {
			return off
		}
		return off + float64(recon[k])/scale
	}
}
