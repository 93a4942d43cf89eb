package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet/regfile"
	"github.com/vaejob/vaejob/pipeline"
)

// ErrRejected: the promotion gate rejected the model. The run is kept in
// runs/, marked rejected, and latest is unchanged.
var ErrRejected = errors.New("promotion gate rejected the model")

// GateOptions set the promotion gate. The default gate rejects only what is
// clearly broken or clearly worse than latest; the stricter checks are off
// until given a limit. Resolved (defaults filled in), they are run.json's
// config.gate.
type GateOptions struct {
	// AllowSchemaChange lets a model with other features (names, order or
	// count) than latest's be promoted.
	AllowSchemaChange bool `json:"allow_schema_change"`
	// MinRowsFraction: reject when the run trained on fewer rows than this
	// fraction of latest's training rows. Not set: DefaultMinRowsFraction;
	// 0 turns the check off.
	MinRowsFraction Optional[float64] `json:"min_rows_fraction"`
	// MaxMetricDrop: with labels, reject when the new model's validation
	// ROC-AUC or PR-AUC is lower than latest's on the same rows by more than
	// this. Not set: DefaultMaxMetricDrop.
	MaxMetricDrop Optional[float64] `json:"max_metric_drop"`
	// MaxAlertRate, when above 0, rejects a model that alerts on more than
	// this fraction of latest's validation sample or of its own validation
	// rows.
	MaxAlertRate float64 `json:"max_alert_rate,omitempty"`
	// MaxScoreDrift, when above 0, rejects a run whose validation rows latest
	// scores differently from latest's own validation rows: the
	// Kolmogorov–Smirnov statistic between the two score samples.
	MaxScoreDrift float64 `json:"max_score_drift,omitempty"`
}

// Gate defaults.
const (
	DefaultMinRowsFraction = 0.5
	DefaultMaxMetricDrop   = 0.05
)

func (g GateOptions) minRowsFraction() float64 { return g.MinRowsFraction.Or(DefaultMinRowsFraction) }

func (g GateOptions) maxMetricDrop() float64 { return g.MaxMetricDrop.Or(DefaultMaxMetricDrop) }

// check refuses limits out of their range. Its errors wrap ErrUsage and
// name the flags.
func (g GateOptions) check() error {
	bad := func(v float64) bool { return math.IsNaN(v) || v < 0 || v > 1 }
	switch {
	case bad(g.minRowsFraction()):
		return fmt.Errorf("%w: --gate-min-rows-fraction %g: want a fraction from 0 to 1", ErrUsage, g.minRowsFraction())
	case bad(g.maxMetricDrop()):
		return fmt.Errorf("%w: --gate-max-metric-drop %g: want a number from 0 to 1", ErrUsage, g.maxMetricDrop())
	case bad(g.MaxAlertRate):
		return fmt.Errorf("%w: --gate-max-alert-rate %g: want a fraction from 0 to 1 (0: off)", ErrUsage, g.MaxAlertRate)
	case bad(g.MaxScoreDrift):
		return fmt.Errorf("%w: --gate-max-score-drift %g: want a number from 0 to 1 (0: off)", ErrUsage, g.MaxScoreDrift)
	}
	return nil
}

// fillDefaults sets the limits not given to their defaults, as run.json
// records them.
func (g *GateOptions) fillDefaults() {
	g.MinRowsFraction.orDefault(DefaultMinRowsFraction)
	g.MaxMetricDrop.orDefault(DefaultMaxMetricDrop)
}

// GateRecord is the gate's decision, kept in run.json.
type GateRecord struct {
	// Decision is "promoted" or "rejected".
	Decision string `json:"decision"`
	// Baseline is the run latest pointed at when this run was gated: the
	// run a promotion replaced. Empty for the first run in --out.
	Baseline string      `json:"baseline_run_id,omitempty"`
	Checks   []GateCheck `json:"checks"`
	// Reasons lists the failed checks in words.
	Reasons []string `json:"reasons,omitempty"`
}

// GateCheck is one check of the gate.
type GateCheck struct {
	Name   string   `json:"name"`
	Passed bool     `json:"passed"`
	Value  *float64 `json:"value,omitempty"`
	Limit  *float64 `json:"limit,omitempty"`
	Detail string   `json:"detail"`
}

// Gate decisions.
const (
	DecisionPromoted = "promoted"
	DecisionRejected = "rejected"
)

// baseline is the run latest points at, loaded for the gate.
type baseline struct {
	runID  string
	record *RunRecord
	model  *pipeline.Model   // nil when model.onnx is missing or damaged
	sample *ValidationSample // nil when missing
	notes  []string          // why parts of it could not be used
}

// loadBaseline reads the run latest points at; nil when there is no latest.
// A damaged baseline is not an error: the checks that need the damaged part
// are skipped and say so.
func (d *outDir) loadBaseline() (*baseline, error) {
	runID, err := d.latest()
	if err != nil || runID == "" {
		return nil, err
	}
	if err := d.checkRunFolder(runID); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	dir := d.runDir(runID)
	rec, err := readRecord(dir)
	if err != nil {
		return nil, fmt.Errorf("read the latest run's record (%s): %w; repair it or point latest elsewhere with vaejob promote", dir, err)
	}
	b := &baseline{runID: runID, record: rec}
	if data, err := regfile.ReadFile(filepath.Join(dir, ModelFile), maxModelBytes); err != nil {
		b.notes = append(b.notes, fmt.Sprintf("latest's %s cannot be read: %v", ModelFile, err))
	} else if want := rec.artifactSHA(ModelFile); want != sha256Hex(data) {
		b.notes = append(b.notes, fmt.Sprintf("latest's %s does not match the SHA-256 in its %s", ModelFile, RecordFile))
	} else if m, _, err := onnx.Decode(data); err != nil {
		b.notes = append(b.notes, fmt.Sprintf("latest's %s cannot be decoded: %v", ModelFile, err))
	} else {
		b.model = m
	}
	if s, err := readValidationSample(filepath.Join(dir, ValidationSampleFile)); err == nil && b.model != nil && slices.Equal(s.Features, b.model.Features) {
		b.sample = s
	}
	return b, nil
}

// gateInput is what the gate knows of the new run.
type gateInput struct {
	model     *pipeline.Model
	rows      RowCounts
	val       []float32 // raw validation rows, row-major
	valScores []float32
	valLabels []bool // nil without labels
	metrics   *LabelMetrics
}

// runGate decides whether the new model may replace the baseline. With no
// baseline (the first run) only the model's own checks apply.
func runGate(g GateOptions, in gateInput, base *baseline) GateRecord {
	rec := GateRecord{Checks: []GateCheck{}}
	add := func(c GateCheck) {
		rec.Checks = append(rec.Checks, c)
		if !c.Passed {
			rec.Reasons = append(rec.Reasons, c.Name+": "+c.Detail)
		}
	}
	d := in.model.Dim()
	// Non-finite scores: on the new validation rows, on the test vector,
	// and on latest's validation sample when the schemas match.
	bad := countNonFinite(in.valScores)
	checked := len(in.valScores)
	sameSchema := base == nil || slices.Equal(base.record.Features, in.model.Features)
	if base != nil && base.sample != nil && sameSchema {
		s := in.model.ScoreRows(flatten(base.sample.Rows))
		bad += countNonFinite(s)
		checked += len(s)
	}
	add(GateCheck{Name: "finite_scores", Passed: bad == 0, Value: ptr(float64(bad)), Limit: ptr(0),
		Detail: fmt.Sprintf("%d of %d checked rows score NaN or ±Inf", bad, checked)})
	if base == nil {
		add(GateCheck{Name: "baseline", Passed: true, Detail: "no latest model yet: nothing to compare with"})
		rec.finish()
		return rec
	}
	rec.Baseline = base.runID
	for _, n := range base.notes {
		add(GateCheck{Name: "baseline", Passed: true, Detail: n + "; the checks that need it are skipped"})
	}

	// Schema: a service feeding latest's columns must not be handed a model
	// that expects others.
	schema := GateCheck{Name: "schema", Passed: sameSchema || g.AllowSchemaChange}
	switch {
	case sameSchema:
		schema.Detail = fmt.Sprintf("the same %d features as %s", d, base.runID)
	default:
		schema.Detail = "features differ from " + base.runID + "'s: " + schemaDiff(base.record.Features, in.model.Features)
		if g.AllowSchemaChange {
			schema.Detail += " (allowed by --allow-schema-change)"
		} else {
			schema.Detail += "; pass --allow-schema-change if the service is updated too"
		}
	}
	add(schema)

	// Training rows: an empty or half-written partition trains on far
	// fewer rows than usual.
	if f := g.minRowsFraction(); f > 0 {
		need := f * float64(base.record.Rows.Train)
		add(GateCheck{Name: "training_rows", Passed: float64(in.rows.Train) >= need,
			Value: ptr(float64(in.rows.Train)), Limit: ptr(math.Ceil(need)),
			Detail: fmt.Sprintf("%d training rows; %s had %d and the gate wants at least %g of that", in.rows.Train, base.runID, base.record.Rows.Train, f)})
	}

	// Labels: both models measured on the new validation rows.
	if in.metrics != nil && sameSchema && base.model != nil {
		old, err := labelMetrics(base.model.ScoreRows(in.val), in.valLabels, base.model.Threshold)
		if err == nil {
			tol := g.maxMetricDrop()
			for _, m := range []struct {
				name     string
				new, old float64
			}{{"validation_roc_auc", in.metrics.ROCAUC, old.ROCAUC}, {"validation_pr_auc", in.metrics.PRAUC, old.PRAUC}} {
				add(GateCheck{Name: m.name, Passed: !(m.new < m.old-tol), Value: ptr(m.new), Limit: ptr(m.old - tol),
					Detail: fmt.Sprintf("%.4f against %.4f for %s on the same %d validation rows (tolerance %g)", m.new, m.old, base.runID, len(in.valLabels), tol)})
			}
		}
	}

	// Stricter checks, on request.
	if g.MaxAlertRate > 0 {
		own := pipeline.AlertRate(in.valScores, in.model.Threshold)
		c := GateCheck{Name: "alert_rate", Value: ptr(own), Limit: ptr(g.MaxAlertRate)}
		c.Detail = fmt.Sprintf("alerts on %.4f of its validation rows", own)
		worst := own
		if base.sample != nil && sameSchema {
			onBase := pipeline.AlertRate(in.model.ScoreRows(flatten(base.sample.Rows)), in.model.Threshold)
			c.Detail += fmt.Sprintf(" and %.4f of %s's validation sample", onBase, base.runID)
			worst = math.Max(own, onBase)
			c.Value = ptr(worst)
		}
		c.Passed = !(worst > g.MaxAlertRate)
		add(c)
	}
	if g.MaxScoreDrift > 0 && base.model != nil && base.sample != nil && sameSchema {
		ks := pipeline.KSStatistic(base.sample.Scores, base.model.ScoreRows(in.val))
		add(GateCheck{Name: "score_drift", Passed: !(ks > g.MaxScoreDrift), Value: ptr(ks), Limit: ptr(g.MaxScoreDrift),
			Detail: fmt.Sprintf("%s scores this run's validation rows with a Kolmogorov–Smirnov distance of %.4f from its own validation rows", base.runID, ks)})
	}
	rec.finish()
	return rec
}

func (r *GateRecord) finish() {
	r.Decision = DecisionPromoted
	if len(r.Reasons) > 0 {
		r.Decision = DecisionRejected
	}
}

// schemaDiff says how two feature lists differ.
func schemaDiff(old, new []string) string {
	var missing, added []string
	for _, f := range old {
		if !slices.Contains(new, f) {
			missing = append(missing, f)
		}
	}
	for _, f := range new {
		if !slices.Contains(old, f) {
			added = append(added, f)
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(added) > 0 {
		parts = append(parts, "new "+strings.Join(added, ", "))
	}
	if len(parts) == 0 {
		return "the same names in another order"
	}
	return fmt.Sprintf("%s (%d features, was %d)", strings.Join(parts, "; "), len(new), len(old))
}

func countNonFinite(v []float32) int {
	n := 0
	for _, s := range v {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			n++
		}
	}
	return n
}

func flatten(rows [][]float32) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func ptr(v float64) *float64 { return &v }

// readRecord reads run.json from a run directory.
func readRecord(dir string) (*RunRecord, error) {
	b, err := regfile.ReadFile(filepath.Join(dir, RecordFile), maxModelBytes)
	if err != nil {
		return nil, err
	}
	var rec RunRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, RecordFile), err)
	}
	return &rec, nil
}

// readValidationSample reads a validation sample (verify reads the one
// beside --model); bounded as a model is.
func readValidationSample(path string) (*ValidationSample, error) {
	b, err := regfile.ReadFile(path, maxModelBytes)
	if err != nil {
		return nil, err
	}
	var s ValidationSample
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(s.Rows) != len(s.Scores) {
		return nil, fmt.Errorf("%s: %d rows but %d scores", path, len(s.Rows), len(s.Scores))
	}
	return &s, nil
}

// artifactSHA returns the recorded SHA-256 of the named artifact.
func (r *RunRecord) artifactSHA(name string) string {
	for _, a := range r.Artifacts {
		if a.Name == name {
			return a.SHA256
		}
	}
	return ""
}
