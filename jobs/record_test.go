package jobs

import (
	"math"
	"reflect"
	"testing"
)

func TestScoreHistogram(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name   string
		scores []float32
		bins   int
		sum    int
		first  int // the count of the lowest bin
		last   int // the count of the highest bin
	}{
		{"spread", []float32{0, 1, 2, 3, 4, 40}, histogramBins, 6, 1, 1},
		{"top edge counts in the last bin", []float32{0, 40, 40}, histogramBins, 3, 1, 2},
		{"all equal: one bin", []float32{5, 5, 5}, 1, 3, 3, 3},
		{"non-finite left out", []float32{1, nan, 2, inf}, histogramBins, 2, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := scoreHistogram(tc.scores)
			if len(h.Counts) != tc.bins || len(h.Edges) != tc.bins+1 {
				t.Fatalf("%d counts, %d edges; want %d bins", len(h.Counts), len(h.Edges), tc.bins)
			}
			sum := 0
			for _, c := range h.Counts {
				sum += c
			}
			if sum != tc.sum || h.Counts[0] != tc.first || h.Counts[len(h.Counts)-1] != tc.last {
				t.Errorf("counts %v: sum %d, first %d, last %d; want %d, %d, %d", h.Counts, sum, h.Counts[0], h.Counts[len(h.Counts)-1], tc.sum, tc.first, tc.last)
			}
			for i := 1; i < len(h.Edges); i++ {
				if h.Edges[i] < h.Edges[i-1] {
					t.Errorf("edges not ascending: %v", h.Edges)
				}
			}
		})
	}
	if h := scoreHistogram([]float32{nan}); len(h.Counts) != 0 || h.Edges == nil {
		t.Errorf("no finite score: %+v, want empty (not null) lists", h)
	}
	// Every score lands in the bin whose edges hold it.
	h := scoreHistogram([]float32{0, 1, 2, 3})
	want := make([]int, histogramBins)
	want[0], want[13], want[26], want[39] = 1, 1, 1, 1
	if !reflect.DeepEqual(h.Counts, want) {
		t.Errorf("counts %v, want %v", h.Counts, want)
	}
}
