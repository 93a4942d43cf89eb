package vae

import "testing"

// TestTrainShards pins how minibatches split: by batch size and network
// only, shards of at least minShardRows rows on multiples of four, at most
// maxShards.
func TestTrainShards(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		d     int
		shard int
	}{
		{"default preset, 32 features", DefaultConfig(), 32, 8},
		{"tutorial preset, 30 features", TutorialConfig(), 30, 8},
		{"default preset, batch 64", func() Config { c := DefaultConfig(); c.BatchSize = 64; return c }(), 32, 2},
		{"tiny network", func() Config { c := DefaultConfig(); c.Hidden = []int{4}; c.Latent = 2; return c }(), 3, 1},
		{"batch 1000, wide", func() Config { c := DefaultConfig(); c.BatchSize = 1000; return c }(), 100, 16},
	} {
		f := newFusedNet(tc.cfg, tc.d)
		if len(f.shards) != tc.shard {
			t.Errorf("%s: %d shards, want %d", tc.name, len(f.shards), tc.shard)
		}
		next := 0
		for _, s := range f.shards {
			if s.lo != next || s.lo%4 != 0 || s.hi-s.lo < min(minShardRows, tc.cfg.BatchSize) {
				t.Errorf("%s: shard [%d, %d) after row %d", tc.name, s.lo, s.hi, next)
			}
			next = s.hi
		}
		if next != tc.cfg.BatchSize {
			t.Errorf("%s: shards end at row %d of %d", tc.name, next, tc.cfg.BatchSize)
		}
		f.close()
	}
}
