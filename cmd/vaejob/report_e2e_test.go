package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium returns Debian's headless browser, or skips the test when it
// is missing, unless VAEJOB_REQUIRE_CHROMIUM=1 (set by .ci/test, which
// installs it) makes that a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("VAEJOB_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium is not installed (run bash .ci/test, which installs it)")
	}
	t.Skip("chromium is not installed, so report.html is not opened in a browser; bash .ci/test installs it (apt-get install chromium)")
	return ""
}

// browse runs headless chromium on page with args and returns its output.
func browse(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

var (
	domFigure = regexp.MustCompile(`(?s)<svg [^>]*data-figure="([^"]+)".*?</svg>`)
	// A figure's data (its bars and lines) are drawn inside this group.
	domShape    = regexp.MustCompile(`(?s)<g data-role="data">(.*?)</g>`)
	shapeTagDOM = regexp.MustCompile(`<(path|rect|circle) `)
)

// Every run writes report.html, listed with its SHA-256 in run.json; it
// opens in headless Chromium with every figure drawn, with and without
// labels, with and without a replaced run; vaejob report draws the same
// page again elsewhere and never into the run's folder.
func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	shots := os.Getenv("VAEJOB_REPORT_SCREENSHOTS") // where to keep the screenshots; default: a temporary folder
	if shots == "" {
		shots = t.TempDir()
	}
	always := []string{"training-loss", "training-reconstruction", "training-kl", "scores", "tail", "feature-shares", "latent"}
	labelled := []string{"--exclude", "patient_id", "--label-column", "diagnosis", "--normal-value", "benign"}
	unlabelled := []string{"--exclude", "patient_id,diagnosis"}
	cases := []struct {
		name     string
		out      string // runs of the same out follow each other: the second replaces the first
		args     []string
		labels   bool
		replaced bool
	}{
		{"plain-first", "plain", unlabelled, false, false},
		{"plain-replaced", "plain", append(unlabelled, "--seed", "1"), false, true},
		{"labels-first", "labels", labelled, true, false},
		{"labels-replaced", "labels", append(labelled, "--seed", "2"), true, true},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.out)
			r := vaejob(t, append([]string{"train", "--input", demo, "--out", out, "--run-id", tc.name, "--epochs", "20"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
			}
			page := filepath.Join(out, "runs", tc.name, "report.html")
			checkReportArtifact(t, out, tc.name, page)
			dom := string(browse(t, bin, page, "--dump-dom"))
			want := always
			if tc.labels {
				want = append(want, "roc", "precision-recall")
			}
			checkDrawn(t, dom, want)
			for id, on := range map[string]bool{"labels": tc.labels, "changes": tc.replaced} {
				if got := strings.Contains(dom, `<section id="`+id+`"`); got != on {
					t.Errorf("section %s on the page: %v, want %v", id, got, on)
				}
			}
			if tc.replaced && !strings.Contains(dom, "replaced run "+strings.Replace(tc.name, "replaced", "first", 1)) {
				t.Error("the scores figure does not name the replaced run's histogram")
			}
			shot := filepath.Join(shots, tc.name+".png")
			browse(t, bin, page, "--screenshot="+shot, "--window-size=1280,4000")
			if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
				t.Errorf("screenshot %s: %v (%d bytes)", shot, err, sizeOf(fi))
			}
			checkRedraw(t, out, tc.name, page)
		})
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// checkDrawn checks that the rendered DOM holds each figure with data
// drawn in it.
func checkDrawn(t *testing.T, dom string, figures []string) {
	t.Helper()
	drawn := map[string]bool{}
	for _, m := range domFigure.FindAllStringSubmatch(dom, -1) {
		g := domShape.FindStringSubmatch(m[0])
		drawn[m[1]] = g != nil && shapeTagDOM.MatchString(g[1])
	}
	for _, f := range figures {
		if ok, found := drawn[f]; !found || !ok {
			t.Errorf("figure %s in the rendered page: present %v, drawn %v", f, found, ok)
		}
	}
}

// checkReportArtifact checks that run.json lists report.html with its
// SHA-256, and that runs show names it.
func checkReportArtifact(t *testing.T, out, run, page string) {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	rec := readRunJSON(t, filepath.Join(out, "runs", run))
	sum := sha256.Sum256(b)
	listed := false
	for _, a := range rec.Artifacts {
		if a.Name == "report.html" {
			listed = a.SHA256 == hex.EncodeToString(sum[:])
		}
	}
	if !listed {
		t.Errorf("run.json does not list report.html with its SHA-256: %+v", rec.Artifacts)
	}
	show := vaejob(t, "runs", "show", "--out", out, run)
	if show.code != 0 || !strings.Contains(show.stdout, "report:     "+page) || !strings.Contains(show.stdout, "artifact:   report.html") {
		t.Errorf("runs show does not name the report (exit %d):\n%s%s", show.code, show.stdout, show.stderr)
	}
	var detail struct {
		Report string `json:"report"`
	}
	show = vaejob(t, "runs", "show", "--out", out, "--json", run)
	if err := json.Unmarshal([]byte(show.stdout), &detail); err != nil || detail.Report != page {
		t.Errorf("runs show --json: report %q, want %q (%v)", detail.Report, page, err)
	}
}

// checkRedraw checks that vaejob report draws the published page again,
// byte for byte, and refuses to write into runs/.
func checkRedraw(t *testing.T, out, run, page string) {
	t.Helper()
	published, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), "again.html")
	if r := vaejob(t, "report", "--out", out, "--output", again, run); r.code != 0 {
		t.Fatalf("vaejob report: exit %d\n%s", r.code, r.stderr)
	}
	if b, err := os.ReadFile(again); err != nil || string(b) != string(published) {
		t.Errorf("vaejob report drew another page than the published one (%v)", err)
	}
	if r := vaejob(t, "report", "--out", out, "--output", page, run); r.code != exitUsage || !strings.Contains(r.stderr, "inside") {
		t.Errorf("vaejob report over the run's own report.html: exit %d, want %d\n%s", r.code, exitUsage, r.stderr)
	}
	if b, _ := os.ReadFile(page); string(b) != string(published) {
		t.Error("vaejob report changed the run's report.html")
	}
}

// The report of the demo run (the README's first command) stays under
// 1 MB.
func TestDemoReportUnder1MB(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if r := vaejob(t, "train", "--input", demo, "--out", out, "--exclude", "patient_id,diagnosis", "--run-id", "demo"); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	fi, err := os.Stat(filepath.Join(out, "runs", "demo", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report.html of the demo run: %d bytes", fi.Size())
	if fi.Size() >= 1<<20 {
		t.Errorf("report.html of the demo run is %d bytes, want under 1 MB", fi.Size())
	}
}
