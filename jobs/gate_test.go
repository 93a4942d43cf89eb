package jobs

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaejob/vaejob/pipeline"
)

// centreModel returns a model whose score is the mean squared distance of a
// row to centre (its decoder ignores the latent), with the given threshold.
func centreModel(features []string, centre, threshold float32) *pipeline.Model {
	d := len(features)
	zero := func(in, out int, act pipeline.Activation) pipeline.Dense {
		return pipeline.Dense{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out), Activation: act}
	}
	m := &pipeline.Model{Features: features, Score: pipeline.ScoreMSE, Threshold: threshold}
	m.Scaler = pipeline.Scaler{Kind: pipeline.ScalerMinMax}
	for range d {
		m.Scaler.Min = append(m.Scaler.Min, 0)
		m.Scaler.Max = append(m.Scaler.Max, 1)
		m.Scaler.Offset = append(m.Scaler.Offset, 0)
		m.Scaler.Scale = append(m.Scaler.Scale, 1)
	}
	m.Encoder = []pipeline.Dense{zero(d, 2, pipeline.ReLU)}
	m.Mu, m.LogVar = zero(2, 1, pipeline.Identity), zero(2, 1, pipeline.Identity)
	out := zero(1, d, pipeline.Identity)
	for j := range out.B {
		out.B[j] = centre
	}
	m.Decoder = []pipeline.Dense{out}
	return m
}

// values returns its arguments as one-feature rows.
func values(v ...float32) []float32 { return v }

func TestGate(t *testing.T) {
	ab := []string{"a"}
	// Validation rows: four normal near 0, two anomalies at 5 and 6.
	val := values(0, 0.1, -0.1, 0.2, 5, 6)
	labels := []bool{false, false, false, false, true, true}
	good := centreModel(ab, 0, 1)    // ranks the anomalies first
	inverse := centreModel(ab, 6, 1) // ranks them last
	metricsOf := func(m *pipeline.Model) *LabelMetrics {
		lm, err := labelMetrics(m.ScoreRows(val), labels, m.Threshold)
		if err != nil {
			t.Fatal(err)
		}
		return lm
	}
	base := func() *baseline {
		return &baseline{
			runID:  "old",
			record: &RunRecord{Features: ab, Rows: RowCounts{Train: 100}},
			model:  good,
			sample: &ValidationSample{Features: ab, Rows: [][]float32{{0}, {0.1}, {-0.1}}, Scores: good.ScoreRows(values(0, 0.1, -0.1))},
		}
	}
	input := func(m *pipeline.Model, trainRows int, withLabels bool) gateInput {
		in := gateInput{model: m, rows: RowCounts{Train: trainRows}, val: val, valScores: m.ScoreRows(val)}
		if withLabels {
			in.valLabels, in.metrics = labels, metricsOf(m)
		}
		return in
	}
	f := OptionalOf[float64]
	nanModel := centreModel(ab, float32(math.NaN()), 1)
	for _, tc := range []struct {
		name   string
		opts   GateOptions
		in     gateInput
		base   *baseline
		reject string // the failed check, "" when promoted
	}{
		{"first run", GateOptions{}, input(good, 10, false), nil, ""},
		{"first run with NaN scores", GateOptions{}, input(nanModel, 10, false), nil, "finite_scores"},
		{"same schema, enough rows", GateOptions{}, input(good, 90, false), base(), ""},
		{"schema change", GateOptions{}, input(centreModel([]string{"b"}, 0, 1), 90, false), base(), "schema"},
		{"schema change allowed", GateOptions{AllowSchemaChange: true}, input(centreModel([]string{"b"}, 0, 1), 90, false), base(), ""},
		{"half partition", GateOptions{}, input(good, 40, false), base(), "training_rows"},
		{"row check off", GateOptions{MinRowsFraction: f(0)}, input(good, 40, false), base(), ""},
		{"worse on labels", GateOptions{}, input(inverse, 100, true), base(), "validation_roc_auc"},
		{"as good on labels", GateOptions{}, input(good, 100, true), base(), ""},
		{"worse, within a wide tolerance", GateOptions{MaxMetricDrop: f(1)}, input(inverse, 100, true), base(), ""},
		{"alerts too often", GateOptions{MaxAlertRate: 0.2}, input(centreModel(ab, 0, 0.001), 100, false), base(), "alert_rate"},
		{"alert rate within limit", GateOptions{MaxAlertRate: 0.5}, input(good, 100, false), base(), ""},
		{"score drift", GateOptions{MaxScoreDrift: 0.3}, input(good, 100, false), base(), "score_drift"},
		{"NaN on latest's rows", GateOptions{}, input(nanModel, 100, false), base(), "finite_scores"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := runGate(tc.opts, tc.in, tc.base)
			if tc.reject == "" {
				if rec.Decision != DecisionPromoted {
					t.Fatalf("rejected: %v", rec.Reasons)
				}
				return
			}
			if rec.Decision != DecisionRejected || len(rec.Reasons) == 0 || !strings.HasPrefix(rec.Reasons[0], tc.reject+":") {
				t.Fatalf("decision %s, reasons %v; want a rejection by %s", rec.Decision, rec.Reasons, tc.reject)
			}
		})
	}
}

func TestGateOptionsCheck(t *testing.T) {
	f := OptionalOf[float64]
	for _, g := range []GateOptions{
		{MinRowsFraction: f(-0.1)}, {MinRowsFraction: f(1.5)}, {MaxMetricDrop: f(math.NaN())},
		{MaxAlertRate: 2}, {MaxScoreDrift: -1},
	} {
		if err := g.check(); !errors.Is(err, ErrUsage) {
			t.Errorf("%+v: error %v, want a usage error", g, err)
		}
	}
	if err := (GateOptions{}).check(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestLockOut(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	log := slog.New(slog.DiscardHandler)
	first, err := openOut(out, "train", "a", log)
	if err != nil {
		t.Fatal(err)
	}
	_, err = openOut(out, "train", "b", log)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "run a") {
		t.Fatalf("second lock: %v, want ErrLocked naming run a", err)
	}
	first.close()
	second, err := openOut(out, "train", "b", log)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	second.close()
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("the lock left %v behind in a --out it created", entries)
	}
}

func TestAuditSurvivesATornLine(t *testing.T) {
	out := viewOut(t.TempDir())
	if err := out.appendAudit(AuditEvent{Action: ActionPromoted, RunID: "a"}); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of the next write.
	f, err := os.OpenFile(out.auditPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"action":"prom`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := out.appendAudit(AuditEvent{Action: ActionRejected, RunID: "b"}); err != nil {
		t.Fatal(err)
	}
	evs, torn, err := out.readAudit()
	if err != nil || torn != 1 || len(evs) != 2 || evs[0].RunID != "a" || evs[1].RunID != "b" {
		t.Fatalf("readAudit = %+v, torn %d, %v; want events a and b and one torn line", evs, torn, err)
	}
}

// TestOwnedFilesRefuseLinks: a symbolic link or a FIFO planted at the lock
// file or the audit log inside --out is refused (a usage error) before
// anything is written, and the file a link points to is left as it was.
func TestOwnedFilesRefuseLinks(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name, file string
		fifo       bool
	}{
		{"lock is a link", LockFile, false},
		{"audit log is a link", AuditFile, false},
		{"lock is a FIFO", LockFile, true},
		{"audit log is a FIFO", AuditFile, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(dir, "victim.txt")
			if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			at := filepath.Join(out, tc.file)
			if tc.fifo {
				if err := mkfifo(at); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
			} else if err := os.Symlink(victim, at); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				d, err := openOut(out, "train", "r", log)
				if err == nil {
					err = d.appendAudit(AuditEvent{Action: ActionPromoted, RunID: "r"})
					d.close()
				}
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("blocked on the planted file")
			}
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("err = %v, want a usage error naming %s", err, tc.file)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("the link's target now holds %q", b)
			}
		})
	}
}

// TestRunsOnAFile: vaejob runs list, runs show and promote given a file
// for --out are usage errors (exit 2), not internal ones.
func TestRunsOnAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, listErr := ListRuns(file)
	_, showErr := ShowRun(file, "r1")
	_, promoteErr := Promote(context.Background(), PromoteOptions{Out: file, RunID: "r1"})
	for name, err := range map[string]error{"runs list": listErr, "runs show": showErr, "promote": promoteErr} {
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "is a file") {
			t.Errorf("%s --out FILE: %v, want a usage error saying it is a file", name, err)
		}
	}
}
