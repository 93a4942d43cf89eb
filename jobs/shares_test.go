package jobs

import (
	"math"
	"testing"

	"github.com/vaejob/vaejob/pipeline"
)

// featureShares averages each feature's share over the rows the threshold
// was chosen on and over those of them that alert, leaving out rows with
// a non-finite score and rows the threshold was not chosen on.
func TestFeatureShares(t *testing.T) {
	nan := float32(math.NaN())
	parts := pipeline.ScoreParts{
		Scores:   []float32{1, 5, 7, nan, 9},
		Features: []float32{0.5, 0.25, 1, 3, 2, 4, 1, 1, 8, 0},
		Latent:   []float32{0.25, 1, 1, 0, 1},
	}
	cases := []struct {
		name       string
		on         func(int) bool
		rows, hits int
		all, alert []float32 // a, b, latent
	}{
		{"every finite row", func(int) bool { return true }, 4, 3,
			[]float32{(0.5 + 1 + 2 + 8) / 4, (0.25 + 3 + 4 + 0) / 4, (0.25 + 1 + 1 + 1) / 4},
			[]float32{(1 + 2 + 8) / 3.0, (3 + 4 + 0) / 3.0, 1}},
		{"the last row left out", func(i int) bool { return i != 4 }, 3, 2,
			[]float32{(0.5 + 1 + 2) / 3, (0.25 + 3 + 4) / 3, (0.25 + 1 + 1) / 3},
			[]float32{1.5, 3.5, 1}},
		{"no alerts", func(i int) bool { return i == 0 }, 1, 0,
			[]float32{0.5, 0.25, 0.25}, []float32{0, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := featureShares([]string{"a", "b"}, parts, 4, tc.on)
			if fs.Rows != tc.rows || fs.Alerts != tc.hits {
				t.Fatalf("rows %d, alerts %d; want %d, %d", fs.Rows, fs.Alerts, tc.rows, tc.hits)
			}
			got := [][]float32{{fs.Features[0].All, fs.Features[1].All, fs.LatentAll},
				{fs.Features[0].Alerts, fs.Features[1].Alerts, fs.LatentAlerts}}
			for k, want := range [][]float32{tc.all, tc.alert} {
				for j := range want {
					if math.Abs(float64(got[k][j]-want[j])) > 1e-6 {
						t.Errorf("means %v, want %v", got[k], want)
						break
					}
				}
			}
			if fs.Features[0].Name != "a" || fs.Features[1].Name != "b" {
				t.Errorf("names %q, %q", fs.Features[0].Name, fs.Features[1].Name)
			}
		})
	}
}

// tailRecord holds the table as the graph reads it: the edges, and one
// more share than edges, the last the bound 1/(n+1).
func TestTailRecord(t *testing.T) {
	r := tailRecord(pipeline.NewTailTable([]float32{1, 2, 3}))
	if r == nil || r.Rows != 3 || len(r.Shares) != len(r.Edges)+1 || r.Shares[0] != 1 || r.Shares[len(r.Shares)-1] != 0.25 {
		t.Fatalf("tail record %+v", r)
	}
	if tailRecord(nil) != nil || tailRecord(pipeline.NewTailTable(nil)) != nil {
		t.Error("a table of no rows has a record")
	}
}
