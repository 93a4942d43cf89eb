package jobs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// ScoreOptions name a model, the table to score and where to write scores.
type ScoreOptions struct {
	Model  string
	Input  string
	Output string   // Parquet, or CSV when it ends in .csv
	Keep   []string // input columns carried into the output before score and is_anomaly
}

// ScoreResult summarises a score run.
type ScoreResult struct {
	Rows, Anomalies int
	// Missing counts rows with a missing or non-finite feature (NaN score,
	// flagged).
	Missing int
}

// checkOutputFile checks that an output file can be created where asked and
// would not replace the input. Its errors wrap ErrUsage.
func checkOutputFile(output, input string) error {
	dir := filepath.Dir(output)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: --output %s: the directory %s does not exist; create it or choose another --output", ErrUsage, output, dir)
	}
	if out, err := os.Stat(output); err == nil {
		if in, err := os.Stat(input); err == nil && os.SameFile(in, out) {
			return fmt.Errorf("%w: --output %s is the input file; choose another name", ErrUsage, output)
		}
		if out.IsDir() {
			return fmt.Errorf("%w: --output %s is a directory; name a .parquet or .csv file", ErrUsage, output)
		}
	}
	return nil
}

// Score scores every row of the input with the model's Go scorer (the same
// numbers as its ONNX graph) and writes one output row per input row, in
// input order. The output file appears whole or not at all.
//
// A row with a missing (null) or non-finite feature scores NaN and is
// flagged, as in the ONNX graph. Cancelling ctx stops the run before the
// output is written.
func Score(ctx context.Context, o ScoreOptions) (*ScoreResult, error) {
	switch {
	case o.Model == "":
		return nil, fmt.Errorf("%w: --model is required", ErrUsage)
	case o.Input == "":
		return nil, fmt.Errorf("%w: --input is required: the Parquet file to score", ErrUsage)
	case o.Output == "":
		return nil, fmt.Errorf("%w: --output is required: a .parquet or .csv file to write", ErrUsage)
	}
	if err := checkOutputFile(o.Output, o.Input); err != nil {
		return nil, err
	}
	m, err := decodeModel(o.Model)
	if err != nil {
		return nil, err
	}
	t, err := parquet.ReadTable(o.Input, parquet.Selection{Features: m.Features, Keep: o.Keep, AllowMissing: true})
	if err != nil {
		return nil, inputErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	scores := m.ScoreRows(t.Data)
	flags := make([]bool, len(scores))
	res := &ScoreResult{Rows: len(scores)}
	for i, s := range scores {
		flags[i] = pipeline.IsAnomaly(s, m.Threshold)
		if flags[i] {
			res.Anomalies++
		}
		if s != s {
			res.Missing++
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err = createAtomic(o.Output, 0o644, func(w io.Writer) error {
		return parquet.WriteScores(w, parquet.FormatForPath(o.Output), t.Kept, scores, flags)
	})
	if err != nil {
		return nil, fmt.Errorf("write scores: %w", err)
	}
	return res, nil
}
