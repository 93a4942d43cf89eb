package jobs

import (
	"fmt"
	"math"
	"testing"

	"github.com/vaejob/vaejob/pipeline"
)

func TestFeatureDrivers(t *testing.T) {
	nan := float32(math.NaN())
	m := &pipeline.Model{Features: []string{"a", "b", "c"}, Threshold: 1}
	// Row-major shares of four rows; the third scores NaN and is left out.
	parts := pipeline.ScoreParts{
		Scores:   []float32{0.3, 2, nan, 3},
		Features: []float32{0.1, 0.1, 0.1 /**/, 0, 2, 0 /**/, nan, nan, nan /**/, 1, 0, 2},
		Latent:   []float32{0, 0, nan, 0},
	}
	f := func(v float32) *float32 { return &v }
	cases := []struct {
		name   string
		labels []bool
		want   []FeatureDriver
	}{
		{"anomalies driven by b, alerts by b and c", []bool{false, true, true, false}, []FeatureDriver{
			{"b", f(2), f(0.05), f(1)},
			{"a", f(0), f(0.55), f(0.5)},
			{"c", f(0), f(1.05), f(1)},
		}},
		{"no labelled anomaly: in feature order", []bool{false, false, false, false}, []FeatureDriver{
			{"a", nil, f(1.1 / 3), f(0.5)},
			{"b", nil, f(2.1 / 3), f(1)},
			{"c", nil, f(2.1 / 3), f(1)},
		}},
	}
	// same compares two means: both null, or equal within float32 rounding
	// (the shares are float32).
	same := func(a, b *float32) bool {
		return a == nil && b == nil || a != nil && b != nil && math.Abs(float64(*a-*b)) < 1e-6
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := featureDrivers(m, parts, c.labels)
			if len(got) != len(c.want) {
				t.Fatalf("%d drivers, want %d", len(got), len(c.want))
			}
			for i, w := range c.want {
				g := got[i]
				if g.Feature != w.Feature || !same(g.Anomalies, w.Anomalies) || !same(g.Normal, w.Normal) || !same(g.Alerts, w.Alerts) {
					t.Errorf("driver %d = %s, want %s", i, driverText(g), driverText(w))
				}
			}
		})
	}
}

// driverText prints a driver for a test message.
func driverText(d FeatureDriver) string {
	text := func(v *float32) string {
		if v == nil {
			return "null"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("%s %s/%s/%s", d.Feature, text(d.Anomalies), text(d.Normal), text(d.Alerts))
}
