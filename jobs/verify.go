package jobs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// VerifyOptions name the model to check and, optionally, a table whose rows
// to check it on.
type VerifyOptions struct {
	Model string
	Input string // empty: the validation sample beside the model
}

// VerifyReport is what vaejob verify prints.
type VerifyReport struct {
	Model  string
	Source string // where the checked rows came from
	*onnx.Report
}

func (r *VerifyReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model:      %s\n", r.Model)
	fmt.Fprintf(&b, "rows:       %d from %s, plus %d test-vector rows\n", r.Rows, r.Source, r.TestVectorRows)
	fmt.Fprintf(&b, "threshold:  %s\n", onnx.FormatThreshold(r.Threshold))
	fmt.Fprintf(&b, "checks:     %d, failed %d\n", r.Checks, r.Failed)
	fmt.Fprintf(&b, "max error:  %.3g absolute, %.3g relative (tolerance %g relative)\n", r.MaxAbsErr, r.MaxRelErr, onnx.Tolerance)
	for _, m := range r.Mismatches {
		fmt.Fprintf(&b, "MISMATCH:   %s\n", m)
	}
	if r.Failed == 0 {
		b.WriteString("OK: onnx-go, the Go scorer and the recorded scores agree\n")
	}
	return b.String()
}

// Verify reads a model back with onnx-go and checks its scores against the
// Go scorer and against recorded scores (see onnx.Verify). A disagreement is
// an error wrapping ErrVerify. The model is first loaded as score and
// evaluate load it (loadModel): a file that is not a vaejob model is bad
// input, and one that fails its own test vector is refused as damaged.
func Verify(ctx context.Context, o VerifyOptions) (*VerifyReport, error) {
	if err := checkRequired(requiredFlag{"--model", o.Model, "the model.onnx to check"}); err != nil {
		return nil, err
	}
	loaded, err := loadModel(o.Model)
	if err != nil {
		return nil, err
	}
	rows, n, want, source, err := verifyRows(ctx, o, loaded.model)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep, err := onnx.Verify(loaded.data, rows, n, want)
	var out *VerifyReport
	if rep != nil {
		out = &VerifyReport{Model: o.Model, Source: source, Report: rep}
	}
	if err != nil {
		return out, kind(ErrVerify, fmt.Errorf("%s: %w", o.Model, err))
	}
	return out, nil
}

// verifyRows returns the n rows to check (row-major) and their recorded
// scores, if any, and says where they came from.
func verifyRows(ctx context.Context, o VerifyOptions, m *pipeline.Model) (rows []float32, n int, want []float32, source string, err error) {
	if o.Input != "" {
		t, err := parquet.ReadTable(ctx, o.Input, parquet.Selection{Features: m.Features, MaxMagnitude: pipeline.MaxFeatureMagnitude})
		if err != nil {
			return nil, 0, nil, "", stopped(ctx, inputErr(err))
		}
		return t.Data, t.Rows, nil, o.Input, nil
	}
	path := filepath.Join(filepath.Dir(o.Model), ValidationSampleFile)
	s, err := readValidationSample(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil, "no validation sample (" + path + " is missing; pass --input to check more rows)", nil
	}
	if err != nil {
		return nil, 0, nil, "", kind(ErrVerify, err)
	}
	if !slices.Equal(s.Features, m.Features) {
		return nil, 0, nil, "", kind(ErrVerify, fmt.Errorf("%s does not belong to %s: its features or row count differ", path, o.Model))
	}
	for _, r := range s.Rows {
		if len(r) != m.Dim() {
			return nil, 0, nil, "", kind(ErrVerify, fmt.Errorf("%s: a row has %d values, want %d", path, len(r), m.Dim()))
		}
		rows = append(rows, r...)
	}
	return rows, len(s.Rows), s.Scores, path + " (validation rows scored at training time)", nil
}
