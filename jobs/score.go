package jobs

import (
	"fmt"
	"io"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet"
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
}

// Score scores every row of the input with the model's Go scorer (the same
// numbers as its ONNX graph) and writes one output row per input row, in
// input order. The output file appears whole or not at all.
func Score(o ScoreOptions) (*ScoreResult, error) {
	switch {
	case o.Model == "":
		return nil, fmt.Errorf("%w: --model is required", ErrUsage)
	case o.Input == "":
		return nil, fmt.Errorf("%w: --input is required: the Parquet file to score", ErrUsage)
	case o.Output == "":
		return nil, fmt.Errorf("%w: --output is required: a .parquet or .csv file to write", ErrUsage)
	}
	m, err := decodeModel(o.Model)
	if err != nil {
		return nil, err
	}
	t, err := parquet.ReadTable(o.Input, parquet.Selection{Features: m.Features, Keep: o.Keep})
	if err != nil {
		return nil, inputErr(err)
	}
	scores := m.ScoreRows(t.Data)
	flags := make([]bool, len(scores))
	res := &ScoreResult{Rows: len(scores)}
	for i, s := range scores {
		flags[i] = onnx.IsAnomaly(s, m.Threshold)
		if flags[i] {
			res.Anomalies++
		}
	}
	err = createAtomic(o.Output, 0o644, func(w io.Writer) error {
		return parquet.WriteScores(w, parquet.FormatForPath(o.Output), t.Kept, scores, flags)
	})
	if err != nil {
		return nil, fmt.Errorf("write scores: %w", err)
	}
	return res, nil
}
