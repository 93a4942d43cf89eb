package main

import (
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/pipeline"
)

// tieTable is a table in which every distinct row is repeated many times,
// as in real exports full of duplicate rows: 120 ordinary rows 16 times
// each, 8 near-copies of one unusual row (their scores a few float32 ulps
// apart, inside the score tolerance of each other) 16 times each, and one
// far row 64 times (3 % of the table, at the top of the scores). With half
// the rows held out for validation every distinct row is among the
// validation rows (a row missing has odds 0.5^16), so every row of the table
// scores like some validation row.
type tieTable struct {
	names  []string
	rows   [][]float64 // in file order
	labels []float64   // 1 for the unusual and far rows
}

func makeTieTable() tieTable {
	rng := rand.New(rand.NewSource(12))
	const d = 4
	var distinct [][]float64
	var distinctLabels []float64
	var copies []int
	add := func(row []float64, label float64, n int) {
		distinct = append(distinct, row)
		distinctLabels = append(distinctLabels, label)
		copies = append(copies, n)
	}
	for range 120 {
		row := make([]float64, d)
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		add(row, 0, 16)
	}
	for i := range 8 {
		add([]float64{3 + float64(i)*1e-6, -3, 3, -3}, 1, 16)
	}
	add([]float64{5, 5, -5, 5}, 1, 64)

	var tab tieTable
	for j := range d {
		tab.names = append(tab.names, "f"+strconv.Itoa(j))
	}
	for i, row := range distinct {
		for range copies[i] {
			tab.rows = append(tab.rows, row)
			tab.labels = append(tab.labels, distinctLabels[i])
		}
	}
	rng.Shuffle(len(tab.rows), func(a, b int) {
		tab.rows[a], tab.rows[b] = tab.rows[b], tab.rows[a]
		tab.labels[a], tab.labels[b] = tab.labels[b], tab.labels[a]
	})
	return tab
}

// write writes the table with a 0/1 "label" column.
func (tab tieTable) write(t *testing.T, dir string) string {
	t.Helper()
	var cols []column
	for j, name := range tab.names {
		cols = append(cols, column{name: name, vals: seq(len(tab.rows), func(i int) float64 { return tab.rows[i][j] })})
	}
	cols = append(cols, column{name: "label", vals: tab.labels})
	return writeParquet(t, dir, "ties.parquet", cols)
}

// features returns the rows as the float32 values the model reads.
func (tab tieTable) features() []float32 {
	x := make([]float32, 0, len(tab.rows)*len(tab.names))
	for _, row := range tab.rows {
		for _, v := range row {
			x = append(x, float32(v))
		}
	}
	return x
}

// TestTiesSameFlagsEverywhere trains with each threshold method on a table
// of duplicate rows, ties at the top of the scores and near-ties, then
// scores the whole table with vaejob score, the onnx package's evaluator
// (onnx-go) and ONNX Runtime, and checks that is_anomaly is the same on
// every row, and that no row scores within the tolerance of the threshold.
func TestTiesSameFlagsEverywhere(t *testing.T) {
	tab := makeTieTable()
	dir := t.TempDir()
	input := tab.write(t, dir)
	x := tab.features()
	n, d := len(tab.rows), len(tab.names)
	rowsFile := filepath.Join(dir, "rows.f32")
	writeRows(t, rowsFile, x)

	tiesAtMethodValue := 0 // rows that score exactly the method's own value, over all runs
	compared := 0          // runs that reached the comparison (not skipped)
	runs := []struct {
		method string
		extra  []string
	}{
		{"quantile:0.99", []string{"--exclude", "label"}},
		{"quantile:0.9", []string{"--exclude", "label"}},
		{"contamination:0.05", []string{"--exclude", "label"}},
		{"mad:3", []string{"--exclude", "label"}},
		{"quantile:0.99", []string{"--label-column", "label", "--train-on", "normal"}},
		{"f1", []string{"--label-column", "label"}},
		{"recall:0.5", []string{"--label-column", "label"}},
		{"recall:1", []string{"--label-column", "label"}},
		{"precision:0.9", []string{"--label-column", "label"}},
	}
	for i, run := range runs {
		method := run.method
		name := method
		if slices.Contains(run.extra, "--train-on") {
			name += " on normal rows"
		}
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, "out"+strconv.Itoa(i))
			args := append([]string{"train", "--input", input, "--out", out, "--seed", "1", "--run-id", "r",
				"--steps", "60", "--validation-fraction", "0.5", "--threshold", method}, run.extra...)
			if r := vaejob(t, args...); r.code != 0 {
				t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
			}
			runDir := filepath.Join(out, "runs", "r")
			model := filepath.Join(runDir, "model.onnx")
			m, data := readModel(t, model)
			threshold := m.Threshold
			rec := readThresholdRecord(t, filepath.Join(runDir, "run.json"))
			if rec.Value != threshold {
				t.Errorf("run.json threshold %v, the model's %v", rec.Value, threshold)
			}

			// vaejob score.
			scored := filepath.Join(dir, "scores"+strconv.Itoa(i)+".csv")
			if r := vaejob(t, "score", "--model", model, "--input", input, "--output", scored); r.code != 0 {
				t.Fatalf("score exit %d:\n%s", r.code, r.stderr)
			}
			_, rows := readCSVScores(t, scored)
			if len(rows) != n {
				t.Fatalf("vaejob score wrote %d rows, want %d", len(rows), n)
			}
			goScores, goFlags := make([]float32, n), make([]bool, n)
			for i, r := range rows {
				s, err := strconv.ParseFloat(r[0], 32)
				if err != nil {
					t.Fatal(err)
				}
				goScores[i], goFlags[i] = float32(s), r[1] == "true"
			}

			// onnx-go.
			g, err := onnx.DecodeGraph(data)
			if err != nil {
				t.Fatal(err)
			}
			goxScores, goxFlags, err := g.Run(x, n)
			if err != nil {
				t.Fatal(err)
			}

			// ONNX Runtime.
			res := scoreWithORT(t, model, rowsFile, d)
			if len(res.ScoreBits) != n || len(res.IsAnomaly) != n {
				t.Fatalf("ONNX Runtime gave %d scores and %d flags, want %d", len(res.ScoreBits), len(res.IsAnomaly), n)
			}

			var near, differ, alerts, scoreDiffs, ties int
			var maxRel float64
			for i, s := range goScores {
				ort := math.Float32frombits(res.ScoreBits[i])
				for _, other := range []float32{ort, goxScores[i]} {
					if !onnx.ScoresAgree(other, s) {
						scoreDiffs++
					}
					maxRel = math.Max(maxRel, math.Abs(float64(other)-float64(s))/math.Max(1, math.Abs(float64(s))))
				}
				if math.Abs(float64(s)-float64(threshold)) <= pipeline.ScoreMargin(s) {
					near++
				}
				if s == rec.MethodValue {
					ties++
				}
				if goFlags[i] != res.IsAnomaly[i] || goFlags[i] != goxFlags[i] {
					differ++
					if differ <= 5 {
						t.Errorf("row %d: is_anomaly vaejob score %v, onnx-go %v, ONNX Runtime %v; scores %v, %v, %v; threshold %v",
							i, goFlags[i], goxFlags[i], res.IsAnomaly[i], s, goxScores[i], ort, threshold)
					}
				}
				if goFlags[i] {
					alerts++
				}
			}
			tiesAtMethodValue += ties
			compared++
			t.Logf("threshold %v (%s, method value %v, %d validation rows moved): %d of %d rows alert, %d tie at the method value; max relative score difference %.3g",
				threshold, rec.Placement, rec.MethodValue, rec.MovedRows, alerts, n, ties, maxRel)
			if differ > 0 {
				t.Errorf("is_anomaly differs between runtimes on %d of %d rows", differ, n)
			}
			if near > 0 {
				t.Errorf("%d of %d rows score within the tolerance of the threshold %v", near, n, threshold)
			}
			if scoreDiffs > 0 {
				t.Errorf("%d scores disagree beyond the tolerance between runtimes", scoreDiffs)
			}
		})
	}
	// The table is meant to put ties at the thresholds: if no run found
	// any, the test would prove nothing.
	if compared > 0 && tiesAtMethodValue == 0 {
		t.Error("no row scored exactly a method's own value: the table no longer puts ties at the threshold")
	}
}

// thresholdRecordJSON is the part of run.json's threshold record this test
// reads.
type thresholdRecordJSON struct {
	Value       float32 `json:"value"`
	MethodValue float32 `json:"method_value"`
	Placement   string  `json:"placement"`
	MovedRows   int     `json:"moved_rows"`
}

func readThresholdRecord(t *testing.T, path string) thresholdRecordJSON {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Threshold thresholdRecordJSON `json:"threshold"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Threshold
}
