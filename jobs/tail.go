package jobs

import (
	"sort"

	"github.com/vaejob/vaejob/pipeline"
)

// tailReader reads tail probabilities from a model's tail table as
// pipeline.TailTable.Probability does (the ONNX graph's lookup), with the
// table's edges and probabilities built once: Probability builds them on
// every call, which cost a sixth of a large scoring run.
type tailReader struct {
	edges, prob []float32
}

// newTailReader returns the reader of t, or nil for a nil table (a model
// that predates tail tables: the column is null).
func newTailReader(t *pipeline.TailTable) *tailReader {
	if t == nil {
		return nil
	}
	edges, prob := t.Lookup()
	return &tailReader{edges: edges, prob: prob}
}

// probability is t.Probability(score) (see pipeline.TailTable): 0 for
// NaN, else the probability of the first edge not below score.
func (r *tailReader) probability(score float32) float32 {
	if score != score {
		return 0
	}
	below := sort.Search(len(r.edges), func(i int) bool { return !(r.edges[i] < score) })
	return r.prob[below]
}
