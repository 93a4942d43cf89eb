package onnx

import (
	"errors"
	"slices"
	"testing"

	"github.com/vaejob/vaejob/pipeline"
)

// TestCheckTestVector: a model scores its own test vector as recorded; a
// model whose weights changed does not (ErrMismatch, with the rows named);
// a test vector that is empty or does not fit the model cannot check it
// (ErrNoTestVector).
func TestCheckTestVector(t *testing.T) {
	m, _ := randomModel(t, 3, tutorial)
	tv := testMetadata(m, 3).TestVector
	damaged := *m
	damaged.Encoder = slices.Clone(m.Encoder)
	damaged.Encoder[0].W = slices.Clone(m.Encoder[0].W)
	for i := range 4 {
		damaged.Encoder[0].W[i] = -damaged.Encoder[0].W[i] * 1000
	}
	short := pipeline.TestVector{Rows: [][]float32{tv.Rows[0][:3]}, Scores: tv.Scores[:1]}
	spikes, rows := randomModel(t, 3, constantArch)
	withScore(spikes, spiked(imputed), 3, rows)
	spikesTV := testMetadata(spikes, 3).TestVector
	if len(spikesTV.Rows) != len(tv.Rows) {
		t.Fatalf("test vectors of %d and %d rows", len(spikesTV.Rows), len(tv.Rows))
	}
	tests := []struct {
		name  string
		m     *pipeline.Model
		tv    pipeline.TestVector
		want  error
		fails int
	}{
		{"healthy", m, tv, nil, 0},
		{"spike features", spikes, spikesTV, nil, 0},
		{"damaged weights", &damaged, tv, ErrMismatch, len(tv.Rows)},
		{"no rows", m, pipeline.TestVector{}, ErrNoTestVector, 0},
		{"fewer scores than rows", m, pipeline.TestVector{Rows: tv.Rows, Scores: tv.Scores[:1]}, ErrNoTestVector, 0},
		{"row of another width", m, short, ErrNoTestVector, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := CheckTestVector(tc.m, tc.tv)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == ErrNoTestVector {
				return
			}
			if rep.TestVectorRows != len(tv.Rows) || rep.Checks != len(tv.Rows) || rep.Failed != tc.fails || len(rep.Mismatches) != tc.fails {
				t.Errorf("report %+v, want %d rows checked and %d failed", rep, len(tv.Rows), tc.fails)
			}
		})
	}
}
