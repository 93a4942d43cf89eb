package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// drawIDs stands for report.HTML: it writes the run id and the replaced
// run's id.
func drawIDs(run, replaced *RunRecord) ([]byte, error) {
	s := run.RunID + "|"
	if replaced != nil {
		s += replaced.RunID
	}
	return []byte(s), nil
}

func TestRedrawReport(t *testing.T) {
	root := t.TempDir()
	publishClean(t, root, "a", DecisionPromoted, "")
	publishClean(t, root, "b", DecisionPromoted, "a")
	publishClean(t, root, "c", DecisionPromoted, "gone")
	elsewhere := t.TempDir()
	if err := os.Symlink(filepath.Join(root, runsDirName, "b"), filepath.Join(elsewhere, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, run, output string
		draw              DrawReport
		want              string // the page written; "" when nothing is
		replacedMissing   bool
		err               error
	}{
		{"with the replaced run", "b", "b.html", drawIDs, "b|a", false, nil},
		{"first run", "a", "a.html", drawIDs, "a|", false, nil},
		{"replaced run gone", "c", "c.html", drawIDs, "c|", true, nil},
		{"no --output", "b", "", drawIDs, "", false, ErrUsage},
		{"unknown run", "zz", "zz.html", drawIDs, "", false, ErrUsage},
		{"inside the run's folder", "b", filepath.Join(root, runsDirName, "b", "report.html"), drawIDs, "", false, ErrUsage},
		{"inside runs/", "b", filepath.Join(root, runsDirName, "b.html"), drawIDs, "", false, ErrUsage},
		{"into runs/ through a link", "b", filepath.Join(elsewhere, "link", "x.html"), drawIDs, "", false, ErrUsage},
		{"a folder", "b", elsewhere, drawIDs, "", false, ErrUsage},
		{"drawing fails", "b", "fail.html", func(*RunRecord, *RunRecord) ([]byte, error) { return nil, errors.New("boom") }, "", false, nil},
	}
	before := snapshotRuns(t, root, []string{"a", "b", "c"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.output
			if out != "" && !filepath.IsAbs(out) {
				out = filepath.Join(elsewhere, out)
			}
			res, err := RedrawReport(ReportOptions{Out: root, RunID: tc.run, Output: out, Draw: tc.draw})
			switch {
			case tc.want == "" && err == nil:
				t.Fatalf("no error, want one (%v)", tc.err)
			case tc.want == "" && tc.err != nil && !errors.Is(err, tc.err):
				t.Fatalf("error %v, want %v", err, tc.err)
			case tc.want != "" && err != nil:
				t.Fatal(err)
			case err != nil && tc.err == ErrUsage && !strings.Contains(err.Error(), tc.run) && !strings.Contains(err.Error(), "an .html file") && !strings.Contains(err.Error(), "inside"):
				t.Errorf("error %q names neither the run, the file --output takes, nor where it lies", err)
			}
			if tc.want == "" {
				if fi, err := os.Lstat(out); out != "" && err == nil && fi.Mode().IsRegular() && filepath.Dir(out) == elsewhere {
					t.Errorf("%s was written", out)
				}
				return
			}
			if b, err := os.ReadFile(out); err != nil || string(b) != tc.want {
				t.Errorf("page %q (%v), want %q", b, err, tc.want)
			}
			if got := res.ReplacedMissing != nil; got != tc.replacedMissing {
				t.Errorf("ReplacedMissing %v, want missing %v", res.ReplacedMissing, tc.replacedMissing)
			}
		})
	}
	checkUntouched(t, "vaejob report", root, before)
}
