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
	all, alerts := make([]float64, d+1), make([]float64, d+1) // the latent term last
	fs := &FeatureShares{}
	for i, s := range parts.Scores {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || !on(i) {
			continue
		}
		alert := s > threshold
		fs.Rows++
		if alert {
			fs.Alerts++
		}
		for j := range d + 1 {
			v := float64(parts.Latent[i])
			if j < d {
				v = float64(parts.Features[i*d+j])
			}
			all[j] += v
			if alert {
				alerts[j] += v
			}
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
