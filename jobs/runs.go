package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// AuditFile is the append-only log of promotions and rejections in --out,
// one JSON object per line.
const AuditFile = "audit.jsonl"

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	Time     time.Time `json:"time"`
	Action   string    `json:"action"` // promoted, rejected or promoted-by-hand
	RunID    string    `json:"run_id"`
	Previous string    `json:"previous_latest,omitempty"`
	By       string    `json:"by"`
	Host     string    `json:"host"`
	Reason   string    `json:"reason,omitempty"`
}

// Audit actions.
const (
	ActionPromoted       = "promoted"
	ActionRejected       = "rejected"
	ActionPromotedByHand = "promoted-by-hand"
)

// appendAudit appends ev to out/audit.jsonl and syncs it. The caller holds
// the lock on out.
func appendAudit(out string, ev AuditEvent) error {
	host, _ := os.Hostname()
	ev.Host = host
	if ev.By == "" {
		ev.By = currentUser()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	// One write of one line with O_APPEND: a crash leaves at worst a torn
	// last line, which readAudit skips; the next event starts on a line of
	// its own.
	path := filepath.Join(out, AuditFile)
	line := append(b, '\n')
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		last := make([]byte, 1)
		_, err = f.ReadAt(last, fi.Size()-1)
		f.Close()
		if err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	return writeSynced(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, line)
}

// readAudit returns the events of the audit log, oldest first. A line that
// is not a whole event (a write cut short by a crash) is skipped and
// counted in torn.
func readAudit(out string) (evs []AuditEvent, torn int, err error) {
	b, err := os.ReadFile(filepath.Join(out, AuditFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var ev AuditEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			torn++
			continue
		}
		evs = append(evs, ev)
	}
	return evs, torn, nil
}

// currentUser names who runs the process: $VAEJOB_USER, then the OS user.
func currentUser() string {
	if u := os.Getenv("VAEJOB_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// RunSummary describes one run directory for vaejob runs.
type RunSummary struct {
	RunID      string     `json:"run_id"`
	Latest     bool       `json:"latest"`
	Status     string     `json:"status"` // succeeded or rejected; "damaged" when run.json is unreadable
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
	Record *RunRecord   `json:"record"`
	Audit  []AuditEvent `json:"audit_events"`
}

// ListRuns describes every run under out/runs, oldest first.
func ListRuns(out string) ([]RunSummary, error) {
	entries, err := os.ReadDir(filepath.Join(out, "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		if _, statErr := os.Stat(out); statErr != nil {
			return nil, fmt.Errorf("%w: --out %s: %v", ErrUsage, out, statErr)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	latest, _ := latestRunID(out)
	var runs []RunSummary
	for _, e := range entries {
		if e.IsDir() {
			s, _ := summarize(out, e.Name(), latest)
			runs = append(runs, s)
		}
	}
	slices.SortFunc(runs, func(a, b RunSummary) int {
		if c := a.FinishedAt.Compare(b.FinishedAt); c != 0 {
			return c
		}
		return strings.Compare(a.RunID, b.RunID)
	})
	return runs, nil
}

// ShowRun describes one run in full.
func ShowRun(out, runID string) (*RunDetail, error) {
	if err := CheckRunID(runID); err != nil {
		return nil, err
	}
	dir := filepath.Join(out, "runs", runID)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: no run %s in %s (see vaejob runs list)", ErrUsage, runID, filepath.Join(out, "runs"))
	}
	latest, _ := latestRunID(out)
	s, rec := summarize(out, runID, latest)
	evs, torn, err := readAudit(out)
	if err != nil {
		return nil, err
	}
	d := &RunDetail{RunSummary: s, Record: rec, Audit: []AuditEvent{}}
	if torn > 0 {
		d.Problems = append(d.Problems, fmt.Sprintf("%s holds %d damaged lines (skipped)", filepath.Join(out, AuditFile), torn))
	}
	for _, ev := range evs {
		if ev.RunID == runID || ev.Previous == runID {
			d.Audit = append(d.Audit, ev)
		}
	}
	return d, nil
}

// summarize reads a run directory and checks its artifacts against the
// hashes its run.json records.
func summarize(out, runID, latest string) (RunSummary, *RunRecord) {
	dir := filepath.Join(out, "runs", runID)
	s := RunSummary{RunID: runID, Latest: runID == latest, Artifacts: []Artifact{}}
	rec, err := readRecord(dir)
	if err != nil {
		s.Status = "damaged"
		s.Problems = append(s.Problems, fmt.Sprintf("%s: %v", RecordFile, err))
		return s, nil
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
	return s, rec
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
// must match their recorded hashes. A gate-rejected run can be promoted
// this way: that is the point of a manual override.
func Promote(ctx context.Context, o PromoteOptions) (*AuditEvent, error) {
	log := loggerOr(o.Logger)
	if o.Out == "" || o.RunID == "" {
		return nil, fmt.Errorf("%w: promote needs --out and the run id (see vaejob runs list)", ErrUsage)
	}
	if err := CheckRunID(o.RunID); err != nil {
		return nil, err
	}
	dir := filepath.Join(o.Out, "runs", o.RunID)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: no run %s in %s (see vaejob runs list --out %s)", ErrUsage, o.RunID, filepath.Join(o.Out, "runs"), o.Out)
	}
	lock, err := lockOut(o.Out, "promote", o.RunID, log)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	if err := checkLatestLink(o.Out); err != nil {
		return nil, err
	}
	rec, err := readRecord(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s cannot be promoted: %v", ErrBadInput, o.RunID, err)
	}
	if problems := checkArtifacts(dir, rec.Artifacts); len(problems) > 0 {
		return nil, fmt.Errorf("%w: run %s cannot be promoted: %s", ErrBadInput, o.RunID, strings.Join(problems, "; "))
	}
	prev, err := latestRunID(o.Out)
	if err != nil {
		log.Warn("latest is not a run link; replacing it", "error", err.Error())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := pointLatest(o.Out, filepath.Join("runs", o.RunID)); err != nil {
		return nil, err
	}
	ev := AuditEvent{Time: time.Now().UTC(), Action: ActionPromotedByHand, RunID: o.RunID, Previous: prev, By: cmp.Or(o.By, currentUser()), Reason: o.Reason}
	if err := appendAudit(o.Out, ev); err != nil {
		return nil, err
	}
	log.Info("latest now points at "+o.RunID, "previous", prev, "by", ev.By)
	return &ev, nil
}

// prune keeps the newest keep runs (by finish time) and removes the older
// ones, never latest nor the run latest replaced. The caller holds the lock.
func prune(out string, keep int, log *slog.Logger) error {
	runs, err := ListRuns(out)
	if err != nil || len(runs) <= keep {
		return err
	}
	protect := map[string]bool{}
	if latest, _ := latestRunID(out); latest != "" {
		protect[latest] = true
		if replaced := replacedBy(out, latest); replaced != "" {
			protect[replaced] = true
		}
	}
	for _, r := range runs[:len(runs)-keep] {
		// A directory without a readable run.json is not a run vaejob can
		// vouch for: leave it to a person.
		if protect[r.RunID] || r.Status == "damaged" {
			continue
		}
		dir := filepath.Join(out, "runs", r.RunID)
		// Move it out of runs/ first, so a crash half-way leaves no half
		// run directory behind.
		tmp := filepath.Join(out, ".tmp-prune-"+r.RunID)
		if err := os.Rename(dir, tmp); err != nil {
			return fmt.Errorf("remove old run %s: %w", r.RunID, err)
		}
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("remove old run %s: %w", r.RunID, err)
		}
		log.Info("removed old run (--keep)", "removed_run", r.RunID, "keep", keep)
	}
	return syncDir(filepath.Join(out, "runs"))
}

// replacedBy returns the run that latest pointed at before run became
// latest: from the audit log's last promotion of run, else from run's gate
// record.
func replacedBy(out, run string) string {
	evs, _, _ := readAudit(out)
	for i := len(evs) - 1; i >= 0; i-- {
		if ev := evs[i]; ev.RunID == run && (ev.Action == ActionPromoted || ev.Action == ActionPromotedByHand) {
			return ev.Previous
		}
	}
	if rec, err := readRecord(filepath.Join(out, "runs", run)); err == nil && rec.Gate != nil {
		return rec.Gate.Baseline
	}
	return ""
}

// removeLeftovers deletes temporary files and directories that a killed run
// left in out. The caller holds the lock, so no live run owns them.
func removeLeftovers(out string, log *slog.Logger) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".tmp-") || strings.HasPrefix(n, ".latest.tmp-") {
			if err := os.RemoveAll(filepath.Join(out, n)); err != nil {
				return fmt.Errorf("remove leftover %s: %w", filepath.Join(out, n), err)
			}
			log.Warn("removed a leftover of an unfinished run", "path", filepath.Join(out, n))
		}
	}
	return nil
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
	}
	for _, a := range d.Artifacts {
		fmt.Fprintf(&b, "artifact:   %-24s %9d bytes  sha256 %s\n", a.Name, a.Size, a.SHA256)
	}
	if d.Intact {
		b.WriteString("files:      intact (every artifact matches its recorded SHA-256)\n")
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
