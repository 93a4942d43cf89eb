package kernel

import "math"

// AdamCoefficients are the per-step constants of an Adam update, in
// float32 as gorgonia's AdamSolver uses them.
type AdamCoefficients struct {
	OneMinusBeta1, OneMinusBeta2 float32 // 1-β1, 1-β2
	Beta1, Beta2                 float32
	Correction1, Correction2     float32 // 1/(1-β1^t), 1/(1-β2^t)
	NegEta, Eps                  float32 // -learning rate, ε
}

// Adam applies one Adam update to the weights w from the gradients g and
// the moment estimates m and v (all the same length), and zeroes g. It
// performs G.AdamSolver's float32 operations in its order, each rounded to
// float32, so the result is bit for bit the solver's; on amd64 with AVX it
// does eight weights at a time with the same operations.
func Adam(w, g, m, v []float32, c *AdamCoefficients) {
	n := len(w)
	check("g", len(g), n)
	check("m", len(m), n)
	check("v", len(v), n)
	done := adam(w, g, m, v, c)
	adamGo(w[done:], g[done:n], m[done:n], v[done:n], c)
}

// adamGo is Adam in plain Go.
func adamGo(w, g, m, v []float32, c *AdamCoefficients) {
	for j, gj := range g {
		t1 := gj * c.OneMinusBeta1
		g2 := gj * gj
		g2 = g2 * c.OneMinusBeta2
		t1 = t1 + m[j]*c.Beta1
		g2 = g2 + v[j]*c.Beta2
		m[j], v[j] = t1, g2
		mHat := t1 * c.Correction1
		vHat := g2 * c.Correction2
		vHat = float32(math.Sqrt(float64(vHat))) // the correctly rounded float32 root
		vHat = vHat + c.Eps
		mHat = mHat * c.NegEta
		mHat = mHat / vHat
		w[j] = w[j] + mHat
		g[j] = 0
	}
}
