package vae

import (
	"context"
	"fmt"
	"gorgonia.org/tensor"
	"math"
	"math/rand"
	"sync"
	"testing"

	G "gorgonia.org/gorgonia"
)

// TestFusedMatchesGraph runs one batch through the gorgonia graph (its
// autodiff gradients) and through fusedNet, and compares the loss, the
// per-row terms and every gradient.
// spikeMask leaves features 1 and 5 of 7 out of the reconstruction loss,
// as Config.Spikes does for spike features.
var spikeMask = []bool{false, true, false, false, false, true, false}

func TestFusedMatchesGraph(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func() Config
	}{
		{"tutorial", TutorialConfig},
		{"default", DefaultConfig},
		{"gaussian", func() Config { c := DefaultConfig(); c.Likelihood = Gaussian; c.LogVarBound = 0; return c }},
		{"bernoulli elbo, odd batch", func() Config {
			c := TutorialConfig()
			c.Objective, c.Beta, c.BatchSize, c.Hidden, c.Latent = ObjectiveELBO, 2, 37, []int{5}, 3
			return c
		}},
		{"latent wider than the data and every layer", func() Config {
			c := DefaultConfig()
			c.Hidden, c.Latent = []int{2}, 12
			return c
		}},
		{"laplace, spike features", func() Config {
			c := DefaultConfig()
			c.noRecon = spikeMask
			return c
		}},
		{"gaussian, spike features", func() Config {
			c := DefaultConfig()
			c.Likelihood, c.LogVarBound, c.noRecon = Gaussian, 0, spikeMask
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg()
			cfg.Fused = false // the reference: gorgonia's graph and autodiff
			cfg.BatchSize = min(cfg.BatchSize, 64)
			if tc.name == "bernoulli elbo, odd batch" {
				cfg.BatchSize = 37
			}
			d, b := 7, cfg.BatchSize
			rng := rand.New(rand.NewSource(3))
			logScale0 := make([]float32, d)
			for j := range logScale0 {
				logScale0[j] = float32(rng.NormFloat64() * 0.3)
			}
			net := newNetwork(cfg, d, rng, logScale0)
			if err := net.autodiffLoss(cfg); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(net.g, G.BindDualValues(net.learnables...))
			defer vm.Close()
			x := net.x.Value().Data().([]float32)
			eps := net.eps.Value().Data().([]float32)
			wRec := net.wRec.Value().Data().([]float32)
			wKL := net.wKL.Value().Data().([]float32)
			for i := range x {
				x[i] = rng.Float32()
			}
			for i := range eps {
				eps[i] = float32(rng.NormFloat64())
			}
			for r := range wRec {
				if r%5 != 3 { // every fifth row trimmed away
					wRec[r], wKL[r] = 1/float32(b), float32(cfg.Beta+1)/float32(b)
				}
			}
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			f := newFusedNet(cfg, d)
			var params, grads [][]float32
			for _, n := range net.learnables {
				params = append(params, n.Value().Data().([]float32))
			}
			for _, s := range f.sizes() {
				grads = append(grads, make([]float32, s))
			}
			if len(params) != len(grads) {
				t.Fatalf("%d learnables, fused net has %d parameters", len(params), len(grads))
			}
			rec, kl := make([]float32, b), make([]float32, b)
			loss := f.run(params, x, eps, wRec, wKL, rec, kl, grads, nil)
			close := func(what string, got, want []float32) {
				t.Helper()
				scale := 1e-6
				for _, v := range want {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				for i := range want {
					if diff := math.Abs(float64(got[i] - want[i])); diff > 2e-4*scale {
						t.Errorf("%s[%d] = %v, graph %v (scale %.3g)", what, i, got[i], want[i], scale)
						return
					}
				}
			}
			close("loss", []float32{loss}, []float32{net.loss.Value().Data().(float32)})
			close("row reconstruction", rec, net.rowRec.Value().Data().([]float32))
			close("row KL", kl, net.rowKL.Value().Data().([]float32))
			for p, n := range net.learnables {
				g, err := n.Grad()
				if err != nil {
					t.Fatal(err)
				}
				close(fmt.Sprintf("gradient of %s", n.Name()), grads[p], g.Data().([]float32))
			}
			if cfg.noRecon != nil {
				// Nothing reaches a spike feature's output or scale.
				last, out := grads[len(grads)-3], grads[len(grads)-2]
				for j, skip := range cfg.noRecon {
					if !skip {
						continue
					}
					if out[j] != 0 || grads[len(grads)-1][j] != 0 {
						t.Errorf("feature %d: bias gradient %v, scale gradient %v, want 0", j, out[j], grads[len(grads)-1][j])
					}
					for i := j; i < len(last); i += d {
						if last[i] != 0 {
							t.Errorf("feature %d: weight gradient %v, want 0", j, last[i])
							break
						}
					}
				}
			}
		})
	}
}

// TestFusedTraining trains each preset with the graph and with the fused
// operation from the same seed: the models agree up to float32 rounding,
// and two fused runs agree exactly.
func TestFusedTraining(t *testing.T) {
	for _, preset := range []struct {
		name string
		cfg  Config
	}{{"tutorial", TutorialConfig()}, {"default", DefaultConfig()}} {
		t.Run(preset.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			d, n := 6, 700
			x := make([]float32, n*d)
			for i := range x {
				x[i] = rng.Float32()
			}
			names := []string{"a", "b", "c", "d", "e", "f"}
			cfg := preset.cfg
			cfg.Epochs, cfg.Steps, cfg.TrimFrom = 4, 0, 3 // trimming from the fourth step
			train := func(fused bool) []float32 {
				c := cfg
				c.Fused = fused // the presets use the fused trainer
				m, _, err := Train(context.Background(), c, Data{Names: names, Train: x}, rand.New(rand.NewSource(9)), nil)
				if err != nil {
					t.Fatal(err)
				}
				var w []float32
				for _, l := range append(append(m.Encoder, m.Mu, m.LogVar), m.Decoder...) {
					w = append(append(w, l.W...), l.B...)
				}
				return append(w, m.LaplaceScale...)
			}
			graph, fused, again := train(false), train(true), train(true)
			var maxDiff float64
			for i := range graph {
				maxDiff = math.Max(maxDiff, math.Abs(float64(graph[i]-fused[i])))
				if fused[i] != again[i] {
					t.Fatalf("two fused runs differ at parameter %d: %v vs %v", i, fused[i], again[i])
				}
			}
			if maxDiff > 1e-4 {
				t.Errorf("fused and graph training differ by up to %.3g after %d epochs", maxDiff, cfg.Epochs)
			}
			t.Logf("%d parameters, largest difference fused vs graph %.3g", len(graph), maxDiff)
		})
	}
}

// gradRig is a graph whose learnables get the gradients the test chooses:
// loss = Σ_k Σ w_k ⊙ c_k, so ∂loss/∂w_k = c_k.
type gradRig struct {
	vm     G.VM
	ws, cs G.Nodes
}

func newGradRig(t *testing.T, sizes []int) *gradRig {
	g := G.NewGraph()
	r := rand.New(rand.NewSource(7))
	rig := &gradRig{}
	var loss *G.Node
	for k, n := range sizes {
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		wn := G.NewVector(g, tensor.Float32, G.WithShape(n), G.WithName(fmt.Sprintf("w%d", k)), G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(w))))
		cn := G.NewVector(g, tensor.Float32, G.WithShape(n), G.WithName(fmt.Sprintf("c%d", k)), G.WithValue(tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32))))
		term := G.Must(G.Sum(G.Must(G.HadamardProd(wn, cn))))
		if loss == nil {
			loss = term
		} else {
			loss = G.Must(G.Add(loss, term))
		}
		rig.ws, rig.cs = append(rig.ws, wn), append(rig.cs, cn)
	}
	if _, err := G.Grad(loss, rig.ws...); err != nil {
		t.Fatal(err)
	}
	rig.vm = G.NewTapeMachine(g, G.BindDualValues(rig.ws...))
	return rig
}

func (rig *gradRig) step(t *testing.T, s G.Solver, grads [][]float32) {
	for k, c := range rig.cs {
		copy(c.Value().Data().([]float32), grads[k])
	}
	if err := rig.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if err := s.Step(G.NodesToValueGrads(rig.ws)); err != nil {
		t.Fatal(err)
	}
	rig.vm.Reset()
}

// TestAdamMatchesGorgonia runs twenty steps of adam and of G.AdamSolver on
// the same weights and gradients: the weights must agree bit for bit.
func TestAdamMatchesGorgonia(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split=%v", split), func(t *testing.T) {
			sizes := []int{19, 6, 3, 64, 5} // vector loops and tails
			a, b := newGradRig(t, sizes), newGradRig(t, sizes)
			ours, theirs := newAdam(3e-3), G.NewAdamSolver(G.WithLearnRate(3e-3))
			if split {
				// The learnables at once, each on its own goroutine, as
				// the fused trainer's team runs them.
				ours.each = func(n int, work func(i int)) {
					var wg sync.WaitGroup
					for i := range n {
						wg.Go(func() { work(i) })
					}
					wg.Wait()
				}
			}
			rng := rand.New(rand.NewSource(4))
			for step := 0; step < 20; step++ {
				grads := make([][]float32, len(sizes))
				for k, n := range sizes {
					grads[k] = make([]float32, n)
					for i := range grads[k] {
						grads[k][i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(rng.Intn(7)-3)))
					}
				}
				a.step(t, ours, grads)
				b.step(t, theirs, grads)
				for k := range a.ws {
					wa, wb := a.ws[k].Value().Data().([]float32), b.ws[k].Value().Data().([]float32)
					for i := range wa {
						if math.Float32bits(wa[i]) != math.Float32bits(wb[i]) {
							t.Fatalf("step %d, weight %d.%d: %v, gorgonia %v", step, k, i, wa[i], wb[i])
						}
					}
				}
			}
		})
	}
}
