package vae

import (
	"math"
	"testing"
)

// TestFastMath holds the float32 softplus and sigmoid to the float64
// library functions over the whole range a training step can meet.
func TestFastMath(t *testing.T) {
	var worstSP, worstSig float64
	for i := -200000; i <= 200000; i++ {
		a := float32(i) * 1e-3 // -200 … 200 in steps of 0.001
		sp, sig := softplusSigmoid(a)
		a64 := float64(a)
		wantSP := math.Max(a64, 0) + math.Log1p(math.Exp(-math.Abs(a64)))
		wantSig := 1 / (1 + math.Exp(-a64))
		errSP := math.Abs(float64(sp)-wantSP) / math.Max(wantSP, 1e-30)
		errSig := math.Abs(float64(sig)-wantSig) / math.Max(wantSig, 1e-30)
		if wantSP < 1e-37 {
			errSP = math.Abs(float64(sp) - wantSP)
		}
		if wantSig < 1e-37 {
			errSig = math.Abs(float64(sig) - wantSig)
		}
		worstSP, worstSig = max(worstSP, errSP), max(worstSig, errSig)
		if errSP > 4e-7 || errSig > 4e-7 {
			t.Fatalf("a = %g: softplus %g (want %g), sigmoid %g (want %g)", a, sp, wantSP, sig, wantSig)
		}
	}
	t.Logf("worst relative error: softplus %.2g, sigmoid %.2g", worstSP, worstSig)
	for _, x := range []float32{0, -1e-8, -1, -10, -87, -87.3, -88, -1000, float32(math.Inf(-1)),
		1e-8, 0.3, 1, 10, 40, 88, 88.7, 88.72, 88.8, 1000, float32(math.Inf(1))} {
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if want > math.MaxFloat32 {
			if !math.IsInf(got, 1) {
				t.Errorf("exp32(%g) = %g, want +Inf", x, got)
			}
			continue
		}
		if want < 1.2e-38 {
			if got != 0 {
				t.Errorf("exp32(%g) = %g, want 0", x, got)
			}
			continue
		}
		if math.Abs(got-want)/want > 3e-7 {
			t.Errorf("exp32(%g) = %g, want %g", x, got, want)
		}
	}
	for i := -87000; i <= 88000; i++ {
		x := float32(i) * 1e-3
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if math.Abs(got-want)/want > 3e-7 {
			t.Fatalf("exp32(%g) = %g, want %g", x, got, want)
		}
	}
	if v := exp32(float32(math.NaN())); v == v {
		t.Errorf("exp32(NaN) = %g", v)
	}
}

func TestNegSign(t *testing.T) {
	for _, tc := range []struct{ v, want float32 }{
		{3, -1}, {1e-40, -1}, {-2, 1}, {-1e-40, 1}, {0, 0}, {float32(math.Copysign(0, -1)), 0},
		{float32(math.Inf(1)), -1}, {float32(math.Inf(-1)), 1},
	} {
		if got := negSign(tc.v); got != tc.want {
			t.Errorf("negSign(%g) = %g, want %g", tc.v, got, tc.want)
		}
	}
}
