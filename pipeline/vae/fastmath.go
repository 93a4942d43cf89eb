package vae

import "math"

// Float32 versions of the transcendental functions of the Bernoulli loss.
// The training loss is summed in float32, so float64 accuracy in its terms
// is wasted; these stay within a few float32 ulps of the exact values
// (TestFastMath) at a fraction of math.Exp and math.Log1p's cost.

// exp32 returns e^x: 0 below the smallest normal float32 (x < -87.34),
// +Inf above the largest (x > 88.72), NaN for NaN.
func exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2Hi = 0.693359375 // ln 2 split in two so that k·ln2Hi is exact
		ln2Lo = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x < -87.33654:
		return 0
	case x > 88.72283:
		return float32(math.Inf(1))
	}
	k := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - k*ln2Hi - k*ln2Lo
	// e^r on |r| ≤ ln2/2: a minimax polynomial (Cephes' expf
	// coefficients).
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	if k == 128 { // e^x just below the largest float32: 2^128 overflows
		return p * 2 * math.Float32frombits(254<<23) // p·2·2^127
	}
	return p * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// log1pSmall returns log(1 + e) for 0 ≤ e ≤ 1 as e·p(e), where p is a
// degree-9 polynomial fitted to log(1 + e)/e on [0, 1] (a Chebyshev
// least-squares fit, made for vaejob): within 2e-7 relative in float32
// arithmetic, and without a division.
func log1pSmall(e float32) float32 {
	p := float32(-0.0032140363473445177)
	p = p*e + 0.019649166613817215
	p = p*e - 0.056435029953718185
	p = p*e + 0.10533228516578674
	p = p*e - 0.1525145173072815
	p = p*e + 0.19651491940021515
	p = p*e - 0.24947808682918549
	p = p*e + 0.3332909941673279
	p = p*e - 0.4999985098838806
	p = p*e + 1
	return e * p
}

// softplusSigmoid returns log(1 + e^a) and 1 / (1 + e^-a) from one
// exponential of -|a|.
func softplusSigmoid(a float32) (softplus, sigmoid float32) {
	e := exp32(-abs32(a))
	l := log1pSmall(e)
	if a > 0 {
		return a + l, 1 / (1 + e)
	}
	return l, e / (1 + e)
}

func abs32(x float32) float32 {
	return math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
}
