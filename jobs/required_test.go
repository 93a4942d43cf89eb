package jobs

import (
	"context"
	"errors"
	"testing"
)

// TestRequiredFlags pins the usage error of each command run without a
// flag it needs: the first missing flag is named, with what it names.
func TestRequiredFlags(t *testing.T) {
	ctx := context.Background()
	score := func(o ScoreOptions) error { _, err := Score(ctx, o); return err }
	evaluate := func(o EvaluateOptions) error { _, err := Evaluate(ctx, o); return err }
	verify := func(o VerifyOptions) error { _, err := Verify(ctx, o); return err }
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"score without anything", func() error { return score(ScoreOptions{}) }, "usage error: --model is required"},
		{"score without input", func() error { return score(ScoreOptions{Model: "m.onnx", Output: "s.csv"}) },
			"usage error: --input is required: the table to score, or - for standard input"},
		{"score without output", func() error { return score(ScoreOptions{Model: "m.onnx", Input: "in.parquet"}) },
			"usage error: --output is required: a .parquet or .csv file to write, or - for standard output"},
		{"evaluate without model", func() error { return evaluate(EvaluateOptions{Input: "in.parquet"}) }, "usage error: --model is required"},
		{"evaluate without input", func() error { return evaluate(EvaluateOptions{Model: "m.onnx"}) },
			"usage error: --input is required: a labelled Parquet file"},
		{"evaluate without labels", func() error { return evaluate(EvaluateOptions{Model: "m.onnx", Input: "in.parquet"}) },
			"usage error: --label-column is required: the column that marks anomalies"},
		{"verify without model", func() error { return verify(VerifyOptions{Input: "in.parquet"}) },
			"usage error: --model is required: the model.onnx to check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, ErrUsage) || err.Error() != tc.want {
				t.Errorf("got %v, want a usage error %q", err, tc.want)
			}
		})
	}
}

func TestCheckRequiredPassesGivenFlags(t *testing.T) {
	if err := checkRequired(requiredFlag{"--a", "x", ""}, requiredFlag{"--b", "y", "a b"}); err != nil {
		t.Errorf("every flag given: got %v, want nil", err)
	}
}
