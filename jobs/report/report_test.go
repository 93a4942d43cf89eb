package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vaejob/vaejob/jobs"
)

var update = flag.Bool("update", false, "rewrite the golden pages in testdata/")

// load reads a run.json fixture: first.json is a first run on the demo
// table (no labels, nothing replaced); labelled.json a labelled run gated
// against it.
func load(t *testing.T, name string) *jobs.RunRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var r jobs.RunRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// rich is the labelled run with every optional part run.json may hold:
// imputed, constant, spike, ignored and skipped features, a rejection, a config
// file, and strings a page must escape.
func rich(t *testing.T) *jobs.RunRecord {
	r := load(t, "labelled.json")
	r.Status = jobs.StatusRejected
	r.Gate.Decision = jobs.DecisionRejected
	r.Gate.Checks[1].Passed = false
	r.Gate.Checks[1].Detail = `features differ: <script>alert("x")</script>`
	r.Gate.Reasons = []string{"schema: " + r.Gate.Checks[1].Detail}
	r.Features[0] = `<img src=x onerror=alert(1)>`
	r.Features = append(r.Features, "flat", "empty")
	r.FeatureShares.Features[0].Name = r.Features[0]
	r.FeatureShares.Features = append(r.FeatureShares.Features, jobs.FeatureShare{Name: "flat", All: 0.5, Alerts: 40}, jobs.FeatureShare{Name: "empty"})
	r.ConstantFeatures = []jobs.ConstantFeature{{Name: "flat", Value: 3, DepartureScale: 0.5}, {Name: "dropped_flat", Value: 1, DepartureScale: 1}}
	r.ConstantInTraining = []string{"flat"}
	r.IgnoredFeatures = []string{"empty"}
	zero := float32(0)
	r.SpikeFeatures = []jobs.SpikeFeature{{Name: "mean_texture", Value: &zero, ScaledValue: -0.25, Share: 0.75, Cost: 1.0986123},
		{Name: "mean_area", ScaledValue: 0.125, Share: 0.5, Cost: 0}}
	r.Missing = &jobs.MissingRecord{Policy: "impute-median", PerColumn: map[string]int{"mean_texture": 4, "empty": 455},
		RowsWithMissing: 455, Values: map[string]float32{"mean_texture": 18.84}}
	r.Skipped = []jobs.SkippedCol{{Name: "comment & notes", Type: "utf8"}}
	r.ConfigFile = &jobs.InputFile{Path: "/etc/vaejob/job.yaml", Size: 321, SHA256: strings.Repeat("ab", 32)}
	r.Threshold.Histogram.Counts[2] = 400 // a crowded bin: the counts axis turns logarithmic
	return r
}

var cases = []struct {
	name     string
	run      func(*testing.T) *jobs.RunRecord
	replaced func(*testing.T) *jobs.RunRecord
	figures  []string // the data-figure names the page must hold
	absent   []string // section ids it must not hold
}{
	{"first", func(t *testing.T) *jobs.RunRecord { return load(t, "first.json") }, nil,
		[]string{"training-loss", "training-reconstruction", "training-kl", "scores", "tail", "feature-shares", "latent"}, []string{"labels", "changes"}},
	{"labelled-replaced", func(t *testing.T) *jobs.RunRecord { return load(t, "labelled.json") },
		func(t *testing.T) *jobs.RunRecord { return load(t, "first.json") },
		[]string{"training-loss", "training-reconstruction", "training-kl", "scores", "tail", "feature-shares", "latent", "roc", "precision-recall"}, nil},
	{"labelled-replaced-unreadable", func(t *testing.T) *jobs.RunRecord { return load(t, "labelled.json") }, nil,
		[]string{"scores", "roc", "precision-recall"}, nil},
	{"rich-rejected", rich, func(t *testing.T) *jobs.RunRecord { return load(t, "first.json") },
		[]string{"scores", "tail", "feature-shares", "latent", "roc", "precision-recall"}, nil},
}

func TestPageGolden(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var replaced *jobs.RunRecord
			if tc.replaced != nil {
				replaced = tc.replaced(t)
			}
			page, err := HTML(tc.run(t), replaced)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".golden.html")
			if *update {
				if err := os.WriteFile(path, page, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./jobs/report -update)", err)
			}
			if !bytes.Equal(page, want) {
				t.Errorf("%s differs from the page drawn now; look at both, then go test ./jobs/report -update", path)
			}
			checkPage(t, string(page), tc.figures, tc.absent)
		})
	}
}

var (
	svgElem    = regexp.MustCompile(`(?s)<svg [^>]*data-figure="([^"]+)".*?</svg>`)
	fetching   = regexp.MustCompile(`<[a-zA-Z][^>]*\ssrc=[^>]*>`)
	drawnShape = regexp.MustCompile(`(?s)<g data-role="data">(.*?)</g>`)
	shapeTag   = regexp.MustCompile(`<(path|rect|circle) `)
)

// checkPage checks that every figure named is drawn (a line of at least
// two points, a bar of some height, or a dot), that the sections absent
// are, and that nothing is fetched or run.
func checkPage(t *testing.T, page string, figures, absent []string) {
	t.Helper()
	drawn := map[string]bool{}
	for _, m := range svgElem.FindAllStringSubmatch(page, -1) {
		// plot draws a figure's data (its bars and lines) inside a group.
		g := drawnShape.FindStringSubmatch(m[0])
		drawn[m[1]] = g != nil && shapeTag.MatchString(g[1])
	}
	for _, f := range figures {
		if ok, found := drawn[f]; !found || !ok {
			t.Errorf("figure %s: present %v, drawn %v", f, found, ok)
		}
	}
	for _, id := range absent {
		if strings.Contains(page, `<section id="`+id+`"`) {
			t.Errorf("section %s is on the page, but the record holds nothing for it", id)
		}
	}
	for _, bad := range []string{"<script", "<img", `href="http`, "@import", "url(", "<link", "<iframe"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q: it must be self-contained, with every text escaped", bad)
		}
	}
	if m := fetching.FindString(page); m != "" {
		t.Errorf("page holds %q, an element that fetches", m)
	}
}

// The page lists the run's artifacts but report.html itself, so that
// drawing it again from the published run.json gives the same bytes.
func TestPageLeavesOutItself(t *testing.T) {
	r := load(t, "first.json")
	before, err := HTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Artifacts = append(r.Artifacts, jobs.Artifact{Name: jobs.ReportFile, Size: int64(len(before)), SHA256: strings.Repeat("0", 64)})
	after, err := HTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("listing report.html among the artifacts changed the page")
	}
}

// TestPageEscapes also checks the crowded histogram's log axis.
func TestPageEscapes(t *testing.T) {
	page, err := HTML(rich(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "comment &amp; notes",
		"validation rows per bin (log scale)"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks the escaped %q", want)
		}
	}
}

func TestPageNeedsARecord(t *testing.T) {
	if _, err := HTML(nil, nil); err == nil {
		t.Error("HTML(nil) drew a page")
	}
}

// The tail figure steps down the model's tail table to the 1/(n+1) floor
// and marks the threshold with its tail probability; the features' chart
// draws the 20 features with the largest share on alerts, largest first,
// and says how many it leaves out.
func TestTailAndSharesFigures(t *testing.T) {
	r := load(t, "first.json")
	page, err := HTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := string(page)
	n := r.TailTable.Rows
	alerts := r.Threshold.ValidationAlerts
	for _, want := range []string{
		fmt.Sprintf("tail probability, from %d validation rows", n),
		fmt.Sprintf("threshold %s: tail probability %s", num(r.Threshold.Value), num(float32(alerts)/float32(n))),
		fmt.Sprintf("1/(n+1) = %s", num(float32(1/float64(n+1)))),
		fmt.Sprintf("the %d validation rows that alert", r.FeatureShares.Alerts),
		fmt.Sprintf("and %d more features with smaller shares", len(r.Features)-20),
	} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	chart := regexp.MustCompile(`(?s)<svg [^>]*data-figure="feature-shares".*?</svg>`).FindString(p)
	names := regexp.MustCompile(`<title>([^<]*)</title>`).FindAllStringSubmatch(chart, -1)
	if len(names) != 21 { // the chart's title and 20 features
		t.Fatalf("feature chart names %d features, want 20", len(names)-1)
	}
	share := map[string]float32{}
	for _, f := range r.FeatureShares.Features {
		share[f.Name] = f.Alerts
	}
	for i := 2; i < len(names); i++ {
		if share[names[i][1]] > share[names[i-1][1]] {
			t.Errorf("feature %s (%g on alerts) after %s (%g)", names[i][1], share[names[i][1]], names[i-1][1], share[names[i-1][1]])
		}
	}
	r.TailTable, r.FeatureShares = nil, nil // a run.json from before the shares
	page, err = HTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, fig := range []string{`data-figure="tail"`, `data-figure="feature-shares"`} {
		if strings.Contains(string(page), fig) {
			t.Errorf("a record without the data draws %s", fig)
		}
	}
}
