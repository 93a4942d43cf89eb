package kernel

import "math"

// ReLU sets out[i] to 0 where in[i] < 0 and to in[i] elsewhere, for every
// i < len(in): NaN passes through whatever its sign (so that a diverging
// network shows NaN, not 0), and so does -0. It has no branch: activations
// are negative about half the time, in no pattern a branch predictor
// learns.
func ReLU(in, out []float32) {
	relu(in, out[:len(in)])
}

// ReLUGrad zeroes grad[i] where the pre-activation a[i] is not positive
// (negative or ±0), for every i < len(grad): the gradient of ReLU. Where
// a[i] is NaN the gradient passes through.
func ReLUGrad(a, grad []float32) {
	reluGrad(a[:len(grad)], grad)
}

// reluGo is ReLU in plain Go, for tails, other machines and tests.
func reluGo(in, out []float32) {
	out = out[:len(in)]
	for i, v := range in {
		b := math.Float32bits(v)
		out[i] = math.Float32frombits(b &^ negative(b))
	}
}

// reluGradGo is ReLUGrad in plain Go.
func reluGradGo(a, grad []float32) {
	a = a[:len(grad)]
	for i, v := range a {
		b := math.Float32bits(v)
		grad[i] = math.Float32frombits(math.Float32bits(grad[i]) &^ (negative(b) | isZero(b)))
	}
}

// negative returns all ones when the float32 with bits b is less than
// zero (sign set, not a NaN, not -0) and zero otherwise.
func negative(b uint32) uint32 {
	sign := uint32(int32(b) >> 31)
	abs := b &^ (1 << 31)
	nan := uint32(int32(0x7f800000-abs) >> 31) // abs > 0x7f800000
	return sign &^ nan &^ isZero(b)
}

// isZero returns all ones when b is the bits of +0 or -0, zero otherwise.
func isZero(b uint32) uint32 {
	abs := int64(b &^ (1 << 31))
	return uint32((abs - 1) >> 63)
}
