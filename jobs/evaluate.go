package jobs

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet"
)

// EvaluateOptions name a model and a labelled table to measure it on.
type EvaluateOptions struct {
	Model  string
	Input  string
	Labels Labels
}

// Evaluation is what vaejob evaluate reports.
type Evaluation struct {
	Model     string  `json:"model"`
	Input     string  `json:"input"`
	Threshold float32 `json:"threshold"`
	Method    string  `json:"threshold_method"`
	LabelMetrics
	// Drivers holds every feature's mean share of the score among the
	// labelled anomalies, the normal rows and the alerts (see
	// FeatureDriver), the largest among anomalies first.
	Drivers []FeatureDriver `json:"feature_drivers"`
}

func (e *Evaluation) String() string {
	var b strings.Builder
	c := e.At
	fmt.Fprintf(&b, "model      %s\n", e.Model)
	fmt.Fprintf(&b, "input      %s: %d rows, %d anomalies (%.2f%%)\n", e.Input, e.Rows, e.Anomalies, 100*float64(e.Anomalies)/float64(e.Rows))
	fmt.Fprintf(&b, "ROC-AUC    %.4f\n", e.ROCAUC)
	fmt.Fprintf(&b, "PR-AUC     %.4f\n", e.PRAUC)
	fmt.Fprintf(&b, "threshold  %s (%s)\n", onnx.FormatThreshold(e.Threshold), e.Method)
	fmt.Fprintf(&b, "precision  %.4f   recall %.4f   F1 %.4f\n", c.Precision, c.Recall, c.F1)
	fmt.Fprintf(&b, "alerts     TP %d  FP %d  FN %d  TN %d\n", c.TP, c.FP, c.FN, c.TN)
	writeDrivers(&b, e.Drivers)
	return b.String()
}

// Evaluate scores a labelled table with a model and measures the ranking
// (ROC-AUC, PR-AUC) and the alerts at the model's threshold, and which
// features drive the scores of the labelled anomalies and of the normal
// rows (see FeatureDriver). The model is
// loaded and checked by loadModel: a damaged one is refused.
func Evaluate(ctx context.Context, o EvaluateOptions) (*Evaluation, error) {
	if err := checkRequired(
		requiredFlag{"--model", o.Model, ""},
		requiredFlag{"--input", o.Input, "a labelled Parquet file"},
		requiredFlag{"--label-column", o.Labels.Column, "the column that marks anomalies"},
	); err != nil {
		return nil, err
	}
	loaded, err := loadModel(o.Model)
	if err != nil {
		return nil, err
	}
	m := loaded.model
	t, err := parquet.ReadTable(ctx, o.Input, parquet.Selection{Features: m.Features, Keep: []string{o.Labels.Column}, AllowMissing: true})
	if err != nil {
		return nil, stopped(ctx, inputErr(err))
	}
	labels, err := o.Labels.read(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Input, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	parts := m.ScoreParts(t.Data)
	drivers := featureDrivers(m, parts, labels)
	scores := parts.Scores
	// A NaN score (a row with a missing value) always alerts; for ranking it
	// counts as the most anomalous.
	for i, s := range scores {
		if s != s {
			scores[i] = float32(math.Inf(1))
		}
	}
	lm, err := labelMetrics(scores, labels, m.Threshold)
	if err != nil {
		return nil, kind(ErrBadInput, fmt.Errorf("%s: %w", o.Input, err))
	}
	return &Evaluation{Model: o.Model, Input: o.Input, Threshold: m.Threshold, Method: m.ThresholdMethod, LabelMetrics: *lm, Drivers: drivers}, nil
}
