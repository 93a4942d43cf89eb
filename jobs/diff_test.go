package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaejob/vaejob/pipeline"
	"github.com/vaejob/vaejob/pipeline/vae"
)

// diffRecord is the record of a plausible unlabelled run on four
// features, promoted over night-01.
func diffRecord(t *testing.T, id string) *RunRecord {
	t.Helper()
	o := TrainOptions{Inputs: []string{"demo.parquet"}, Out: "out", Exclude: []string{"patient_id", "diagnosis"}, Seed: 2}
	cfg, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	below, above := float32(58.991924), float32(62.41811)
	finished := time.Date(2026, 12, 5, 2, 31, 4, 0, time.UTC)
	return &RunRecord{
		Schema: RunRecordSchema, RunID: id, Status: StatusSucceeded,
		StartedAt: finished.Add(-90 * time.Second), FinishedAt: finished, Config: cfg,
		Inputs:   []InputFile{{Path: "demo.parquet", Size: 94964, SHA256: "98ed46113ce5017055f8c800ef40263822c1d17b6c9ba3a209210f2e7ebe4f43"}},
		Rows:     RowCounts{Read: 569, Matched: 569, Kept: 569, Used: 569, Train: 455, Validation: 114},
		Features: []string{"mean_radius", "mean_texture", "mean_area", "worst_area"},
		Skipped:  []SkippedCol{}, Missing: &MissingRecord{Policy: MissingFail, PerColumn: map[string]int{}},
		ConstantFeatures: []ConstantFeature{},
		Training: TrainingRecord{BatchSize: 256, Steps: 300, Epochs: []vae.EpochStats{
			{Epoch: 1, Loss: 12.5, Reconstruction: 11.9, KL: 0.6, ValReconstruction: 12.1, ValKL: 0.61, ValLoss: 14.5, Steps: 2},
			{Epoch: 150, Loss: -3.25, Reconstruction: -4.5, KL: 1.25, ValReconstruction: -2.75, ValKL: 1.3, ValLoss: 2.5, Steps: 300},
		}},
		Latent: pipeline.LatentStats{MeanVariance: []float64{0.5, 0.01}, Active: 1},
		Threshold: ThresholdRecord{Value: 60.705017, Method: "quantile:0.99", MethodValue: 60.705017, Placement: "between",
			ScoreBelow: &below, ScoreAbove: &above, ValidationRows: 114, ValidationAlerts: 2,
			ValidationScores: map[string]float32{"min": 13.249386, "p50": 34.17579, "p99": 60.705017, "max": 310.4493}},
		Gate: &GateRecord{Decision: "promoted", Baseline: "night-01", Checks: []GateCheck{
			{Name: "finite_scores", Passed: true, Value: ptr(0), Limit: ptr(0), Detail: "0 of 228 checked rows score NaN or ±Inf"},
			{Name: "schema", Passed: true, Detail: "the same 4 features as night-01"},
		}},
		Timings:   Timings{Read: 0.2, Train: 88, Export: 0.1, Total: 90},
		Versions:  Versions{Vaejob: Version, Go: "go1.26.0", Gorgonia: "v0.9.18", Kernel: "amd64-go"},
		Artifacts: []Artifact{{Name: ModelFile, Size: 5, SHA256: sha256Hex([]byte("model"))}},
	}
}

// intactSide is a run's side of a diff with its files intact.
func intactSide(rec *RunRecord) DiffSide {
	return DiffSide{Ref: rec.RunID, RunID: rec.RunID, Status: rec.Status, FinishedAt: rec.FinishedAt, Intact: true, record: rec}
}

// rejected makes rec a run the gate rejected for its features.
func rejected(rec *RunRecord) {
	rec.Status = StatusRejected
	rec.Gate.Decision = "rejected"
	rec.Gate.Checks[1] = GateCheck{Name: "schema", Passed: false, Detail: "missing mean_texture"}
	rec.Gate.Checks = append(rec.Gate.Checks, GateCheck{Name: "training_rows", Passed: true, Value: ptr(455), Limit: ptr(228)})
	rec.Gate.Reasons = []string{"schema: missing mean_texture"}
}

// labelled makes rec a run trained with labels.
func labelled(rec *RunRecord) {
	rec.Config.Labels = Labels{Column: "diagnosis", Normal: "benign"}
	rec.Config.Exclude = []string{"patient_id"}
	rec.Labels = &LabelRecord{Column: "diagnosis", NormalValue: "benign", TrainOn: TrainOnAll, TrainAnomalies: 168, ValidationAnomalies: 44}
	rec.ValidationMetrics = &LabelMetrics{Rows: 114, Anomalies: 44, ROCAUC: 0.9725585149313963, PRAUC: 0.9428250990216248,
		At: pipeline.Confusion{TP: 18, FP: 2, TN: 57, FN: 3, Precision: 0.9, Recall: 0.8571428571428571, F1: 0.8780487804878048}}
}

func TestDiffRuns(t *testing.T) {
	tests := []struct {
		name   string
		change func(b *RunRecord)
		// differ are the fields that must differ: each differing path is
		// one of them or below one, and each has a differing path.
		differ   []string
		features FeatureDiff
	}{
		{name: "equal runs", change: func(*RunRecord) {}},
		{name: "times, timings and learnt numbers are not compared", change: func(b *RunRecord) {
			b.RunID, b.FinishedAt, b.Timings.Total = "other", b.FinishedAt.Add(time.Hour), 12
			b.Latent.MeanVariance[0] = 0.7
			b.Training.Epochs[0].Loss = 99 // not the final epoch
			b.Artifacts[0].SHA256 = sha256Hex([]byte("another model"))
		}},
		{name: "a changed setting", change: func(b *RunRecord) { b.Config.Seed = 3 }, differ: []string{"config.seed"}},
		{name: "a changed gate limit", change: func(b *RunRecord) { b.Config.Gate.MaxAlertRate = 0.3 }, differ: []string{"config.gate.max_alert_rate"}},
		{name: "another input", change: func(b *RunRecord) { b.Inputs[0].SHA256, b.Inputs[0].Size = "0f16", 94000 },
			differ: []string{"inputs.0.sha256", "inputs.0.size_bytes"}},
		{name: "an added feature", change: func(b *RunRecord) { b.Features = append(b.Features, "worst_texture") },
			differ: []string{"features"}, features: FeatureDiff{Added: []string{"worst_texture"}}},
		{name: "a removed feature", change: func(b *RunRecord) { b.Features = slices.Delete(b.Features, 1, 2) },
			differ: []string{"features"}, features: FeatureDiff{Removed: []string{"mean_texture"}}},
		{name: "reordered features", change: func(b *RunRecord) { b.Features[0], b.Features[1] = b.Features[1], b.Features[0] },
			differ: []string{"features"}, features: FeatureDiff{Reordered: []string{"mean_texture", "mean_radius"}}},
		{name: "a constant feature", change: func(b *RunRecord) {
			b.ConstantFeatures = []ConstantFeature{{Name: "worst_area", Value: 1, DepartureScale: 0.5}}
		}, differ: []string{"constant_features.worst_area.value", "constant_features.worst_area.departure_scale"}},
		{name: "a moved threshold", change: func(b *RunRecord) { b.Threshold.Value, b.Threshold.ValidationAlerts = 61, 3 },
			differ: []string{"threshold.value", "threshold.validation_alerts"}},
		{name: "a final loss", change: func(b *RunRecord) { b.Training.Epochs[1].Loss = -3.5 }, differ: []string{"training.final_epoch.loss"}},
		{name: "rejected versus promoted", change: rejected,
			differ: []string{"status", "gate.decision", "gate.reasons", "gate.checks.schema.passed",
				"gate.checks.training_rows.passed", "gate.checks.training_rows.value", "gate.checks.training_rows.limit"}},
		{name: "labelled versus unlabelled", change: labelled,
			differ: []string{"config.label_column", "config.normal_value", "config.exclude", "labels", "validation_metrics"}},
		{name: "another version", change: func(b *RunRecord) { b.Versions.Go = "go1.26.1" }, differ: []string{"versions.go"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := diffRecord(t, "night-02"), diffRecord(t, "night-03")
			tc.change(b)
			d, err := diffRuns(intactSide(a), intactSide(b))
			if err != nil {
				t.Fatal(err)
			}
			var differing []string
			for _, f := range d.Fields {
				if f.Differ {
					differing = append(differing, f.Path)
					if !underAny(f.Path, tc.differ) {
						t.Errorf("%s differs (%s against %s); want only %v to differ", f.Path, f.A, f.B, tc.differ)
					}
				}
			}
			for _, want := range tc.differ {
				if !slices.ContainsFunc(differing, func(p string) bool { return underAny(p, []string{want}) }) {
					t.Errorf("%s does not differ; differing: %v", want, differing)
				}
			}
			if d.Differing != len(differing) {
				t.Errorf("Differing = %d, want %d", d.Differing, len(differing))
			}
			want := FeatureDiff{Added: orEmpty(tc.features.Added), Removed: orEmpty(tc.features.Removed), Reordered: orEmpty(tc.features.Reordered)}
			if !slices.Equal(d.Features.Added, want.Added) || !slices.Equal(d.Features.Removed, want.Removed) || !slices.Equal(d.Features.Reordered, want.Reordered) {
				t.Errorf("features: %+v, want %+v", d.Features, want)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestDiffFields checks the shape of the fields: every path once, in its
// section, in the order of diffSections; a field one run lacks is null
// on its side; numbers compare by value.
func TestDiffFields(t *testing.T) {
	a, b := diffRecord(t, "night-02"), diffRecord(t, "night-03")
	labelled(b)
	b.Missing.PerColumn["mean_area"] = 3
	d, err := diffRuns(intactSide(a), intactSide(b))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	last := 0
	for _, f := range d.Fields {
		if seen[f.Path] {
			t.Errorf("%s is compared twice", f.Path)
		}
		seen[f.Path] = true
		if sec := sectionOf(f.Path); diffSections[sec].Name != f.Section || sec < last {
			t.Errorf("%s is in section %s, after section %s", f.Path, f.Section, diffSections[last].Name)
		} else {
			last = sec
		}
	}
	field := func(path string) FieldDiff {
		i := slices.IndexFunc(d.Fields, func(f FieldDiff) bool { return f.Path == path })
		if i < 0 {
			t.Fatalf("no field %s", path)
		}
		return d.Fields[i]
	}
	if f := field("validation_metrics.roc_auc"); string(f.A) != "null" || string(f.B) != "0.9725585149313963" || !f.Differ {
		t.Errorf("validation_metrics.roc_auc: %+v, want null against B's ROC-AUC", f)
	}
	if f := field("threshold.value"); string(f.A) != "60.705017" || f.Differ {
		t.Errorf("threshold.value: %+v", f)
	}
	for path, want := range map[string]string{
		"config.gate.max_metric_drop": "gate-max-metric-drop", "config.label_column": "label-column",
		"inputs.0.sha256": "input 1 SHA-256", "gate.checks.finite_scores.passed": "check finite_scores passed",
		"training.final_epoch.validation_kl": "final validation KL", "validation_metrics.at_threshold.f1": "at threshold F1",
		"threshold.validation_score_quantiles.p99": "validation score p99", "rows.train": "train",
		"labels.anomalies_in_validation_split": "label anomalies in validation split",
		"missing.per_column.mean_area":         "missing values in mean_area", "missing.rows_dropped": "rows dropped for missing values",
	} {
		if got := field(path).label; got != want {
			t.Errorf("label of %s = %q, want %q", path, got, want)
		}
	}
	if !sameJSON(json.RawMessage("1"), json.RawMessage("1.0")) || sameJSON(json.RawMessage(`"1"`), json.RawMessage("1")) {
		t.Error("sameJSON compares numbers by value and nothing else")
	}
}

// TestDiffText pins the text and JSON of runs diff in golden files
// (testdata/diff; rewrite with -update).
func TestDiffText(t *testing.T) {
	base := diffRecord(t, "night-02")
	changed := diffRecord(t, "night-03")
	rejected(changed)
	labelled(changed)
	changed.Config.Seed = 3
	changed.Features = slices.Delete(changed.Features, 1, 2)
	changed.Features = append(changed.Features, "worst_texture")
	changed.Threshold.Value, changed.Threshold.ValidationAlerts = 0.0017, 40
	changed.Inputs[0].Path = "/data/2026-12-05/demo.parquet"
	changed.Training.Epochs[1].Loss = -3.5
	changed.Config.Missing = MissingDropRows
	changed.Missing = &MissingRecord{Policy: MissingDropRows, PerColumn: map[string]int{"mean_area": 3}, RowsWithMissing: 3, RowsDropped: 3}
	changed.Rows.Used, changed.Rows.Train = 566, 452
	damaged := intactSide(changed)
	damaged.Ref, damaged.Latest = "latest", true
	damaged.Intact, damaged.Problems = false, []string{"model.onnx does not match its recorded SHA-256"}

	d, err := diffRuns(intactSide(base), damaged)
	if err != nil {
		t.Fatal(err)
	}
	same, err := diffRuns(intactSide(base), intactSide(base))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "diff/changed.txt.golden", d.Text(false))
	checkGolden(t, "diff/changed_all.txt.golden", d.Text(true))
	checkGolden(t, "diff/changed.json.golden", string(js)+"\n")
	checkGolden(t, "diff/equal.txt.golden", same.String())
}

// writeDiffRun writes a run folder holding run.json and its artifact
// model.onnx.
func writeDiffRun(t *testing.T, out string, rec *RunRecord) {
	t.Helper()
	dir := filepath.Join(out, "runs", rec.RunID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ModelFile), []byte("model"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, RecordFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiffRunsOnDisk reads the runs of an output folder: latest names
// the run it points at, a damaged run is compared and flagged, and the
// runs that cannot be compared are usage errors or bad input.
func TestDiffRunsOnDisk(t *testing.T) {
	out := t.TempDir()
	a, b := diffRecord(t, "night-02"), diffRecord(t, "night-03")
	b.Config.Seed = 3
	writeDiffRun(t, out, a)
	writeDiffRun(t, out, b)
	if _, err := DiffRuns(out, "night-02", latestName); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "no latest run yet") {
		t.Errorf("latest before there is one: %v, want a usage error", err)
	}
	if err := os.Symlink(filepath.Join("runs", "night-03"), filepath.Join(out, latestName)); err != nil {
		t.Fatal(err)
	}
	d, err := DiffRuns(out, "night-02", latestName)
	if err != nil {
		t.Fatal(err)
	}
	if d.B.RunID != "night-03" || d.B.Ref != latestName || !d.B.Latest || !d.A.Intact || !d.B.Intact || d.Differing != 1 {
		t.Errorf("diff against latest: A %+v, B %+v, %d differing", d.A, d.B, d.Differing)
	}

	if err := os.WriteFile(filepath.Join(out, "runs", "night-03", ModelFile), []byte("MODEL"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = DiffRuns(out, "night-02", "night-03")
	if err != nil {
		t.Fatalf("a damaged run is still compared: %v", err)
	}
	if d.B.Intact || len(d.B.Problems) == 0 || !strings.Contains(d.Text(false), "DAMAGED") || !strings.Contains(d.Text(false), "does not match its recorded SHA-256") {
		t.Errorf("a damaged run is not flagged:\n%s", d.Text(false))
	}

	if err := os.MkdirAll(filepath.Join(out, "runs", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, a, b string
		want       error
		msg        string
	}{
		{"missing run", "night-02", "night-09", ErrUsage, "no run night-09"},
		{"missing first run", "night-09", "night-02", ErrUsage, "no run night-09"},
		{"bad run id", "../night-02", "night-02", ErrUsage, "run id"},
		{"no run.json", "night-02", "empty", ErrBadInput, "run empty cannot be compared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DiffRuns(out, tc.a, tc.b); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
	if _, err := DiffRuns(filepath.Join(out, "nowhere"), "night-02", "night-03"); !errors.Is(err, ErrUsage) {
		t.Errorf("a missing --out: %v, want a usage error", err)
	}
}

// FuzzFlattenJSON flattens any JSON: it must not panic, and every leaf
// must hold valid JSON that is not an object (objects are flattened) but
// at the depth limit.
func FuzzFlattenJSON(f *testing.F) {
	rec, err := json.Marshal(&RunRecord{Features: []string{"a", "b"}, Gate: &GateRecord{Checks: []GateCheck{{Name: "schema"}}}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(rec), `{"a":[{"name":"x","v":1},{"name":"x"}]}`, `[1,[2],{"a":null}]`, `{"a":{"b":[]}}`, `[{"name":1},3]`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) {
			return
		}
		var leaves []leaf
		if err := flattenJSON(nil, json.RawMessage(doc), &leaves); err != nil {
			return
		}
		for _, l := range leaves {
			object := bytes.HasPrefix(bytes.TrimSpace(l.value), []byte("{"))
			if !json.Valid(l.value) || object && strings.Count(l.path, ".") < maxFlattenDepth-1 {
				t.Errorf("leaf %s holds %q", l.path, l.value)
			}
		}
	})
}

func TestDiffValueText(t *testing.T) {
	long := `["mean_radius","mean_texture","mean_perimeter","mean_area","mean_smoothness"]`
	tests := []struct {
		path, a, b   string
		wantA, wantB string
		change       string
	}{
		{"threshold.value", "60.705017", "61.25", "60.705", "61.25", "+0.545 (+0.9%)"},
		{"threshold.value", "0.10000001", "0.1", "0.10000001", "0.1", "-1e-08 (-0.0%)"},
		{"rows.train", "455", "452", "455", "452", "-3"},
		{"config.seed", "0", "3", "0", "3", "+3"},
		{"config.learning_rate", "0", "0.001", "0", "0.001", "+0.001"},
		{"config.exclude", `["patient_id","diagnosis"]`, `["patient_id"]`, "patient_id, diagnosis", "patient_id", "-diagnosis"},
		{"config.features", long, `["mean_radius","worst_area"]`, "5 values", "mean_radius, worst_area", "+worst_area, -mean_texture, -mean_perimeter, -mean_area, -mean_smoothness"},
		{"config.hidden", "[64,32]", "[32,16]", "64, 32", "32, 16", ""},
		{"gate.reasons", "null", `["schema: missing a"]`, "—", "schema: missing a", ""},
		{"inputs.0.sha256", `"98ed46113ce5017055f8c800ef40263822c1d17b6c9ba3a209210f2e7ebe4f43"`, `"0f16"`, "98ed46113ce50170…", "0f16", ""},
		{"gate.checks.schema.passed", "true", "false", "true", "false", ""},
	}
	for _, tc := range tests {
		a, b := json.RawMessage(tc.a), json.RawMessage(tc.b)
		if got := valueText(tc.path, a, b); got != tc.wantA {
			t.Errorf("%s: A %s reads %q, want %q", tc.path, tc.a, got, tc.wantA)
		}
		if got := valueText(tc.path, b, a); got != tc.wantB {
			t.Errorf("%s: B %s reads %q, want %q", tc.path, tc.b, got, tc.wantB)
		}
		if got := change(a, b); got != tc.change {
			t.Errorf("%s: change from %s to %s reads %q, want %q", tc.path, tc.a, tc.b, got, tc.change)
		}
	}
}

// ExampleDiffRuns compares two runs of an output folder, the second one
// latest, and prints what differs.
func ExampleDiffRuns() {
	out, err := os.MkdirTemp("", "vaejob-diff-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(out)
	model := []byte("model")
	for _, run := range []struct {
		id, threshold string
		value         float64
	}{{"night-01", "quantile:0.99", 0.157871}, {"night-02", "quantile:0.9", 0.136659}} {
		dir := filepath.Join(out, "runs", run.id)
		rec := map[string]any{
			"run_id": run.id, "status": "succeeded", "finished_at": "2026-12-05T02:30:00Z",
			"config":    map[string]any{"preset": "tutorial", "seed": 0, "threshold": run.threshold},
			"features":  []string{"mean_radius", "mean_texture"},
			"threshold": map[string]any{"value": run.value, "method": run.threshold},
			"artifacts": []Artifact{{Name: ModelFile, Size: int64(len(model)), SHA256: sha256Hex(model)}},
		}
		b, _ := json.Marshal(rec)
		if err := errors.Join(os.MkdirAll(dir, 0o755), os.WriteFile(filepath.Join(dir, ModelFile), model, 0o644),
			os.WriteFile(filepath.Join(dir, RecordFile), b, 0o644)); err != nil {
			panic(err)
		}
	}
	if err := os.Symlink(filepath.Join("runs", "night-02"), filepath.Join(out, "latest")); err != nil {
		panic(err)
	}
	d, err := DiffRuns(out, "night-01", "latest")
	if err != nil {
		panic(err)
	}
	fmt.Print(d.Text(false))
	// Output:
	// A: night-01          B: night-02
	//    status     succeeded            succeeded, latest
	//    finished   2026-12-05 02:30:00  2026-12-05 02:30:00
	//    files      intact               intact
	//
	// 3 of 51 fields differ; 27 of 28 settings equal
	//
	// settings: 1 differs, 27 equal
	// *  threshold  quantile:0.99        quantile:0.9
	//
	// inputs: none in either run
	// rows: all 6 equal
	// features: equal
	//
	// threshold: 2 differ, 5 equal
	// *  value      0.157871             0.136659             -0.02121 (-13.4%)
	// *  method     quantile:0.99        quantile:0.9
	//
	// validation metrics: none in either run
	// gate: equal
	// training: all 3 equal
	// versions: all 5 equal
}
