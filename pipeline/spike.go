package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// MinSpikeShare is the share of the training rows that one value must
// exceed, held exactly, for the feature to be scored as a spike (see
// Spike): more than half, so the spike is also the feature's median (and a
// missing value imputed with the median is on it).
const MinSpikeShare = 0.5

// A Spike is one value that more than MinSpikeShare of a varying feature's
// training rows hold exactly, and not all of them: a count that is mostly
// 0, a flag, an amount that is usually empty. A smooth likelihood fitted to
// such a feature puts nearly all of its mass on the spike, so its scale
// shrinks towards the floor and any other value, however ordinary (the
// rows off the spike are up to half the data), outscores a real anomaly on
// every other feature. A spike feature is scored instead as a point mass
// and a slab: a row on the spike adds 0; a row off it adds Cost, the
// log-odds of the spike, plus its distance from the spike weighted by the
// slab's spread (the model's likelihood scale of the feature, fitted on the
// training rows off the spike). The network reads the feature but is not
// trained to reconstruct it: its reconstruction is the spike's value.
type Spike struct {
	Feature int     `json:"feature"` // index into Model.Features of a varying feature
	Value   float32 `json:"value"`   // the spike, in scaled units
	Cost    float32 `json:"cost"`    // log(share / (1 - share)) of the training rows on it
}

// SpikeFit is a spike found in training rows (FindSpikes) with the spread
// of the rows off it, from which a likelihood scale is set.
type SpikeFit struct {
	Spike
	// MeanAbs and MeanSquare are the mean of |v - Value| and of
	// (v - Value)² over the rows off the spike.
	MeanAbs, MeanSquare float64
}

// Imputed describes the values of one column that were missing and
// imputed: how many rows, and the value they were given.
type Imputed struct {
	Rows  int
	Value float32
}

// FindSpikes returns, in increasing order of column, the spikes of the
// columns of x (row-major, d finite values a row): a column's most frequent
// value when more than
// MinSpikeShare of the rows hold it and at least one row does not. Feature
// is the column's index. imputed, when not nil, gives per column the rows
// whose value was missing and imputed: they are not counted, so that
// imputation cannot make a spike (their cells hold the imputed value,
// which must be one of the column's values).
func FindSpikes(x []float32, d int, imputed []Imputed) []SpikeFit {
	n := len(x) / d
	if n == 0 {
		return nil
	}
	fits := make([]*SpikeFit, d)
	EachColumnOf(x, d, func(j int, col []float32) {
		sorted := slices.Clone(col)
		var im Imputed
		if imputed != nil {
			im = imputed[j]
		}
		slices.Sort(sorted)
		removed := 0
		if im.Rows > 0 { // take the imputed cells out of the count
			at, _ := slices.BinarySearch(sorted, im.Value)
			end := at
			for end < len(sorted) && end-at < im.Rows && sorted[end] == im.Value {
				end++
			}
			removed = end - at
			sorted = slices.Delete(sorted, at, end)
		}
		observed := len(sorted)
		value, count := modeOf(sorted)
		if count == observed || 2*count <= observed {
			return
		}
		f := &SpikeFit{Spike: Spike{Feature: j, Value: value,
			Cost: float32(math.Log(float64(count) / float64(observed-count)))}}
		skip := removed
		for _, v := range col { // in row order
			if skip > 0 && v == im.Value {
				skip--
				continue
			}
			if v != value {
				dev := float64(v) - float64(value)
				f.MeanAbs += math.Abs(dev)
				f.MeanSquare += dev * dev
			}
		}
		f.MeanAbs /= float64(observed - count)
		f.MeanSquare /= float64(observed - count)
		fits[j] = f
	})
	var out []SpikeFit
	for _, f := range fits {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// modeOf returns the most frequent value of sorted values and its count;
// the smallest value wins a tie.
func modeOf(sorted []float32) (value float32, count int) {
	for i := 0; i < len(sorted); {
		k := i + 1
		for k < len(sorted) && sorted[k] == sorted[i] {
			k++
		}
		if k-i > count {
			value, count = sorted[i], k-i
		}
		i = k
	}
	return value, count
}

// validateSpikes checks m.Spikes: increasing varying features, finite
// values, non-negative finite costs, and a score with likelihood scales.
func (m *Model) validateSpikes() error {
	if len(m.Spikes) == 0 {
		return nil
	}
	if m.Score == ScoreMSE || (m.LaplaceScale == nil && m.Variance == nil) {
		return errors.New("spike features need a Gaussian or Laplace likelihood score")
	}
	for i, s := range m.Spikes {
		switch {
		case s.Feature < 0 || s.Feature >= len(m.Features) || i > 0 && s.Feature <= m.Spikes[i-1].Feature:
			return fmt.Errorf("spike features %v: want increasing indices below %d", spikeFeatures(m.Spikes), len(m.Features))
		case slices.Contains(m.Constant, s.Feature):
			return fmt.Errorf("feature %d is both constant and a spike", s.Feature)
		case math.IsNaN(float64(s.Value)) || math.IsInf(float64(s.Value), 0):
			return fmt.Errorf("spike of feature %d: value %v, want a finite number", s.Feature, s.Value)
		case !(s.Cost >= 0) || math.IsInf(float64(s.Cost), 0):
			return fmt.Errorf("spike of feature %d: cost %v, want a finite number ≥ 0", s.Feature, s.Cost)
		}
	}
	return nil
}

func spikeFeatures(spikes []Spike) []int {
	out := make([]int, len(spikes))
	for i, s := range spikes {
		out[i] = s.Feature
	}
	return out
}

// SpikesByNetworkFeature returns, for each feature the network sees (in
// the order of Varying), the index into m.Spikes of its spike, or -1; nil
// when m has no spike feature.
func (m *Model) SpikesByNetworkFeature() []int {
	if len(m.Spikes) == 0 {
		return nil
	}
	at := make([]int, m.NetworkDim())
	i := 0
	for k, j := range Varying(m.Dim(), m.Constant) {
		at[k] = -1
		if i < len(m.Spikes) && m.Spikes[i].Feature == j {
			at[k] = i
			i++
		}
	}
	return at
}

// setSpikeReconstructions overwrites the reconstruction of each spike
// feature in recon (rows of NetworkDim values) with the spike's value.
func (m *Model) setSpikeReconstructions(at []int, recon []float32) {
	if at == nil {
		return
	}
	dv := len(at)
	for r := 0; r+dv <= len(recon); r += dv {
		for k, i := range at {
			if i >= 0 {
				recon[r+k] = m.Spikes[i].Value
			}
		}
	}
}

// RawSpike returns a raw value of s's feature that m's scaler maps
// exactly to the spike (see RawSpikeValue); false when none does.
func (m *Model) RawSpike(s Spike) (float32, bool) {
	return RawSpikeValue(s.Value, m.Scaler.Offset[s.Feature], m.Scaler.Scale[s.Feature])
}

// rawSpikeUlps is how many float32 steps either side of the first guess
// RawSpikeValue tries.
const rawSpikeUlps = 2

// RawSpikeValue returns a raw value that the graph scales exactly to the
// spike v (scaled units) of a feature with scaler offset and scale: the
// float32 nearest v / scale + offset when it does, or else the nearest of
// its neighbours within rawSpikeUlps steps that does (the lower of two
// equally near); false when none does, or the value would be taken for
// missing (IsMissing). Scaling is the graph's (and
// Scaler.Transform's): (x - offset) · scale, each rounded to
// float32.
func RawSpikeValue(v, offset, scale float32) (float32, bool) {
	exact := float64(v)/float64(scale) + float64(offset)
	guess := float32(exact)
	if IsMissing(guess) {
		return 0, false
	}
	onSpike := func(x float32) bool {
		return !IsMissing(x) && float32(x-offset)*scale == v
	}
	candidates := []float32{guess}
	lo, hi := guess, guess
	for range rawSpikeUlps {
		lo, hi = math.Nextafter32(lo, float32(math.Inf(-1))), math.Nextafter32(hi, float32(math.Inf(1)))
		candidates = append(candidates, lo, hi)
	}
	// Nearest to exact first; of two equally near, the lower (listed first).
	slices.SortStableFunc(candidates[1:], func(a, b float32) int {
		return cmp.Compare(math.Abs(float64(a)-exact), math.Abs(float64(b)-exact))
	})
	for _, x := range candidates {
		if onSpike(x) {
			return x, true
		}
	}
	return 0, false
}
