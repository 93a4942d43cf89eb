package jobs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// Labels name the column that says which rows are anomalies.
type Labels struct {
	Column string `json:"label_column,omitempty"`
	// Normal is the value of a normal row; every other value is an anomaly.
	// Empty: the column must hold 0 (normal) and 1 (anomaly).
	Normal string `json:"normal_value,omitempty"`
}

// read returns one flag per row of t (true = anomaly). The column must
// have been kept when t was read.
func (l Labels) read(t *parquet.Table) ([]bool, error) {
	if nums, err := t.KeptFloat64(l.Column); err == nil {
		return l.fromNumbers(nums)
	} else if l.Normal == "" {
		return nil, kind(ErrBadInput, fmt.Errorf("label column %q: %w; pass --normal-value to name the normal value of a text label", l.Column, err))
	}
	text, err := t.KeptStrings(l.Column)
	if err != nil {
		return nil, inputErr(err)
	}
	flags := make([]bool, len(text))
	normals := 0
	for i, v := range text {
		flags[i] = v != l.Normal
		if !flags[i] {
			normals++
		}
	}
	if normals == 0 {
		return nil, fmt.Errorf("%w: no row of label column %q has the normal value %q; values seen: %s",
			ErrBadInput, l.Column, l.Normal, distinct(text))
	}
	return flags, nil
}

func (l Labels) fromNumbers(nums []float64) ([]bool, error) {
	flags := make([]bool, len(nums))
	if l.Normal == "" {
		for i, v := range nums {
			if v != 0 && v != 1 {
				return nil, fmt.Errorf("%w: label column %q holds %g; without --normal-value it must hold 0 (normal) or 1 (anomaly)",
					ErrBadInput, l.Column, v)
			}
			flags[i] = v == 1
		}
		return flags, nil
	}
	normal, err := strconv.ParseFloat(l.Normal, 64)
	if b, berr := strconv.ParseBool(l.Normal); err != nil && berr == nil {
		// A boolean column reads as 0/1.
		normal, err = 0, nil
		if b {
			normal = 1
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: label column %q is numeric but --normal-value %q is not a number", ErrUsage, l.Column, l.Normal)
	}
	normals := 0
	for i, v := range nums {
		flags[i] = v != normal
		if !flags[i] {
			normals++
		}
	}
	if normals == 0 {
		return nil, fmt.Errorf("%w: no row of label column %q has the normal value %s", ErrBadInput, l.Column, l.Normal)
	}
	return flags, nil
}

// distinct lists up to ten distinct values, for error messages.
func distinct(v []string) string {
	seen := map[string]bool{}
	var out []string
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, strconv.Quote(s))
		}
	}
	slices.Sort(out)
	if len(out) > 10 {
		out = append(out[:10], "…")
	}
	return strings.Join(out, ", ")
}

// LabelMetrics are the ranking and alert metrics of scores against labels.
type LabelMetrics struct {
	Rows      int     `json:"rows"`
	Anomalies int     `json:"anomalies"`
	ROCAUC    float64 `json:"roc_auc"`
	PRAUC     float64 `json:"pr_auc"`
	// At is the confusion at the model's threshold.
	At pipeline.Confusion `json:"at_threshold"`
}

// labelMetrics computes LabelMetrics; it fails when the labels hold one
// class only.
func labelMetrics(scores []float32, labels []bool, threshold float32) (*LabelMetrics, error) {
	m := &LabelMetrics{Rows: len(scores)}
	for _, l := range labels {
		if l {
			m.Anomalies++
		}
	}
	var err error
	if m.ROCAUC, err = pipeline.ROCAUC(scores, labels); err != nil {
		return nil, err
	}
	if m.PRAUC, err = pipeline.AveragePrecision(scores, labels); err != nil {
		return nil, err
	}
	m.At = pipeline.AtThreshold(scores, labels, threshold)
	return m, nil
}
