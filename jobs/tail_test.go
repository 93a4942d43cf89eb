package jobs

import (
	"math"
	"math/rand"
	"testing"

	"github.com/vaejob/vaejob/pipeline"
)

// TestTailReaderIsProbability: the reader built once gives every score
// the probability the model's table gives it, at and around every edge,
// beyond both ends, for NaN and the infinities, and for tables with ties.
func TestTailReaderIsProbability(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	tables := map[string][]float32{
		"one":  {2},
		"ties": {1, 1, 1, 2, 2, 3},
	}
	random := make([]float32, 500)
	for i := range random {
		random[i] = float32(rng.NormFloat64())
	}
	tables["random"] = random
	for name, validation := range tables {
		table := pipeline.NewTailTable(validation)
		r := newTailReader(table)
		scores := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -1e30, 1e30, 0}
		for _, v := range validation {
			scores = append(scores, v, math.Nextafter32(v, -1e38), math.Nextafter32(v, 1e38))
		}
		for range 1000 {
			scores = append(scores, float32(rng.NormFloat64()*2))
		}
		for _, v := range scores {
			got, want := r.probability(v), table.Probability(v)
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("%s: probability(%v) = %v, the table gives %v", name, v, got, want)
			}
		}
	}
	if newTailReader(nil) != nil {
		t.Error("a model without a tail table has a reader")
	}
}
