package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// spikeTable is a table of n rows: two varying features a and b, z that
// is 0 on four rows in five and between 1 and 3 on the others (a count
// that is mostly zero), and flag, 0 on three rows in five and 1 on the
// others.
func spikeTable(n int) []column {
	return append(goodColumns(n)[:2],
		column{name: "z", vals: seq(n, func(i int) float64 {
			if i%5 != 4 {
				return 0
			}
			return 1 + float64(i%3)
		})},
		column{name: "flag", vals: seq(n, func(i int) float64 {
			if i%5 < 3 {
				return 0
			}
			return 1
		})})
}

// TestSpikeFeatures trains the default and default-v1 presets, and each
// with --spikes turned the other way, on a table
// with a mostly-zero count and a flag: the default scores both as spike
// features (run.json and the file's metadata list them; a row that leaves
// a spike scores higher by at least its cost; vaejob score, onnx-go and
// ONNX Runtime agree on every row); default-v1 has none.
func TestSpikeFeatures(t *testing.T) {
	dir := t.TempDir()
	input := writeParquet(t, dir, "spike.parquet", spikeTable(500))
	for _, tc := range []struct {
		args   []string
		spikes []string
	}{
		{[]string{"--preset", "default"}, []string{"z", "flag"}},
		{[]string{"--preset", "default-v1"}, nil},
		{[]string{"--spikes", "off"}, nil},
		{[]string{"--preset", "default-v1", "--spikes", "on"}, []string{"z", "flag"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := t.TempDir()
			if r := vaejob(t, trainArgs(input, out, tc.args...)...); r.code != 0 {
				t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
			}
			b, err := os.ReadFile(filepath.Join(out, "latest", "run.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Config struct {
					Spikes string `json:"spikes"`
				} `json:"config"`
				SpikeFeatures []struct {
					Name  string   `json:"name"`
					Value *float32 `json:"value"`
					Share float64  `json:"share"`
					Cost  float32  `json:"cost"`
				} `json:"spike_features"`
			}
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "on", false: "off"}[tc.spikes != nil]; rec.Config.Spikes != want {
				t.Errorf("config.spikes %q, want %q", rec.Config.Spikes, want)
			}
			if len(rec.SpikeFeatures) != len(tc.spikes) {
				t.Fatalf("spike_features %+v, want %v", rec.SpikeFeatures, tc.spikes)
			}
			costs := map[string]float32{}
			for i, f := range rec.SpikeFeatures {
				// The training rows are 80 % of 500, drawn at random: the
				// shares are near 0.8 and 0.6.
				want := []float64{0.8, 0.6}[i]
				if f.Name != tc.spikes[i] || f.Value == nil || *f.Value != 0 || math.Abs(f.Share-want) > 0.05 ||
					math.Abs(float64(f.Cost)-math.Log(f.Share/(1-f.Share))) > 1e-5 {
					t.Errorf("spike feature %d: %+v (value %v), want %s at 0 on about %.0f %% of rows", i, f, f.Value, tc.spikes[i], 100*want)
				}
				costs[f.Name] = f.Cost
			}
			model := filepath.Join(out, "latest", "model.onnx")
			m, _ := readModel(t, model)
			if len(m.Spikes) != len(tc.spikes) {
				t.Errorf("the file has %d spike features, want %v", len(m.Spikes), tc.spikes)
			}
			for i, s := range m.Spikes {
				if i < len(tc.spikes) && m.Features[s.Feature] != tc.spikes[i] {
					t.Errorf("the file's spike feature %d is %s, want %s", i, m.Features[s.Feature], tc.spikes[i])
				}
			}
			if r := vaejob(t, "verify", "--model", model); r.code != 0 {
				t.Errorf("verify exit %d:\n%s", r.code, r.stderr)
			}

			// Rows to serve: rows on both spikes, and the same rows with z
			// off its spike (at 2, an ordinary value off it).
			n := 50
			on := spikeTable(n)
			for i := range on[2].vals {
				on[2].vals[i], on[3].vals[i] = 0, 0
			}
			off := spikeTable(n)
			for i := range off[2].vals {
				off[2].vals[i], off[3].vals[i] = 2, 0
			}
			var all []column
			for j := range on {
				all = append(all, column{name: on[j].name, vals: append(append([]float64(nil), on[j].vals...), off[j].vals...)})
			}
			serve := writeParquet(t, t.TempDir(), "serve.parquet", all)
			scores, _ := threeRuntimes(t, model, serve)
			for i := 0; i < n; i++ {
				if !(scores[n+i] >= scores[i]+costs["z"]) {
					t.Errorf("row %d: off the spike of z scores %v, on it %v; want at least %v more", i, scores[n+i], scores[i], costs["z"])
				}
			}
			if tc.spikes == nil {
				return
			}
			// --explain names z's spike as what the model expected of it.
			explained := filepath.Join(t.TempDir(), "explained.csv")
			if r := vaejob(t, "score", "--model", model, "--input", serve, "--output", explained, "--explain", "4"); r.code != 0 {
				t.Fatalf("score --explain exit %d:\n%s", r.code, r.stderr)
			}
			header, rows := readCSVScores(t, explained)
			ei := slices.Index(header, "explain")
			for i, r := range rows[n:] {
				if !strings.Contains(r[ei], "z=2 (expected 0, share ") {
					t.Errorf("row %d off the spike of z: explanation %q, want z=2 expected 0", n+i, r[ei])
					break
				}
			}
		})
	}
}

// TestImputedValuesMakeNoSpike trains on a continuous column missing on
// three rows in five under --missing impute-median: the imputed medians
// hold most rows, but they are not observed values, and no spike feature
// is found.
func TestImputedValuesMakeNoSpike(t *testing.T) {
	n := 500
	cols := goodColumns(n)[:2]
	c := column{name: "c", vals: seq(n, func(i int) float64 { return math.Sin(float64(i) * 0.7) }), null: make([]bool, n)}
	for i := range c.null {
		if i%5 < 3 {
			c.null[i], c.vals[i] = true, math.NaN()
		}
	}
	input := writeParquet(t, t.TempDir(), "missing.parquet", append(cols, c))
	out := t.TempDir()
	if r := vaejob(t, trainArgs(input, out, "--missing", "impute-median")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "latest", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "spike_features") {
		t.Errorf("run.json lists spike features; the imputed medians made one:\n%s", b)
	}
	if m, _ := readModel(t, filepath.Join(out, "latest", "model.onnx")); len(m.Spikes) != 0 || m.Imputation == nil {
		t.Errorf("the model has spikes %+v (imputation %v)", m.Spikes, m.Imputation)
	}
}
