package vae

import (
	"errors"
	"fmt"
	"math"

	"github.com/vaejob/vaejob/pipeline/internal/kernel"

	G "gorgonia.org/gorgonia"
)

// adam is a gorgonia Solver with the arithmetic of G.AdamSolver (default
// β1 0.9, β2 0.999, ε 1e-8, no regularisation or clipping), operation for
// operation in float32, so that it gives the same weights bit for bit, but
// over moment buffers it allocates once instead of cloning tensors at every
// step.
type adam struct {
	eta        float64
	iter       int
	mean, vari [][]float32
	// each, when set, runs work(i) for every i < n, at once on several
	// cores; Step then updates the learnables at once. Each weight's update
	// depends on its own gradient and moments only, so the result is the
	// same.
	each func(n int, work func(i int))
	errs []error // each learnable's error, with each
}

func newAdam(learningRate float64) *adam { return &adam{eta: learningRate} }

// Step applies one Adam update to every learnable and zeroes its gradient.
func (s *adam) Step(model []G.ValueGrad) error {
	if s.mean == nil {
		for range model {
			s.mean, s.vari = append(s.mean, nil), append(s.vari, nil)
		}
	}
	s.iter++
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	correction1 := 1 - math.Pow(beta1, float64(s.iter))
	correction2 := 1 - math.Pow(beta2, float64(s.iter))
	b1, b2 := float32(beta1), float32(beta2)
	omb1, omb2 := float32(1)-b1, float32(1)-b2
	c := kernel.AdamCoefficients{
		OneMinusBeta1: omb1, OneMinusBeta2: omb2, Beta1: b1, Beta2: b2,
		Correction1: float32(1) / float32(correction1), Correction2: float32(1) / float32(correction2),
		NegEta: -float32(s.eta), Eps: float32(eps),
	}
	update := func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			vg := model[i]
			grad, err := vg.Grad()
			if err != nil {
				return fmt.Errorf("adam: learnable %d: %w", i, err)
			}
			w, g := float32s(vg.Value()), float32s(grad)
			if w == nil || g == nil || len(w) != len(g) {
				return fmt.Errorf("adam: learnable %d is not a float32 tensor with a gradient of its size", i)
			}
			if s.mean[i] == nil {
				s.mean[i], s.vari[i] = make([]float32, len(w)), make([]float32, len(w))
			}
			kernel.Adam(w, g, s.mean[i], s.vari[i], &c)
		}
		return nil
	}
	if s.each == nil {
		return update(0, len(model))
	}
	if s.errs == nil {
		s.errs = make([]error, len(model))
	}
	s.each(len(model), func(i int) { s.errs[i] = update(i, i+1) })
	return errors.Join(s.errs...)
}
