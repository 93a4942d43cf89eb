package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// RunSummary describes one run directory for vaejob runs.
type RunSummary struct {
	RunID      string     `json:"run_id"`
	Latest     bool       `json:"latest"`
	Status     RunStatus  `json:"status"`
	FinishedAt time.Time  `json:"finished_at"`
	Rows       int        `json:"training_rows"`
	Features   int        `json:"features"`
	Threshold  float32    `json:"threshold"`
	ROCAUC     *float64   `json:"validation_roc_auc,omitempty"`
	PRAUC      *float64   `json:"validation_pr_auc,omitempty"`
	Gate       string     `json:"gate_decision"`
	Artifacts  []Artifact `json:"artifacts"`
	// Intact says whether every artifact still matches its recorded size
	// and SHA-256.
	Intact   bool     `json:"artifacts_intact"`
	Problems []string `json:"problems,omitempty"`
}

// RunDetail is vaejob runs show: the run's record, whether its files are
// intact, and the audit events that name it.
type RunDetail struct {
	RunSummary
	// Report is the path of the run's report.html, when the run has one.
	Report string       `json:"report,omitempty"`
	Record *RunRecord   `json:"record"`
	Audit  []AuditEvent `json:"audit_events"`
}

// ListRuns describes every run under out/runs, oldest first.
func ListRuns(out string) ([]RunSummary, error) {
	d := viewOut(out)
	if err := d.checkView(); err != nil {
		return nil, err
	}
	return d.listRuns()
}

// listRuns describes every run in runs/, oldest first, checking each
// run's artifacts against their SHA-256.
func (d *outDir) listRuns() ([]RunSummary, error) {
	runs, err := d.runRecords()
	if err != nil {
		return nil, err
	}
	latest, _ := d.latest()
	var out []RunSummary
	for _, r := range runs {
		out = append(out, d.summarize(r, latest))
	}
	return out, nil
}

// runRecord is a run folder in runs/ with its record; rec is nil and err
// says why when run.json cannot be read.
type runRecord struct {
	id  string
	rec *RunRecord
	err error
}

// runRecords reads the record of every run in runs/, oldest first (by
// finish time, then id; an unreadable record first). It reads no artifact.
func (d *outDir) runRecords() ([]runRecord, error) {
	ids, err := d.runIDs()
	if err != nil {
		return nil, err
	}
	runs := make([]runRecord, 0, len(ids))
	for _, id := range ids {
		rec, err := d.readRun(id)
		runs = append(runs, runRecord{id: id, rec: rec, err: err})
	}
	finished := func(r runRecord) time.Time {
		if r.rec == nil {
			return time.Time{}
		}
		return r.rec.FinishedAt
	}
	slices.SortStableFunc(runs, func(a, b runRecord) int { return finished(a).Compare(finished(b)) })
	return runs, nil
}

// checkView makes sure --out is a folder that can be read: its errors wrap
// ErrUsage.
func (d *outDir) checkView() error {
	fi, err := os.Stat(d.root)
	if err != nil {
		return fmt.Errorf("%w: --out %s: %w", ErrUsage, d.root, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: --out %s is a file, not the output folder of vaejob train; give the folder that holds runs/ and latest", ErrUsage, d.root)
	}
	return nil
}

// ShowRun describes one run in full.
func ShowRun(out, runID string) (*RunDetail, error) {
	d, err := viewRun(out, runID)
	if err != nil {
		return nil, err
	}
	latest, _ := d.latest()
	rec, recErr := d.readRun(runID)
	s := d.summarize(runRecord{id: runID, rec: rec, err: recErr}, latest)
	evs, torn, err := d.readAudit()
	if err != nil {
		return nil, err
	}
	detail := &RunDetail{RunSummary: s, Record: rec, Audit: []AuditEvent{}}
	if rec != nil && slices.ContainsFunc(rec.Artifacts, func(a Artifact) bool { return a.Name == ReportFile }) {
		detail.Report = filepath.Join(d.runDir(runID), ReportFile)
	}
	if torn > 0 {
		detail.Problems = append(detail.Problems, fmt.Sprintf("%s holds %d damaged lines (skipped)", d.auditPath(), torn))
	}
	for _, ev := range evs {
		if ev.RunID == runID || ev.Previous == runID {
			detail.Audit = append(detail.Audit, ev)
		}
	}
	return detail, nil
}

// viewRun opens out read-only for the run a user named: a valid id whose
// folder is a folder of its own in runs/. Its errors wrap ErrUsage.
func viewRun(out, runID string) (*outDir, error) {
	if err := CheckRunID(runID); err != nil {
		return nil, err
	}
	d := viewOut(out)
	if err := d.checkView(); err != nil {
		return nil, err
	}
	if err := d.checkRunFolder(runID); err != nil {
		return nil, noRunError(err, d, runID)
	}
	return d, nil
}

// noRunError words checkRunFolder's error for a run id a user gave.
func noRunError(err error, d *outDir, runID string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no run %s in %s (see vaejob runs list --out %s)", ErrUsage, runID, d.runsDir(), d.root)
	}
	return kind(ErrUsage, err)
}

// summarize reads a run folder and checks its artifacts against the
// hashes its run.json records.
func (d *outDir) summarize(r runRecord, latest string) RunSummary {
	dir := d.runDir(r.id)
	s := RunSummary{RunID: r.id, Latest: r.id == latest, Artifacts: []Artifact{}}
	rec := r.rec
	if rec == nil {
		s.Status = StatusDamaged
		s.Problems = append(s.Problems, fmt.Sprintf("%s: %v", RecordFile, r.err))
		return s
	}
	s.Status, s.FinishedAt = rec.Status, rec.FinishedAt
	s.Rows, s.Features, s.Threshold = rec.Rows.Train, len(rec.Features), rec.Threshold.Value
	if m := rec.ValidationMetrics; m != nil {
		s.ROCAUC, s.PRAUC = ptr(m.ROCAUC), ptr(m.PRAUC)
	}
	if rec.Gate != nil {
		s.Gate = rec.Gate.Decision
	}
	s.Artifacts = rec.Artifacts
	s.Problems = append(s.Problems, checkArtifacts(dir, rec.Artifacts)...)
	s.Intact = len(s.Problems) == 0
	return s
}

// checkArtifacts compares each artifact with its recorded size and SHA-256.
func checkArtifacts(dir string, arts []Artifact) []string {
	var problems []string
	for _, a := range arts {
		b, err := regfile.ReadFile(filepath.Join(dir, a.Name), maxModelBytes)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", a.Name, err))
		case int64(len(b)) != a.Size || sha256Hex(b) != a.SHA256:
			problems = append(problems, fmt.Sprintf("%s does not match its recorded SHA-256", a.Name))
		}
	}
	if len(arts) == 0 {
		problems = append(problems, "run.json records no artifacts")
	}
	return problems
}

// PromoteOptions name a run to point latest at by hand.
type PromoteOptions struct {
	Out    string
	RunID  string
	By     string // who; empty: $VAEJOB_USER or the OS user
	Reason string
	Logger *slog.Logger
}

// Promote points latest at a run by hand (a promotion, or a rollback to an
// older run) and records who did it in the audit log. The run's artifacts
// must match their recorded hashes. A gate-rejected or orphaned run can be
// promoted this way: that is the point of a manual override.
func Promote(ctx context.Context, o PromoteOptions) (*AuditEvent, error) {
	log := loggerOr(o.Logger)
	if o.Out == "" || o.RunID == "" {
		return nil, fmt.Errorf("%w: promote needs --out and the run id (see vaejob runs list)", ErrUsage)
	}
	if _, err := viewRun(o.Out, o.RunID); err != nil {
		return nil, err
	}
	d, err := openOut(o.Out, "promote", o.RunID, log)
	if err != nil {
		return nil, err
	}
	defer d.close()
	rec, err := d.readRun(o.RunID)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s cannot be promoted: %w", ErrBadInput, o.RunID, err)
	}
	if problems := checkArtifacts(d.runDir(o.RunID), rec.Artifacts); len(problems) > 0 {
		return nil, fmt.Errorf("%w: run %s cannot be promoted: %s", ErrBadInput, o.RunID, strings.Join(problems, "; "))
	}
	prev, err := d.latest()
	if err != nil {
		log.Warn("latest is not a run link; replacing it", "error", err.Error())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ev := AuditEvent{Time: time.Now().UTC(), Action: ActionPromotedByHand, RunID: o.RunID, Previous: prev, By: cmp.Or(o.By, currentUser()), Reason: o.Reason}
	if err := d.promote(o.RunID, ev); err != nil {
		return nil, err
	}
	log.Info("latest now points at "+o.RunID, "previous", prev, "by", ev.By)
	return &ev, nil
}

func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// FormatRuns renders runs as a table for people.
func FormatRuns(runs []RunSummary) string {
	if len(runs) == 0 {
		return "no runs yet\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-1s %-32s %-10s %-20s %8s %4s %10s %7s %s\n", "", "RUN", "STATUS", "FINISHED", "ROWS", "D", "THRESHOLD", "ROC", "FILES")
	for _, r := range runs {
		mark, roc, files := " ", "-", "ok"
		if r.Latest {
			mark = "*"
		}
		if r.ROCAUC != nil {
			roc = fmt.Sprintf("%.4f", *r.ROCAUC)
		}
		if !r.Intact {
			files = "DAMAGED: " + strings.Join(r.Problems, "; ")
		}
		fmt.Fprintf(&b, "%-1s %-32s %-10s %-20s %8d %4d %10.4g %7s %s\n", mark, r.RunID, r.Status,
			r.FinishedAt.Format("2006-01-02 15:04:05"), r.Rows, r.Features, r.Threshold, roc, files)
	}
	b.WriteString("* = latest\n")
	return b.String()
}

func (d *RunDetail) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run:        %s\n", d.RunID)
	fmt.Fprintf(&b, "latest:     %v\n", d.Latest)
	fmt.Fprintf(&b, "status:     %s\n", d.Status)
	if rec := d.Record; rec != nil {
		fmt.Fprintf(&b, "finished:   %s (%.1f s)\n", rec.FinishedAt.Format(time.RFC3339), rec.Timings.Total)
		for _, in := range rec.Inputs {
			fmt.Fprintf(&b, "input:      %s (%d bytes, sha256 %s)\n", in.Path, in.Size, in.SHA256)
		}
		fmt.Fprintf(&b, "rows:       %d read, %d train, %d validation\n", rec.Rows.Read, rec.Rows.Train, rec.Rows.Validation)
		fmt.Fprintf(&b, "features:   %d: %s\n", len(rec.Features), strings.Join(rec.Features, ", "))
		fmt.Fprintf(&b, "model:      preset %s, seed %d, %s likelihood, score %s\n", rec.Config.Preset, rec.Config.Seed, rec.Config.Likelihood, rec.Config.ScoreKind)
		fmt.Fprintf(&b, "threshold:  %g (%s; alerts on %d of %d validation rows)\n", rec.Threshold.Value, rec.Threshold.Method, rec.Threshold.ValidationAlerts, rec.Threshold.ValidationRows)
		if m := rec.ValidationMetrics; m != nil {
			fmt.Fprintf(&b, "validation: ROC-AUC %.4f, PR-AUC %.4f, precision %.4f, recall %.4f, F1 %.4f\n", m.ROCAUC, m.PRAUC, m.At.Precision, m.At.Recall, m.At.F1)
		}
		if g := rec.Gate; g != nil {
			fmt.Fprintf(&b, "gate:       %s (against %s)\n", g.Decision, orNone(g.Baseline))
			for _, c := range g.Checks {
				verdict := "pass"
				if !c.Passed {
					verdict = "FAIL"
				}
				fmt.Fprintf(&b, "  %-4s %-20s %s\n", verdict, c.Name, c.Detail)
			}
		}
		fmt.Fprintf(&b, "versions:   vaejob %s, %s, gorgonia %s %s\n", rec.Versions.Vaejob, rec.Versions.Go, rec.Versions.Gorgonia, rec.Versions.VCS)
		if m := rec.Machine; m.GOMAXPROCS > 0 { // absent from run.json written before --workers
			limit := "none"
			if m.MemoryLimit > 0 {
				limit = fmt.Sprintf("%d bytes", m.MemoryLimit)
			}
			fmt.Fprintf(&b, "machine:    GOMAXPROCS %d of %d cores, GOMEMLIMIT %s\n", m.GOMAXPROCS, m.NumCPU, limit)
		}
	}
	for _, a := range d.Artifacts {
		fmt.Fprintf(&b, "artifact:   %-24s %9d bytes  sha256 %s\n", a.Name, a.Size, a.SHA256)
	}
	if d.Intact {
		b.WriteString("files:      intact (every artifact matches its recorded SHA-256)\n")
	}
	if d.Report != "" {
		fmt.Fprintf(&b, "report:     %s\n", d.Report)
	}
	for _, p := range d.Problems {
		fmt.Fprintf(&b, "PROBLEM:    %s\n", p)
	}
	for _, ev := range d.Audit {
		fmt.Fprintf(&b, "audit:      %s %s %s by %s on %s (latest was %s) %s\n", ev.Time.Format(time.RFC3339), ev.Action, ev.RunID, ev.By, ev.Host, orNone(ev.Previous), ev.Reason)
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ReportOptions name a run whose report vaejob report draws again.
type ReportOptions struct {
	Out, RunID string
	// Output is the file to write; it must not be inside OUT/runs/.
	Output string
	// Draw draws the page (report.HTML).
	Draw DrawReport
}

// reportFileWanted is what vaejob report's --output names.
const reportFileWanted = "an .html file"

// RedrawnReport says what vaejob report drew.
type RedrawnReport struct {
	// Replaced is the run the report compares with (gate.baseline_run_id),
	// empty when there is none.
	Replaced string
	// ReplacedMissing says the replaced run's record could not be read
	// (removed by --keep, or damaged): the report then compares nothing.
	ReplacedMissing error
}

// RedrawReport draws the report of a run in Out again, from its run.json
// and the run.json of the run it replaced, into Output, written atomically
// (see createAtomic). It changes nothing in Out: the run's files and their
// SHA-256 stay as published.
func RedrawReport(o ReportOptions) (*RedrawnReport, error) {
	if err := checkRequired(requiredFlag{"--out", o.Out, "the output folder of vaejob train"},
		requiredFlag{"--output", o.Output, reportFileWanted + " to write"}); err != nil {
		return nil, err
	}
	d, err := viewRun(o.Out, o.RunID)
	if err != nil {
		return nil, err
	}
	if _, err := checkOutputPath("--output", reportFileWanted, o.Output); err != nil {
		return nil, err
	}
	if err := d.checkOutsideRuns("--output", o.Output); err != nil {
		return nil, err
	}
	rec, err := d.readRun(o.RunID)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s: %w", ErrBadInput, o.RunID, err)
	}
	res := &RedrawnReport{}
	var replaced *RunRecord
	if rec.Gate != nil && rec.Gate.Baseline != "" {
		res.Replaced = rec.Gate.Baseline
		if err := CheckRunID(res.Replaced); err != nil {
			res.ReplacedMissing = err
		} else if replaced, err = d.readRun(res.Replaced); err != nil {
			res.ReplacedMissing = err
		}
	}
	page, err := o.Draw(rec, replaced)
	if err != nil {
		return nil, fmt.Errorf("draw the report of run %s: %w", o.RunID, err)
	}
	err = createAtomic(diskFS, o.Output, 0o644, func(w io.Writer) error {
		_, err := w.Write(page)
		return err
	})
	var notRegular *notRegularTargetError
	if errors.As(err, &notRegular) {
		return nil, checkOutputMode("--output", reportFileWanted, o.Output, notRegular.Mode)
	}
	return res, err
}

// checkOutsideRuns refuses an output file inside runs/: vaejob writes
// there only when it publishes a run. Links in the path are resolved.
func (d *outDir) checkOutsideRuns(flag, path string) error {
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrUsage, flag, path, err)
	}
	runs, err := filepath.EvalSymlinks(d.runsDir())
	if err != nil {
		return nil // no runs/ folder: nothing to protect
	}
	if rel, err := filepath.Rel(runs, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%w: %s %s is inside %s; a run's files stay as published (their SHA-256 are in run.json): write the report elsewhere", ErrUsage, flag, path, d.runsDir())
	}
	return nil
}
