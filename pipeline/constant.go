package pipeline

import (
	"fmt"
	"math"
	"slices"
)

// DepartureFraction sets the departure scale of a constant feature (see
// DepartureScale): a row that departs from the constant by this fraction of
// its magnitude (or, for a constant within ±1, by this much) adds as much to
// its score as a varying feature one scaled unit off its reconstruction.
const DepartureFraction = 0.01

// DepartureScale returns the scale s by which a served value x departs from
// c, the value a feature held on every training row: the feature is scaled
// to (x - c)/s (Scaler.Offset c, Scaler.Scale 1/s), so its score term is 0
// while x = c and grows with the departure. s = DepartureFraction·max(|c|, 1):
// the training rows tell nothing of the feature's spread, so its own
// magnitude sets the scale, with a floor of DepartureFraction for constants
// near 0.
func DepartureScale(c float32) float32 {
	return float32(DepartureFraction * math.Max(math.Abs(float64(c)), 1))
}

// ConstantColumns returns the indices of the columns of x (row-major, d
// values a row) whose values are all equal, in increasing order; none for
// fewer than one row.
func ConstantColumns(x []float32, d int) []int {
	if len(x) < d || d == 0 {
		return nil
	}
	var constant []int
	for j := 0; j < d; j++ {
		first := x[j]
		same := true
		for i := j + d; i < len(x); i += d {
			if x[i] != first {
				same = false
				break
			}
		}
		if same {
			constant = append(constant, j)
		}
	}
	return constant
}

// SelectColumns returns the columns keep (increasing indices) of the rows
// of x (row-major, d values a row) as a new row-major matrix.
func SelectColumns(x []float32, d int, keep []int) []float32 {
	n, k := len(x)/d, len(keep)
	out := make([]float32, n*k)
	EachPiece(n, rowPieceRows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row, dst := x[r*d:(r+1)*d], out[r*k:(r+1)*k]
			for i, j := range keep {
				dst[i] = row[j]
			}
		}
	})
	return out
}

// SelectNames returns names[j] for each j in keep.
func SelectNames(names []string, keep []int) []string {
	out := make([]string, len(keep))
	for i, j := range keep {
		out[i] = names[j]
	}
	return out
}

// Select returns the scaler of the features keep (increasing indices).
func (s Scaler) Select(keep []int) Scaler {
	pick := func(v []float32) []float32 { return SelectColumns(v, len(v), keep) }
	return Scaler{Kind: s.Kind, Offset: pick(s.Offset), Scale: pick(s.Scale), Min: pick(s.Min), Max: pick(s.Max)}
}

// Varying returns the indices in [0, d) that are not in constant (sorted),
// in increasing order: the features the network of a model sees.
func Varying(d int, constant []int) []int {
	out := make([]int, 0, d-len(constant))
	for j := range d {
		if _, found := slices.BinarySearch(constant, j); !found {
			out = append(out, j)
		}
	}
	return out
}

// WithConstantFeatures returns the model of the features names built from
// net, a model whose network was trained on the varying features only
// (net.Features are names without the indices in constant, in order). The
// features at the indices constant (increasing) are constant features of
// the result (see Model.Constant), and net's spikes are renumbered to
// the features of names: the constant features' likelihood scale is 1, so with the
// scaler's departure scaling a Gaussian score adds ½((x - c)/s)² for each,
// a Laplace score |x - c|/s and the squared-error score ((x - c)/s)² in its
// mean. The caller sets the full scaler (and imputation) of all features.
func WithConstantFeatures(net *Model, names []string, constant []int) (*Model, error) {
	if len(constant) == 0 {
		return net, nil
	}
	if !slices.IsSorted(constant) || constant[0] < 0 || constant[len(constant)-1] >= len(names) {
		return nil, fmt.Errorf("constant feature indices %v: want increasing indices below %d", constant, len(names))
	}
	varying := Varying(len(names), constant)
	if len(varying) != len(net.Features) {
		return nil, fmt.Errorf("network has %d features, %d of the %d are varying", len(net.Features), len(varying), len(names))
	}
	for k, j := range varying {
		if net.Features[k] != names[j] {
			return nil, fmt.Errorf("network feature %d is %q, want %q", k, net.Features[k], names[j])
		}
	}
	m := *net
	m.Features = slices.Clone(names)
	m.Constant = slices.Clone(constant)
	expand := func(v []float32) []float32 {
		if v == nil {
			return nil
		}
		out := make([]float32, len(names))
		for j := range out {
			out[j] = 1
		}
		for k, j := range varying {
			out[j] = v[k]
		}
		return out
	}
	m.Variance = expand(net.Variance)
	m.LaplaceScale = expand(net.LaplaceScale)
	m.Spikes = slices.Clone(net.Spikes)
	for i := range m.Spikes {
		m.Spikes[i].Feature = varying[m.Spikes[i].Feature]
	}
	return &m, nil
}

// NetworkDim returns the number of features the network sees: Dim() less
// the constant features.
func (m *Model) NetworkDim() int { return len(m.Features) - len(m.Constant) }
