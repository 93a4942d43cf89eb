package vae

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/vaejob/vaejob/pipeline"
)

// synthetic returns n rows of d scaled values in [0, 1] that lie near a
// one-dimensional curve, so a VAE can learn them.
func synthetic(n, d int, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	x := make([]float32, n*d)
	for r := 0; r < n; r++ {
		t := rng.Float64()
		for j := 0; j < d; j++ {
			v := 0.5 + 0.4*math.Sin(t*3+float64(j)) + 0.02*rng.NormFloat64()
			x[r*d+j] = float32(min(1, max(0, v)))
		}
	}
	return x
}

func TestTrainTutorialLearnsAndCollapses(t *testing.T) {
	cfg := TutorialConfig()
	cfg.Epochs = 20
	data := Data{Train: synthetic(600, 9, 1), Validation: synthetic(100, 9, 2), Names: names(9)}
	m, hist, err := Train(context.Background(), cfg, data, rand.New(rand.NewSource(0)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != cfg.Epochs {
		t.Fatalf("got %d epochs of history, want %d", len(hist), cfg.Epochs)
	}
	if want := 20 * 3; hist[len(hist)-1].Steps != want {
		t.Errorf("steps = %d, want %d (600 rows in batches of 256, last one partial)", hist[len(hist)-1].Steps, want)
	}
	first, last := hist[0], hist[len(hist)-1]
	if !(last.Loss < first.Loss) {
		t.Errorf("loss did not fall: first %v, last %v", first.Loss, last.Loss)
	}
	if last.KL > 0.05 {
		t.Errorf("tutorial objective should drive KL per row to ~0 (collapse), got %v", last.KL)
	}
	if m.Dim() != 9 || m.LatentDim() != 10 || len(m.Encoder) != 2 || len(m.Decoder) != 3 {
		t.Errorf("unexpected shapes: latent %d, %d encoder and %d decoder layers", m.LatentDim(), len(m.Encoder), len(m.Decoder))
	}
}

func TestTrainDeterministic(t *testing.T) {
	cfg := TutorialConfig()
	cfg.Epochs = 3
	data := Data{Train: synthetic(300, 5, 1), Names: names(5)}
	run := func() []float32 {
		m, _, err := Train(context.Background(), cfg, data, rand.New(rand.NewSource(42)), nil)
		if err != nil {
			t.Fatal(err)
		}
		var all []float32
		for _, l := range append(append(m.Encoder, m.Mu, m.LogVar), m.Decoder...) {
			all = append(all, l.W...)
			all = append(all, l.B...)
		}
		return all
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Fatal("two runs with the same seed gave different weights")
	}
}

func TestTrainDivergenceIsAnError(t *testing.T) {
	cfg := TutorialConfig()
	cfg.Epochs = 50
	cfg.LearningRate = 1e30
	data := Data{Train: synthetic(300, 5, 1), Names: names(5)}
	_, _, err := Train(context.Background(), cfg, data, rand.New(rand.NewSource(1)), nil)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("err = %v, want ErrDiverged", err)
	}
}

func TestTrainStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := Data{Train: synthetic(300, 5, 1), Names: names(5)}
	_, _, err := Train(ctx, TutorialConfig(), data, rand.New(rand.NewSource(1)), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := TutorialConfig()
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{"no hidden", func(c *Config) { c.Hidden = nil }},
		{"zero latent", func(c *Config) { c.Latent = 0 }},
		{"zero epochs", func(c *Config) { c.Epochs = 0 }},
		{"zero batch", func(c *Config) { c.BatchSize = 0 }},
		{"negative lr", func(c *Config) { c.LearningRate = -1 }},
		{"nan lr", func(c *Config) { c.LearningRate = math.NaN() }},
		{"bad hidden", func(c *Config) { c.Hidden = []int{4, 0} }},
		{"unknown objective", func(c *Config) { c.Objective = "nope" }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("tutorial config invalid: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := TutorialConfig()
			tc.modify(&c)
			if err := c.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
}

func names(d int) []string {
	out := make([]string, d)
	for i := range out {
		out[i] = fmt.Sprintf("f%d", i)
	}
	return out
}

// TestTutorialLossValue checks the tutorial objective on one full-data
// batch: loss = mean BCE over rows × features + KL summed over rows.
func TestTutorialLossValue(t *testing.T) {
	cfg := TutorialConfig()
	cfg.Epochs = 1
	cfg.BatchSize = 1000 // more than the rows: one batch, capped to 300 rows
	data := Data{Train: synthetic(300, 5, 1), Names: names(5)}
	_, hist, err := Train(context.Background(), cfg, data, rand.New(rand.NewSource(3)), nil)
	if err != nil {
		t.Fatal(err)
	}
	st := hist[0]
	if st.Steps != 1 {
		t.Fatalf("%d steps, want 1", st.Steps)
	}
	want := st.Reconstruction + st.KL*300
	if math.Abs(st.Loss-want) > 1e-4*math.Abs(want) {
		t.Errorf("loss %v, want reconstruction %v + 300 × KL %v = %v", st.Loss, st.Reconstruction, st.KL, want)
	}
}

// robustConfig is a Gaussian, balanced-ELBO configuration with trimming and
// a step budget, the knobs the default model draws on.
func robustConfig() Config {
	return Config{
		Hidden: []int{16, 8}, Latent: 3, Epochs: 1000, Steps: 120, BatchSize: 64, LearningRate: 1e-3,
		Objective: ObjectiveELBO, Likelihood: Gaussian, Init: InitGlorot, Beta: 1, WarmupSteps: 20,
		Trim: 0.1, TrimFrom: 30, Score: pipeline.ScoreELBO,
	}
}

func TestTrainGaussianRobust(t *testing.T) {
	cfg := robustConfig()
	data := Data{Train: synthetic(500, 6, 1), Validation: synthetic(100, 6, 2), Names: names(6)}
	run := func() (*pipeline.Model, []EpochStats) {
		m, hist, err := Train(context.Background(), cfg, data, rand.New(rand.NewSource(5)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return m, hist
	}
	m, hist := run()
	if last := hist[len(hist)-1]; last.Steps != 120 {
		t.Errorf("%d steps, want the budget of 120", last.Steps)
	}
	if epochs, steps := cfg.Plan(500); epochs != 15 || steps != 120 {
		t.Errorf("Plan(500) = %d epochs, %d steps; want 15, 120 (8 batches an epoch)", epochs, steps)
	}
	if !(hist[len(hist)-1].ValLoss < hist[0].ValLoss) {
		t.Errorf("validation loss did not fall: %v → %v", hist[0].ValLoss, hist[len(hist)-1].ValLoss)
	}
	if len(m.Variance) != 6 || m.Score != pipeline.ScoreELBO || m.Decoder[len(m.Decoder)-1].Activation != pipeline.Identity {
		t.Fatalf("model: variances %v, score %s, output %v", m.Variance, m.Score, m.Decoder[len(m.Decoder)-1].Activation)
	}
	m.Scaler = pipeline.Scaler{Kind: "minmax", Offset: make([]float32, 6), Min: make([]float32, 6), Max: make([]float32, 6), Scale: make([]float32, 6)}
	for j := range m.Scaler.Scale {
		m.Scaler.Max[j], m.Scaler.Scale[j] = 1, 1
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	again, _ := run()
	if !slices.Equal(again.Variance, m.Variance) || !slices.Equal(again.Mu.W, m.Mu.W) {
		t.Error("same seed gave different weights")
	}
}

func TestTrimWeights(t *testing.T) {
	cfg := robustConfig()
	wRec, wKL := make([]float32, 6), make([]float32, 6)
	loss := []float64{5, 1, 9, 2, 3, 0}
	order := make([]int, 6)
	cfg.weights(wRec, wKL, loss, order, 5, 3, 4, 0.5) // 5 real rows, keep 3
	want := []float32{0, 1.0 / 3, 0, 1.0 / 3, 1.0 / 3, 0}
	if !slices.Equal(wRec, want) {
		t.Errorf("wRec = %v, want %v (rows with losses 1, 2, 3 kept; the padding row gets 0)", wRec, want)
	}
	if wKL[1] != 0.5/3 || wKL[0] != 0 {
		t.Errorf("wKL = %v", wKL)
	}
	// Ties go to the earlier rows.
	tied := []float64{2, 1, 2, 2, 0, 2}
	cfg.weights(wRec, wKL, tied, order, 6, 4, 4, 0.5)
	if want := []float32{0.25, 0.25, 0.25, 0, 0.25, 0}; !slices.Equal(wRec, want) {
		t.Errorf("with ties, wRec = %v, want %v", wRec, want)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	cfg := robustConfig()
	cfg.Trim, cfg.Steps, cfg.Epochs = 0, 0, 250
	data := Data{Train: synthetic(20, 3, 1), Names: names(3)}
	_, hist, err := Train(context.Background(), cfg, data, rand.New(rand.NewSource(1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) > maxReports || hist[len(hist)-1].Epoch != 250 || hist[len(hist)-1].Steps != 250 {
		t.Errorf("%d reports, last %+v", len(hist), hist[len(hist)-1])
	}
}

func TestTrainLaplace(t *testing.T) {
	cfg := robustConfig()
	cfg.Likelihood, cfg.Beta = Laplace, 4
	data := Data{Train: synthetic(300, 4, 1), Validation: synthetic(60, 4, 2), Names: names(4)}
	m, hist, err := Train(context.Background(), cfg, data, rand.New(rand.NewSource(2)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.LaplaceScale) != 4 || m.Variance != nil {
		t.Fatalf("laplace scales %v, variances %v", m.LaplaceScale, m.Variance)
	}
	if !(hist[len(hist)-1].ValLoss < hist[0].ValLoss) {
		t.Errorf("validation loss did not fall: %v → %v", hist[0].ValLoss, hist[len(hist)-1].ValLoss)
	}
}

// BenchmarkTrainEpoch trains the tutorial's network for one epoch of 40
// minibatches of 256 rows; ns/op divided by 40 is the time per minibatch.
func BenchmarkTrainEpoch(b *testing.B) {
	for _, c := range []struct {
		d     int
		fused bool
	}{{9, false}, {9, true}, {21, false}, {21, true}, {100, false}, {100, true}} {
		d := c.d
		b.Run(fmt.Sprintf("tutorial/d=%d/fused=%v", d, c.fused), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			n := 40 * 256
			x := make([]float32, n*d)
			for i := range x {
				x[i] = rng.Float32()
			}
			names := make([]string, d)
			for j := range names {
				names[j] = fmt.Sprintf("f%d", j)
			}
			cfg := TutorialConfig()
			cfg.Epochs, cfg.Fused = 1, c.fused
			b.ResetTimer()
			for range b.N {
				if _, _, err := Train(context.Background(), cfg, Data{Names: names, Train: x}, rand.New(rand.NewSource(2)), nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*40)/1000, "ms/minibatch")
		})
	}
}

// TestLoopWeighs checks who sets a minibatch's row weights: the loop, at
// once, before trimming starts; the step, through the returned weighFunc,
// once it has the per-row losses, after.
func TestLoopWeighs(t *testing.T) {
	cfg := robustConfig() // Trim 0.1 from step 30, β 1 after 20 warm-up steps
	cfg.Trim = 0.4
	const rows = 5
	tr := &trainer{cfg: cfg, d: 4, in: minibatch{wRec: make([]float32, 6), wKL: make([]float32, 6)},
		rowLoss: make([]float64, 6), order: make([]int, 6)}
	if weigh := tr.weigh(rows, cfg.TrimFrom-1); weigh != nil {
		t.Fatal("a weighFunc before trimming starts")
	}
	if want := []float32{0.2, 0.2, 0.2, 0.2, 0.2, 0}; !slices.Equal(tr.in.wRec, want) {
		t.Errorf("before trimming, wRec = %v, want %v", tr.in.wRec, want)
	}
	weigh := tr.weigh(rows, cfg.TrimFrom)
	if weigh == nil {
		t.Fatal("no weighFunc once trimming has started")
	}
	rec := []float32{1, 5, 0, 2, 4, 0}
	kl := []float32{1, 0, 9, 0, 1, 0} // row losses rec + β·kl: 2, 5, 9, 2, 5
	weigh(rec, kl)
	if want := []float32{1.0 / 3, 1.0 / 3, 0, 1.0 / 3, 0, 0}; !slices.Equal(tr.in.wRec, want) {
		t.Errorf("trimmed, wRec = %v, want %v (rows 0, 3 and the first of the ties at 5 kept)", tr.in.wRec, want)
	}
}

// TestTrainSpikes trains on data with features that hold 0 on 70 % and
// 60 % of the rows, and one on exactly half: the first two are scored as
// spikes, with the
// slab's scale, and their reconstruction is the spike; the fused and graph
// trainers agree.
func TestTrainSpikes(t *testing.T) {
	const n, d = 400, 5
	x := synthetic(n, d, 4)
	var offAbs, offSq float64
	for r := 0; r < n; r++ {
		if r%10 < 7 {
			x[r*d+1] = 0
		} else {
			offAbs += math.Abs(float64(x[r*d+1]))
			offSq += float64(x[r*d+1]) * float64(x[r*d+1])
		}
		x[r*d+3] = float32(min(1, r%5/3)) // 0 on three rows in five, else 1
		x[r*d+4] = float32(r % 2)         // 0 and 1, half each: not a spike
	}
	for _, lik := range []Likelihood{Laplace, Gaussian} {
		for _, fused := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s fused=%v", lik, fused), func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.Steps, cfg.Likelihood, cfg.Fused = 60, lik, fused
				if lik == Gaussian {
					cfg.LogVarBound = 0
				}
				m, _, err := Train(context.Background(), cfg, Data{Train: x, Validation: x[:50*d], Names: names(d)}, rand.New(rand.NewSource(1)), nil)
				if err != nil {
					t.Fatal(err)
				}
				want := []pipeline.Spike{
					{Feature: 1, Value: 0, Cost: float32(math.Log(0.7 / 0.3))},
					{Feature: 3, Value: 0, Cost: float32(math.Log(1.5))},
				}
				if !slices.Equal(m.Spikes, want) {
					t.Fatalf("spikes %+v, want %+v", m.Spikes, want)
				}
				scale, slab := m.LaplaceScale, offAbs/(0.3*n)
				if lik == Gaussian {
					scale, slab = m.Variance, offSq/(0.3*n)
				}
				if got, want := scale[1], float32(slab)+cfg.scaleFloor(); got != want {
					t.Errorf("feature 1's scale %v, want the slab's %v", got, want)
				}
				if got, want := scale[3], 1+cfg.scaleFloor(); got != want {
					t.Errorf("feature 3's scale %v, want the slab's %v", got, want)
				}
				m.Scaler = pipeline.Scaler{Kind: "minmax", Offset: make([]float32, d), Min: make([]float32, d), Max: make([]float32, d), Scale: make([]float32, d)}
				for j := range m.Scaler.Scale {
					m.Scaler.Max[j], m.Scaler.Scale[j] = 1, 1
				}
				s := pipeline.NewScorer(m)
				row := slices.Clone(x[:d]) // on both spikes
				_, _, recon := s.Reconstruct(row)
				if recon[1] != 0 || recon[3] != 0 {
					t.Errorf("reconstruction of the spike features %v, %v; want their spikes, 0", recon[1], recon[3])
				}
				shares := make([]float32, d)
				s.ScoreParts(row, shares)
				if shares[1] != 0 || shares[3] != 0 {
					t.Errorf("on the spikes, the features' shares are %v and %v, want 0", shares[1], shares[3])
				}
				row[1], row[3] = 0.5, 1
				s.ScoreParts(row, shares)
				w := func(j int, diff float64) float64 {
					if lik == Gaussian {
						return 0.5 * diff * diff / float64(scale[j])
					}
					return diff / float64(scale[j])
				}
				if got, want := float64(shares[1]), float64(want[0].Cost)+w(1, 0.5); math.Abs(got-want) > 1e-5*want {
					t.Errorf("off the spike, feature 1's share is %v, want cost + slab term %v", got, want)
				}
				if got, want := float64(shares[3]), float64(want[1].Cost)+w(3, 1); math.Abs(got-want) > 1e-5*want {
					t.Errorf("off the spike, feature 3's share is %v, want cost + slab term %v", got, want)
				}
			})
		}
	}
}
