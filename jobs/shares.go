package jobs

import (
	"math"

	"github.com/vaejob/vaejob/pipeline"
)

// featureShares averages each feature's share of the score (and the latent
// term) over the validation rows the threshold was chosen on (a finite
// score, and on(i)), and over those of them that alert (score above
// threshold). names are the model's features, in the order of
// parts.Features.
func featureShares(names []string, parts pipeline.ScoreParts, threshold float32, on func(i int) bool) *FeatureShares {
	d := len(names)
	// Each piece of the rows sums on its own; the pieces add up in order,
	// so the means do not depend on the number of cores.
	type sums struct {
		all, alerts     []float64 // the latent term last
		rows, alertRows int
	}
	pieces := pipeline.PieceResults(len(parts.Scores), sharesPiece, func(lo, hi int) sums {
		ps := sums{all: make([]float64, d+1), alerts: make([]float64, d+1)}
		for i := lo; i < hi; i++ {
			s := parts.Scores[i]
			if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || !on(i) {
				continue
			}
			alert := s > threshold
			ps.rows++
			if alert {
				ps.alertRows++
			}
			for j := range d + 1 {
				v := float64(parts.Latent[i])
				if j < d {
					v = float64(parts.Features[i*d+j])
				}
				ps.all[j] += v
				if alert {
					ps.alerts[j] += v
				}
			}
		}
		return ps
	})
	all, alerts := make([]float64, d+1), make([]float64, d+1)
	fs := &FeatureShares{}
	for _, ps := range pieces {
		fs.Rows += ps.rows
		fs.Alerts += ps.alertRows
		for j := range all {
			all[j] += ps.all[j]
			alerts[j] += ps.alerts[j]
		}
	}
	mean := func(sum float64, n int) float32 {
		if n == 0 {
			return 0
		}
		return float32(sum / float64(n))
	}
	for j, name := range names {
		fs.Features = append(fs.Features, FeatureShare{Name: name, All: mean(all[j], fs.Rows), Alerts: mean(alerts[j], fs.Alerts)})
	}
	fs.LatentAll, fs.LatentAlerts = mean(all[d], fs.Rows), mean(alerts[d], fs.Alerts)
	return fs
}

// sharesPiece is the fewest rows featureShares sums on one goroutine.
const sharesPiece = 8192
