package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLabelledTraining trains on the demo table with its diagnosis as the
// label, on normal rows only, with a label-based threshold, and checks what
// run.json and vaejob evaluate report.
func TestLabelledTraining(t *testing.T) {
	out := t.TempDir()
	r := vaejob(t, trainArgs(demo, out, "--exclude", "patient_id", "--label-column", "diagnosis", "--normal-value", "benign",
		"--train-on", "normal", "--threshold", "f1", "--run-id", "lab")...)
	if r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "runs", "lab", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Features []string `json:"features"`
		Rows     struct{ Train, Validation int }
		Labels   struct {
			TrainAnomalies      int `json:"anomalies_in_training_split"`
			ValidationAnomalies int `json:"anomalies_in_validation_split"`
		} `json:"labels"`
		Metrics *struct {
			Rows      int     `json:"rows"`
			Anomalies int     `json:"anomalies"`
			ROC       float64 `json:"roc_auc"`
			PR        float64 `json:"pr_auc"`
			At        struct {
				TP, FP, TN, FN int
				F1             float64 `json:"f1"`
			} `json:"at_threshold"`
		} `json:"validation_metrics"`
		Threshold struct{ Method string } `json:"threshold"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	for _, f := range rec.Features {
		if f == "diagnosis" || f == "patient_id" {
			t.Errorf("feature %q should not be one", f)
		}
	}
	// 569 rows: 114 validation rows, 455 training rows of which the
	// anomalies are dropped for --train-on normal.
	if rec.Rows.Validation != 114 || rec.Rows.Train != 455-rec.Labels.TrainAnomalies || rec.Labels.TrainAnomalies+rec.Labels.ValidationAnomalies != 212 {
		t.Errorf("rows %+v, labels %+v", rec.Rows, rec.Labels)
	}
	m := rec.Metrics
	if m == nil {
		t.Fatal("no validation_metrics in run.json")
	}
	if m.Rows != 114 || m.Anomalies != rec.Labels.ValidationAnomalies || m.At.TP+m.At.FN != m.Anomalies || m.At.TP+m.At.FP+m.At.TN+m.At.FN != 114 {
		t.Errorf("validation metrics %+v", *m)
	}
	if !(m.ROC > 0.5 && m.ROC <= 1 && m.PR > 0 && m.PR <= 1 && m.At.F1 > 0) || rec.Threshold.Method != "f1" {
		t.Errorf("validation metrics %+v with threshold %s", *m, rec.Threshold.Method)
	}

	model := filepath.Join(out, "latest", "model.onnx")
	r = vaejob(t, "evaluate", "--model", model, "--input", demo, "--label-column", "diagnosis", "--normal-value", "benign", "--json")
	if r.code != 0 {
		t.Fatalf("evaluate exit %d:\n%s", r.code, r.stderr)
	}
	var ev struct {
		Rows, Anomalies int
		ROC             float64                      `json:"roc_auc"`
		At              struct{ TP, FP, TN, FN int } `json:"at_threshold"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("evaluate --json: %v\n%s", err, r.stdout)
	}
	if ev.Rows != 569 || ev.Anomalies != 212 || ev.At.TP+ev.At.FP+ev.At.TN+ev.At.FN != 569 || !(ev.ROC > 0.5) {
		t.Errorf("evaluate: %+v", ev)
	}
	if r := vaejob(t, "evaluate", "--model", model, "--input", demo, "--label-column", "diagnosis", "--normal-value", "benign"); r.code != 0 || !strings.Contains(r.stdout, "ROC-AUC") {
		t.Errorf("evaluate text output (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestTrainOnNormalQuantile checks that with --train-on normal a quantile
// threshold is set on the normal validation rows, and that run.json's
// threshold figures describe those rows.
func TestTrainOnNormalQuantile(t *testing.T) {
	out := t.TempDir()
	r := vaejob(t, trainArgs(demo, out, "--exclude", "patient_id", "--label-column", "diagnosis", "--normal-value", "benign",
		"--train-on", "normal", "--threshold", "quantile:0.9", "--run-id", "q")...)
	if r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "runs", "q", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Labels struct {
			ValidationAnomalies int `json:"anomalies_in_validation_split"`
		} `json:"labels"`
		Threshold struct {
			Value     float32            `json:"value"`
			Rows      int                `json:"validation_rows"`
			Quantiles map[string]float32 `json:"validation_score_quantiles"`
		} `json:"threshold"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if want := 114 - rec.Labels.ValidationAnomalies; rec.Threshold.Rows != want {
		t.Errorf("threshold chosen on %d rows, want the %d normal validation rows", rec.Threshold.Rows, want)
	}
	if rec.Threshold.Value > rec.Threshold.Quantiles["p95"] || rec.Threshold.Value < rec.Threshold.Quantiles["p75"] {
		t.Errorf("quantile:0.9 threshold %v outside [p75, p95] = [%v, %v] of the recorded rows",
			rec.Threshold.Value, rec.Threshold.Quantiles["p75"], rec.Threshold.Quantiles["p95"])
	}
}

func TestLabelMistakes(t *testing.T) {
	dir := t.TempDir()
	cols := goodColumns(60)
	cols = append(cols, column{name: "y", vals: seq(60, func(i int) float64 { return float64(i % 3) })}) // 0, 1, 2
	cols = append(cols, column{name: "flag", vals: seq(60, func(i int) float64 { return float64(i % 2) })})
	input := writeParquet(t, dir, "labels.parquet", cols)
	tests := []struct {
		name  string
		extra []string
		code  int
		want  string
	}{
		{"missing label column", []string{"--label-column", "nope"}, 3, "nope"},
		{"normal value never seen", []string{"--exclude", "y,flag", "--label-column", "tag", "--normal-value", "ok"}, 3, `normal value "ok"`},
		{"numeric label not 0/1", []string{"--exclude", "flag", "--label-column", "y"}, 3, "0 (normal) or 1 (anomaly)"},
		{"numeric label, text normal value", []string{"--exclude", "flag", "--label-column", "y", "--normal-value", "x"}, 2, "not a number"},
		{"train on normal without labels", []string{"--train-on", "normal"}, 2, "needs --label-column"},
		{"train on something else", []string{"--label-column", "flag", "--train-on", "some"}, 2, "want all or normal"},
		{"f1 without labels", []string{"--threshold", "f1"}, 2, "needs labels"},
		{"label among features", []string{"--features", "a,flag", "--label-column", "flag"}, 2, "must not be a feature"},
		{"normal value without column", []string{"--normal-value", "0"}, 2, "needs --label-column"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := vaejob(t, trainArgs(input, out, tc.extra...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d mentioning %q:\n%s", r.code, tc.code, tc.want, r.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("--out was created")
			}
		})
	}
	// A 0/1 column needs no --normal-value, and --exclude of the other
	// label-like column keeps it out of the features.
	out := filepath.Join(dir, "ok")
	if r := vaejob(t, trainArgs(input, out, "--exclude", "y,tag", "--label-column", "flag", "--threshold", "recall:0.5")...); r.code != 0 {
		t.Fatalf("0/1 label: exit %d:\n%s", r.code, r.stderr)
	}
	if r := vaejob(t, "evaluate", "--model", filepath.Join(out, "latest", "model.onnx"), "--input", input); r.code != 2 {
		t.Errorf("evaluate without --label-column: exit %d, want 2", r.code)
	}
}
