package vae

import (
	"context"
	"errors"
	"math/rand"
	"runtime"
	"testing"
	"time"
)

// TestFusedTeamStopsWithTraining checks that the fused trainer's helpers
// (one per extra core, several shards a step) are gone once Train returns,
// however it ends: finished, cancelled between steps, or diverged.
func TestFusedTeamStopsWithTraining(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	base := DefaultConfig()
	base.Epochs, base.Steps = 3, 0
	data := Data{Train: synthetic(1200, 32, 4), Names: names(32)}
	if n := len(newFusedNet(base, 32).shards); n < 3 {
		t.Fatalf("%d shards: the test wants several per step", n)
	}
	for _, tc := range []struct {
		name    string
		cfg     func(Config) Config
		stop    bool // cancel after the first report
		wantErr error
	}{
		{"finished", func(c Config) Config { return c }, false, nil},
		{"cancelled", func(c Config) Config { return c }, true, context.Canceled},
		{"diverged", func(c Config) Config { c.LearningRate = 1e30; return c }, false, ErrDiverged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			progress := func(EpochStats) {
				if tc.stop {
					cancel()
				}
			}
			cfg := tc.cfg(base)
			cfg.Fused = true
			_, _, err := Train(ctx, cfg, data, rand.New(rand.NewSource(1)), progress)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			// Helpers leave once they see quit; give them a moment, but
			// never pass while one is left.
			n := runtime.NumGoroutine()
			for i := 0; i < 500 && n > before; i++ {
				time.Sleep(10 * time.Millisecond)
				n = runtime.NumGoroutine()
			}
			if n > before {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines after Train, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}
