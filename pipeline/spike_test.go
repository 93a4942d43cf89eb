package pipeline

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestFindSpikes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		col     []float32
		imputed Imputed // of column 1
		want    []SpikeFit
	}{
		{"continuous", []float32{1, 2, 3, 4}, Imputed{}, nil},
		{"under half on one value", []float32{0, 0, 1, 2, 3}, Imputed{}, nil},
		{"exactly half: not a spike", []float32{0, 0, 1, 3}, Imputed{}, nil},
		{"a balanced flag: not a spike", []float32{7, 2, 7, 2}, Imputed{}, nil},
		{"mostly zero", []float32{0, 0, 0, 5, 0, 0, 0, -1}, Imputed{}, []SpikeFit{{Spike{0, 0, float32(math.Log(3))}, 3, 13}}},
		{"constant: not a spike", []float32{4, 4, 4}, Imputed{}, nil},
		{"one row off", []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5}, Imputed{}, []SpikeFit{{Spike{0, 1, float32(math.Log(9))}, 0.5, 0.25}}},
		// Missing on four rows of seven, imputed with the median 2: the
		// imputed cells make no spike.
		{"imputed median: not a spike", []float32{1, 2, 2, 2, 2, 3, 4}, Imputed{Rows: 4, Value: 2}, nil},
		// Imputed with 5 on two rows: the spike 0 holds three of the four
		// observed rows, and the imputed cells count neither on nor off it.
		{"imputed cells left out", []float32{0, 5, 0, 5, 0, 2}, Imputed{Rows: 2, Value: 5}, []SpikeFit{{Spike{0, 0, float32(math.Log(3))}, 2, 4}}},
		{"imputed, still a spike", []float32{0, 0, 0, 1, 0}, Imputed{Rows: 1, Value: 0}, []SpikeFit{{Spike{0, 0, float32(math.Log(3))}, 1, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A second, continuous column must not be found.
			x := make([]float32, 0, 2*len(tc.col))
			for i, v := range tc.col {
				x = append(x, float32(i)+0.5, v)
			}
			got := FindSpikes(x, 2, []Imputed{{}, tc.imputed})
			for i := range tc.want {
				tc.want[i].Feature = 1
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("FindSpikes = %+v, want %+v", got, tc.want)
			}
		})
	}
	if got := FindSpikes(nil, 3, nil); got != nil {
		t.Errorf("no rows: %v", got)
	}
}

func TestValidateSpikes(t *testing.T) {
	base := func() *Model {
		return &Model{Features: []string{"a", "b", "c", "d"}, Constant: []int{2}, Score: ScoreELBO, LaplaceScale: []float32{1, 1, 1, 1}}
	}
	for _, tc := range []struct {
		name   string
		edit   func(m *Model)
		errHas string
	}{
		{"valid", func(m *Model) { m.Spikes = []Spike{{0, 0, 1}, {3, -1, 0}} }, ""},
		{"not increasing", func(m *Model) { m.Spikes = []Spike{{3, 0, 1}, {0, 0, 1}} }, "increasing"},
		{"out of range", func(m *Model) { m.Spikes = []Spike{{4, 0, 1}} }, "increasing"},
		{"constant feature", func(m *Model) { m.Spikes = []Spike{{2, 0, 1}} }, "both constant and a spike"},
		{"NaN value", func(m *Model) { m.Spikes = []Spike{{0, float32(math.NaN()), 1}} }, "finite"},
		{"negative cost", func(m *Model) { m.Spikes = []Spike{{0, 0, -1}} }, "cost"},
		{"infinite cost", func(m *Model) { m.Spikes = []Spike{{0, 0, float32(math.Inf(1))}} }, "cost"},
		{"mse score", func(m *Model) { m.Spikes, m.Score = []Spike{{0, 0, 1}}, ScoreMSE }, "likelihood"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			err := m.validateSpikes()
			if tc.errHas == "" && err != nil || tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)) {
				t.Errorf("validateSpikes = %v, want an error containing %q", err, tc.errHas)
			}
		})
	}
}

func TestRawSpikeValue(t *testing.T) {
	tests := []struct {
		name                 string
		value, offset, scale float32
		want                 float32
		ok                   bool
	}{
		{"minimum of a min-max feature", 0, 5, 0.1, 5, true},
		{"exact quotient", 1, 1, 0.5, 3, true},
		{"negative", -2, 1, 0.5, -3, true},
		// The float32 nearest value/scale + offset scales one float32 off;
		// its neighbour scales to the spike.
		{"neighbour below the guess", 40.1972, 31.366932, 0.31112546, 160.56625, true},
		{"negative, neighbour below the guess", -627.2784, 175.20108, 1.9456552, -147.19849, true},
		{"neighbour above the guess", -2651.8025, -47.049778, 15.645442, -216.54338, true},
		// (x - 1) is 0 or at least 2⁻²⁴ in size near 1, never 1e-45.
		{"unreachable", 1e-45, 1, 1, 0, false},
		{"zero scale", 0, 3, 0, 0, false},
		{"beyond the missing bound", 1, 0, 1e-31, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RawSpikeValue(tt.value, tt.offset, tt.scale)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("RawSpikeValue(%v, %v, %v) = %v, %v; want %v, %v", tt.value, tt.offset, tt.scale, got, ok, tt.want, tt.ok)
			}
			if ok && float32(got-tt.offset)*tt.scale != tt.value {
				t.Errorf("raw value %v scales to %v, not %v", got, float32(got-tt.offset)*tt.scale, tt.value)
			}
		})
	}
}

// TestSpikeLossAndConstants checks that a network's spike features add
// nothing to its reconstruction loss (their scale does not move it) (Scorer.Loss: the trainer's
// validation loss), and that WithConstantFeatures renumbers the spikes to
// the features of the full model.
func TestSpikeLossAndConstants(t *testing.T) {
	net := tinyModel(3, 5)
	net.Score, net.LaplaceScale = ScoreNLL, []float32{0.2, 0.5, 1.5}
	net.Spikes = []Spike{{Feature: 1, Value: 0, Cost: 1}}
	rows := []float32{0.1, 0, 0.3, 0.4, 0.9, 0.6}
	loss := func(m *Model) float64 {
		rec, _ := NewScorer(m).Loss(rows)
		return rec
	}
	rescaled := *net // only the spike feature's scale differs
	rescaled.LaplaceScale = []float32{0.2, 50, 1.5}
	if a, b := loss(net), loss(&rescaled); a != b {
		t.Errorf("the spike feature's scale moved the reconstruction loss: %v, then %v", a, b)
	}
	rescaled.Spikes, net.Spikes = nil, nil
	if a, b := loss(net), loss(&rescaled); a == b {
		t.Errorf("without the spike the loss is %v at either scale: the test cannot tell", a)
	}
	net.Spikes = []Spike{{Feature: 1, Value: 0, Cost: 1}}

	m, err := WithConstantFeatures(net, []string{"c0", "f0", "c1", "f1", "f2"}, []int{0, 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Spike{{Feature: 3, Value: 0, Cost: 1}}; !slices.Equal(m.Spikes, want) {
		t.Errorf("spikes %+v, want %+v (network feature 1 is feature 3)", m.Spikes, want)
	}
	if net.Spikes[0].Feature != 1 {
		t.Errorf("WithConstantFeatures changed the network's spikes: %+v", net.Spikes)
	}
}
