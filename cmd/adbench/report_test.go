package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func splitOf(dataset string, seed int, roc, baseROC float64) split {
	return split{
		dataset: dataset, seed: seed, jobSeed: int64(seed), hasBaseline: true,
		model:    measurement{figures: figures{roc: roc, pr: roc / 2, trainSeconds: 4, scoreNsRow: 3000}, active: seed},
		baseline: measurement{figures: figures{roc: baseROC, pr: baseROC / 2, trainSeconds: 2, scoreNsRow: 1000}},
	}
}

func TestSummarizeFloors(t *testing.T) {
	failed := splitOf("fault", 2, 0.9, 0.9)
	failed.baseline.err = errors.New("boom")
	rep := summarize([]split{
		splitOf("Cardiotocography", 0, 0.79, 0.62), // centroid 0.806: floor 0.786
		splitOf("Cardiotocography", 1, 0.77, 0.63), // mean 0.780: below
		splitOf("fault", 0, 0.40, 0.45),            // baseline 0.45: floor 0.441 (centroid's 0.441 too)
		splitOf("fault", 1, 0.50, 0.55),            // mean 0.450, floor max(0.441, 0.45) = 0.45: not below
		failed,                                     // counts for neither preset
		splitOf("mnist", 0, 0.83, 0.90),            // floor 0.85 from the baseline: below
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
	rep := summarize([]split{withoutBaseline(splitOf("glass", 0, 0.55, 0))})
	if len(rep.rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rep.rows))
	}
	if got := rep.rows[0].floor; !near(got, 0.576-0.02) {
		t.Errorf("floor = %.4f, want the centroid's 0.556", got)
	}
	if !rep.rows[0].below() {
		t.Error("0.55 is below the floor 0.556")
	}
}

func withoutBaseline(s split) split {
	s.hasBaseline, s.baseline = false, measurement{}
	return s
}

// TestSummarizeFailedTable keeps a table whose every run failed as a row
// with no runs, out of the means and of the floors.
func TestSummarizeFailedTable(t *testing.T) {
	bad := splitOf("glass", 0, 0, 0)
	bad.model.err = errors.New("boom")
	rep := summarize([]split{bad, splitOf("WBC", 0, 0.99, 0.99)})
	if rep.failed != 1 || len(rep.rows) != 2 || rep.rows[0].runs != 0 || rep.rows[0].below() {
		t.Fatalf("failed %d, rows %+v", rep.failed, rep.rows)
	}
	if m, _, ref, n := rep.mean(func(tableRow) bool { return true }); n != 1 || !near(m.roc, 0.99) || !near(ref[2], 0.999) {
		t.Errorf("mean over %d tables: ROC %.3f, centroid %.3f; want WBC's alone", n, m.roc, ref[2])
	}
	var b bytes.Buffer
	rep.print(&b, "candidate", "default")
	for _, want := range []string{"| glass | A | 0 | failed |", "no run of glass succeeded"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestHalvesCoverReference checks that the two selection halves split the
// reference tables: each in exactly one half, none left out.
func TestHalvesCoverReference(t *testing.T) {
	seen := map[string]int{}
	for _, h := range halves {
		if len(h) != 10 {
			t.Errorf("a half of %d tables, want 10", len(h))
		}
		for _, name := range h {
			seen[name]++
		}
	}
	for name := range reference {
		if seen[name] != 1 {
			t.Errorf("%s is in %d halves", name, seen[name])
		}
	}
	if len(seen) != len(reference) {
		t.Errorf("halves name %d tables, the reference %d", len(seen), len(reference))
	}
}

func TestPrintGolden(t *testing.T) {
	splits := []split{
		splitOf("Cardiotocography", 0, 0.79, 0.62),
		splitOf("Cardiotocography", 1, 0.77, 0.63),
		splitOf("fault", 0, 0.40, 0.45),
		splitOf("mnist", 0, 0.83, 0.90),
		splitOf("thyroid", 0, 0.99, 0.99),
	}
	var plain []split
	for _, s := range splits {
		plain = append(plain, withoutBaseline(s))
	}
	for _, c := range []struct {
		name, baseline string
		splits         []split
	}{{"report-baseline", "default", splits}, {"report", "", plain}} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			summarize(c.splits).print(&b, "candidate", c.baseline)
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

func TestSummarizeOrder(t *testing.T) {
	// Case-insensitive order, and one order for names that differ only in
	// case, whatever order the runs come in.
	names := []string{"glass", "Glass", "ALOI", "WBC", "annthyroid"}
	want := []string{"ALOI", "annthyroid", "Glass", "glass", "WBC"}
	for shift := range names {
		var tasks []split
		for i := range names {
			tasks = append(tasks, splitOf(names[(i+shift)%len(names)], 0, 0.5, 0.5))
		}
		var got []string
		for _, row := range summarize(tasks).rows {
			got = append(got, row.dataset)
		}
		if !slices.Equal(got, want) {
			t.Errorf("runs from %s: rows %v, want %v", names[shift], got, want)
		}
	}
}

func TestListSplits(t *testing.T) {
	data := t.TempDir()
	for _, dir := range []string{"glass/seed0", "glass/seed1", "glass/seedx", "WBC/seed0", "elsewhere/seed0"} {
		if err := os.MkdirAll(filepath.Join(data, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "README.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(data, "elsewhere"), filepath.Join(data, "linked")); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)

	tests := []struct {
		only    string
		repeats int
		want    []string // dataset/seed/jobSeed
		err     string
	}{
		{"", 1, []string{"WBC/0/0", "elsewhere/0/0", "glass/0/0", "glass/1/1"}, ""},
		{"glass", 2, []string{"glass/0/0", "glass/0/1000", "glass/1/1", "glass/1/1001"}, ""},
		{"glass,Glass", 1, nil, `--datasets: no dataset folder "Glass"`},
		{"linked", 1, nil, `--datasets: no dataset folder "linked"`},
	}
	for _, tt := range tests {
		got, err := listSplits(bench{data: data, only: tt.only, repeats: tt.repeats})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("--datasets %q: error %v, want %q", tt.only, err, tt.err)
			}
			continue
		}
		var names []string
		for _, s := range got {
			names = append(names, fmt.Sprintf("%s/%d/%d", s.dataset, s.seed, s.jobSeed))
		}
		slices.Sort(names)
		if err != nil || !slices.Equal(names, tt.want) {
			t.Errorf("--datasets %q: %v, %v; want %v", tt.only, names, err, tt.want)
		}
	}
	for _, want := range []string{"skipping " + filepath.Join(data, "linked") + ": a symbolic link, not followed", "skipping " + filepath.Join(data, "glass", "seedx") + ": not a split folder"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
}
