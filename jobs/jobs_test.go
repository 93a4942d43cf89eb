package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaejob/vaejob/pipeline/vae"
)

func TestResolve(t *testing.T) {
	base := func() TrainOptions { return TrainOptions{Inputs: []string{"in.parquet"}, Out: "out"} }
	tests := []struct {
		name   string
		modify func(*TrainOptions)
		check  func(ResolvedConfig) bool
		errMsg string // "" = no error
	}{
		{"defaults", func(*TrainOptions) {}, func(c ResolvedConfig) bool {
			return c.Preset == "default" && c.Likelihood == "laplace" && c.Scaler == "robust" && c.Beta.Get() == 4 && c.Objective == "elbo" && c.Steps.Get() == 2000 &&
				c.ValidationFraction.Get() == 0.2 && c.Threshold == "quantile:0.99" && c.TrainOn == "all"
		}, ""},
		{"tutorial", func(o *TrainOptions) { o.Preset = "tutorial" }, func(c ResolvedConfig) bool {
			return c.Epochs.Get() == 100 && c.Steps.Get() == 0 && c.BatchSize.Get() == 256 && c.LatentDim.Get() == 10 && c.LearningRate.Get() == 1e-3 &&
				slices.Equal(c.Hidden, []int{32, 16}) && c.Likelihood == "bernoulli" && c.Objective == "tutorial" &&
				c.ScoreKind == "mse_mu" && c.Trim.Get() == 0
		}, ""},
		{"model knobs", func(o *TrainOptions) {
			o.ModelOptions = ModelOptions{Hidden: []int{8}, ScoreKind: "nll_mu", Steps: OptionalOf(500), Beta: OptionalOf(0.5), Trim: OptionalOf(0.0)}
		}, func(c ResolvedConfig) bool {
			return slices.Equal(c.Hidden, []int{8}) && c.ScoreKind == "nll_mu" && c.Steps.Get() == 500 && c.Beta.Get() == 0.5 && c.Trim.Get() == 0 && c.Trim.IsSet()
		}, ""},
		{"bad knob", func(o *TrainOptions) { o.Likelihood = "poisson" }, nil, "unknown likelihood"},
		{"score needs gaussian", func(o *TrainOptions) { o.Preset, o.ScoreKind = "tutorial", "elbo_mu" }, nil, "needs the gaussian or laplace likelihood"},
		{"tutorial with overrides", func(o *TrainOptions) {
			o.Preset, o.Epochs, o.BatchSize, o.LatentDim, o.LearningRate = "tutorial", OptionalOf(7), OptionalOf(64), OptionalOf(3), OptionalOf(0.01)
		}, func(c ResolvedConfig) bool {
			return c.Preset == "tutorial" && c.Epochs.Get() == 7 && c.BatchSize.Get() == 64 && c.LatentDim.Get() == 3 && c.LearningRate.Get() == 0.01
		}, ""},
		{"no input", func(o *TrainOptions) { o.Inputs = nil }, nil, "--input is required"},
		{"no out", func(o *TrainOptions) { o.Out = "" }, nil, "--out is required"},
		{"features and exclude", func(o *TrainOptions) { o.Features, o.Exclude = []string{"a"}, []string{"b"} }, nil, "cannot be used together"},
		{"unknown preset", func(o *TrainOptions) { o.Preset = "big" }, nil, "unknown preset"},
		{"negative epochs", func(o *TrainOptions) { o.Epochs = OptionalOf(-1) }, nil, "--epochs -1: want a positive number"},
		{"zero learning rate", func(o *TrainOptions) { o.LearningRate = OptionalOf(0.0) }, nil, "--learning-rate 0: want a positive number"},
		{"zero validation fraction", func(o *TrainOptions) { o.ValidationFraction = OptionalOf(0.0) }, nil, "--validation-fraction 0: want a positive number"},
		{"fraction too big", func(o *TrainOptions) { o.ValidationFraction = OptionalOf(1.0) }, nil, "--validation-fraction"},
		{"bad threshold", func(o *TrainOptions) { o.Threshold = "top:5" }, nil, "unknown method"},
		{"bad run id", func(o *TrainOptions) { o.RunID = "a/b" }, nil, "run id"},
		{"fused trainer", func(o *TrainOptions) { o.Trainer = "fused" }, func(c ResolvedConfig) bool { return c.Trainer == "fused" && c.vae.Fused }, ""},
		{"graph trainer", func(o *TrainOptions) { o.Trainer = "graph" }, func(c ResolvedConfig) bool { return c.Trainer == "graph" && !c.vae.Fused }, ""},
		{"unknown trainer", func(o *TrainOptions) { o.Trainer = "gpu" }, nil, "--trainer"},
		{"default: spike features on", func(*TrainOptions) {}, func(c ResolvedConfig) bool { return c.Spikes == "on" && c.vae.Spikes }, ""},
		{"default-v1: off", func(o *TrainOptions) { o.Preset = "default-v1" }, func(c ResolvedConfig) bool {
			return c.Preset == "default-v1" && c.Spikes == "off" && !c.vae.Spikes && c.Likelihood == "laplace" && c.Steps.Get() == 2000
		}, ""},
		{"tutorial: off", func(o *TrainOptions) { o.Preset = "tutorial" }, func(c ResolvedConfig) bool { return c.Spikes == "off" && !c.vae.Spikes }, ""},
		{"--spikes off", func(o *TrainOptions) { o.Spikes = "off" }, func(c ResolvedConfig) bool { return c.Spikes == "off" && !c.vae.Spikes }, ""},
		{"--spikes on over tutorial's gaussian", func(o *TrainOptions) {
			o.Preset, o.Spikes, o.Likelihood, o.ScoreKind = "tutorial", "on", "gaussian", "nll_mu"
		},
			func(c ResolvedConfig) bool { return c.Spikes == "on" && c.vae.Spikes }, ""},
		{"default with --score mse_mu: spikes off", func(o *TrainOptions) { o.ScoreKind = "mse_mu" }, func(c ResolvedConfig) bool { return c.Spikes == "off" && !c.vae.Spikes }, ""},
		{"default with --likelihood bernoulli: spikes off", func(o *TrainOptions) { o.Likelihood, o.ScoreKind = "bernoulli", "mse_mu" },
			func(c ResolvedConfig) bool { return c.Spikes == "off" && !c.vae.Spikes }, ""},
		{"--spikes on with mse_mu", func(o *TrainOptions) { o.Spikes, o.ScoreKind = "on", "mse_mu" }, nil, "--spikes on needs"},
		{"unknown --spikes", func(o *TrainOptions) { o.Spikes = "yes" }, nil, "--spikes"},
		{"bad filter", func(o *TrainOptions) { o.Filter = "a = " }, nil, "--filter"},
		{"bad missing policy", func(o *TrainOptions) { o.Missing = "zero" }, nil, "--missing"},
		{"negative keep", func(o *TrainOptions) { o.Keep = -1 }, nil, "--keep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.modify(&o)
			c, err := o.resolve()
			if tc.errMsg != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.errMsg) {
					t.Fatalf("err = %v, want a usage error mentioning %q", err, tc.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("resolved config %+v", c)
			}
		})
	}
}

func TestRunIDs(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	a, b := NewRunID(t0), NewRunID(t0.Add(time.Millisecond))
	if !(a < b) {
		t.Errorf("run ids do not sort by time: %s, %s", a, b)
	}
	if NewRunID(t0) == a {
		t.Error("two run ids of the same millisecond are equal")
	}
	for _, id := range []string{a, "scheduled__2026-11-24T00:00:00+00:00", "manual-1", "r1"} {
		if err := CheckRunID(id); err != nil {
			t.Errorf("CheckRunID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "latest", "../x", "a/b", ".hidden", strings.Repeat("x", 129), "a b"} {
		if err := CheckRunID(id); !errors.Is(err, ErrUsage) {
			t.Errorf("CheckRunID(%q) accepted", id)
		}
	}
}

func TestCreateAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	for _, content := range []string{"first", "second"} {
		err := createAtomic(diskFS, path, 0o644, func(w io.Writer) error {
			_, err := io.WriteString(w, content)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("content %q, want %q", got, content)
		}
	}
	failing := errors.New("disk on fire")
	err := createAtomic(diskFS, path, 0o644, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return failing
	})
	if !errors.Is(err, failing) {
		t.Fatalf("err = %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "second" {
		t.Errorf("a failed write changed the file to %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed write left files behind: %v", entries)
	}
}

func TestSwapLatest(t *testing.T) {
	out := viewOut(t.TempDir())
	for _, run := range []string{"a", "b"} {
		if err := out.swapLatest(run); err != nil {
			t.Fatal(err)
		}
		if got, err := out.latest(); got != run || err != nil {
			t.Errorf("latest = %q, %v; want %q", got, err, run)
		}
	}
	if entries, _ := os.ReadDir(out.root); len(entries) != 1 {
		t.Errorf("temporary links left behind: %v", entries)
	}
}

func TestLabelsFromNumbers(t *testing.T) {
	nums := []float64{0, 1, 0, 1}
	tests := []struct {
		normal string
		want   []bool
		bad    bool
	}{
		{"", []bool{false, true, false, true}, false},
		{"0", []bool{false, true, false, true}, false},
		{"1", []bool{true, false, true, false}, false},
		{"false", []bool{false, true, false, true}, false}, // a boolean column reads as 0/1
		{"true", []bool{true, false, true, false}, false},
		{"benign", nil, true},
		{"7", nil, true}, // no row has the normal value
	}
	for _, tc := range tests {
		got, err := Labels{Column: "y", Normal: tc.normal}.fromNumbers(nums)
		if tc.bad != (err != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("normal %q: %v, %v", tc.normal, got, err)
		}
	}
}

func TestProgress(t *testing.T) {
	stats := func(epoch int) vae.EpochStats { return vae.EpochStats{Epoch: epoch, Steps: epoch * 2, Loss: 1} }

	var term bytes.Buffer
	p := newProgressTo(&term, nil, 3, 100)
	for e := 1; e <= 3; e++ {
		p.epoch(stats(e))
	}
	p.done()
	// Redraws are throttled to ten a second; the last epoch is always drawn.
	for _, want := range []string{"\repoch 3/3  step 6", "rows/s", "ETA"} {
		if !strings.Contains(term.String(), want) {
			t.Errorf("terminal output lacks %q: %q", want, term.String())
		}
	}
	if !strings.HasSuffix(term.String(), "\n") {
		t.Error("the status line is not ended when training is done")
	}

	var logs bytes.Buffer
	p = newProgressTo(nil, slog.New(slog.NewTextHandler(&logs, nil)), 100, 10)
	for e := 1; e <= 100; e++ {
		p.epoch(stats(e))
	}
	// The first epoch, then one line per tenth of the run (10, 20, …, 100).
	if n := strings.Count(logs.String(), "msg=epoch"); n != 11 {
		t.Errorf("%d log lines for 100 epochs, want 11:\n%s", n, logs.String())
	}
}

// TestChangedFiles: a file that grew, was touched, went away or appeared
// while a run read it is named; an unchanged set is not.
func TestChangedFiles(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	before := map[string]fileState{"a": {10, t0}, "b": {20, t0}}
	digested := []InputFile{{Path: "a", Size: 10}, {Path: "b", Size: 20}}
	for _, tc := range []struct {
		name     string
		after    map[string]fileState
		digested []InputFile
		want     string
	}{
		{"unchanged", map[string]fileState{"a": {10, t0}, "b": {20, t0}}, digested, ""},
		{"grew", map[string]fileState{"a": {11, t0}, "b": {20, t0}}, digested, "a"},
		{"touched", map[string]fileState{"a": {10, t0}, "b": {20, t0.Add(time.Second)}}, digested, "b"},
		{"went away", map[string]fileState{"a": {10, t0}}, digested, "b"},
		{"appeared", map[string]fileState{"a": {10, t0}, "b": {20, t0}, "c": {1, t0}}, digested, "c (a new file)"},
		{"digested another size", map[string]fileState{"a": {10, t0}, "b": {20, t0}}, []InputFile{{Path: "a", Size: 10}, {Path: "b", Size: 25}}, "b"},
	} {
		if got := changedFiles(before, tc.after, tc.digested); got != tc.want {
			t.Errorf("%s: changedFiles = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestRunConfigKeys: run.json's config is the resolved TrainOptions; its
// keys stay those of schema 3, whatever field holds them.
func TestRunConfigKeys(t *testing.T) {
	o := TrainOptions{Inputs: []string{"in.parquet"}, Out: "out", RunID: "r", Force: true, ConfigFile: "job.yaml",
		Features: []string{"a"}, Labels: Labels{Column: "y", Normal: "ok"}, Filter: "a > 0", MaxRows: 100,
		TimeColumn: "t", Keep: 2, Timeout: time.Minute, Gate: GateOptions{MaxAlertRate: 0.5, MaxScoreDrift: 0.1}}
	c, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []string{"batch_size", "beta", "constant_columns", "digest", "epochs", "features", "filter", "gate", "hidden",
		"init", "keep", "label_column", "latent_dim", "learning_rate", "likelihood", "logvar_bound", "max_rows", "missing",
		"normal_value", "objective", "preset", "scaler", "score_kind", "seed", "spikes", "steps", "threshold", "time_column", "timeout",
		"train_on", "trainer", "trim", "trim_from", "validation_fraction", "warmup_steps"}
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
		t.Errorf("config keys\n got %v\nwant %v", keys, want)
	}
	if string(got["timeout"]) != `"1m0s"` || string(got["gate"]) != `{"allow_schema_change":false,"min_rows_fraction":0.5,"max_metric_drop":0.05,"max_alert_rate":0.5,"max_score_drift":0.1}` {
		t.Errorf("timeout %s, gate %s", got["timeout"], got["gate"])
	}
	var back RunRecord
	if err := json.Unmarshal([]byte(`{"config":`+string(b)+`}`), &back); err != nil || back.Config.Steps.Get() != 2000 || !back.Config.Steps.IsSet() {
		t.Errorf("read back: steps %v, %v", back.Config.Steps, err)
	}
}

func TestCheck(t *testing.T) {
	base := func() TrainOptions {
		return TrainOptions{Inputs: []string{"train.parquet"}, Out: filepath.Join(t.TempDir(), "out")}
	}
	tests := []struct {
		name string
		set  func(*TrainOptions)
		want string // "" for no error
	}{
		{"defaults", func(*TrainOptions) {}, ""},
		{"unknown preset", func(o *TrainOptions) { o.Preset = "nope" }, `unknown preset "nope"`},
		{"bad trim", func(o *TrainOptions) { o.Trim.Set("2") }, "trim 2: want a fraction"},
		{"no input", func(o *TrainOptions) { o.Inputs = nil }, "--input is required"},
	}
	for _, tt := range tests {
		o := base()
		tt.set(&o)
		err := o.Check()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (!errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want a usage error with %q", tt.name, err, tt.want)
		}
		if tt.want == "" {
			if _, err := os.Stat(o.Out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: Check touched --out: %v", tt.name, err)
			}
		}
	}
}
