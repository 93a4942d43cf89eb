package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func run(dataset string, seed int, roc, baseROC float64) split {
	return split{
		dataset: dataset, seed: seed, jobSeed: int64(seed), hasBaseline: true,
		model:    measurement{figures: figures{roc: roc, pr: roc / 2, trainSeconds: 4, scoreNsRow: 3000}, active: seed},
		baseline: measurement{figures: figures{roc: baseROC, pr: baseROC / 2, trainSeconds: 2, scoreNsRow: 1000}},
	}
}

func TestSummarizeFloors(t *testing.T) {
	failed := run("fault", 2, 0.9, 0.9)
	failed.baseline.err = errors.New("boom")
	rep := summarize([]split{
		run("Cardiotocography", 0, 0.79, 0.62), // centroid 0.806: floor 0.786
		run("Cardiotocography", 1, 0.77, 0.63), // mean 0.780: below
		run("fault", 0, 0.40, 0.45),            // baseline 0.45: floor 0.441 (centroid's 0.441 too)
		run("fault", 1, 0.50, 0.55),            // mean 0.450, floor max(0.441, 0.45) = 0.45: not below
		failed,                                 // counts for neither preset
		run("mnist", 0, 0.83, 0.90),            // floor 0.85 from the baseline: below
	})
	if rep.failed != 1 {
		t.Errorf("failed = %d, want 1", rep.failed)
	}
	want := []struct {
		dataset, half string
		runs          int
		roc, floor    float64
		below         bool
	}{
		{"Cardiotocography", "A", 2, 0.78, 0.786, true},
		{"fault", "A", 2, 0.45, 0.45, false},
		{"mnist", "B", 1, 0.83, 0.85, true},
	}
	if len(rep.rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rep.rows), len(want))
	}
	for i, w := range want {
		r := rep.rows[i]
		if r.dataset != w.dataset || r.half != w.half || r.runs != w.runs || !near(r.model.roc, w.roc) || !near(r.floor, w.floor) || r.below() != w.below {
			t.Errorf("row %d = %s %s %d runs roc %.4f floor %.4f below %v, want %+v", i, r.dataset, r.half, r.runs, r.model.roc, r.floor, r.below(), w)
		}
	}
	m, b, _, n := rep.mean(func(r tableRow) bool { return r.half == "A" })
	if n != 2 || !near(m.roc, (0.78+0.45)/2) || !near(b.roc, (0.625+0.5)/2) {
		t.Errorf("half A mean = %.4f (baseline %.4f) over %d tables", m.roc, b.roc, n)
	}
}

func TestSummarizeWithoutBaseline(t *testing.T) {
	r := run("glass", 0, 0.55, 0)
	r.hasBaseline = false
	rep := summarize([]split{r})
	if got := rep.rows[0].floor; !near(got, 0.576-0.02) {
		t.Errorf("floor = %.4f, want the centroid's 0.556", got)
	}
	if !rep.rows[0].below() {
		t.Error("0.55 is below the floor 0.556")
	}
}

func TestPrintGolden(t *testing.T) {
	rep := summarize([]split{
		run("Cardiotocography", 0, 0.79, 0.62),
		run("Cardiotocography", 1, 0.77, 0.63),
		run("fault", 0, 0.40, 0.45),
		run("mnist", 0, 0.83, 0.90),
		run("thyroid", 0, 0.99, 0.99),
	})
	for _, c := range []struct{ name, baseline string }{{"report-baseline", "default"}, {"report", ""}} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			rep.print(&b, "candidate", c.baseline)
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("report differs from %s (go test -update rewrites it):\n%s", golden, b.String())
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
