package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// namedFile is a file of a run directory, before it is written.
type namedFile struct {
	name string
	data []byte
}

// DrawReport draws a run's report.html from its record and the record of
// the run it replaced (nil when there is none, or when it cannot be read).
type DrawReport func(run, replaced *RunRecord) ([]byte, error)

// withReport adds report.html, drawn by draw from the finished record rec,
// to the run's files, and lists it in rec's artifacts; a nil draw adds
// nothing. It is drawn before anything is written, so it is published
// with the run, in runs/<id>/ from the first moment (see publish).
func withReport(draw DrawReport, rec *RunRecord, base *baseline, files []namedFile) ([]namedFile, error) {
	if draw == nil {
		return files, nil
	}
	var replaced *RunRecord
	if base != nil {
		replaced = base.record
	}
	page, err := draw(rec, replaced)
	if err != nil {
		return nil, fmt.Errorf("draw %s: %w", ReportFile, err)
	}
	files = append(slices.Clip(files), namedFile{ReportFile, page})
	rec.Artifacts = artifacts(files)
	return files, nil
}

// publish writes a finished run into runs/ and, when rec.Status is
// StatusSucceeded (the gate promoted it), points latest at it. The caller
// holds the lock. The steps, as Prometheus' tsdb creates a block:
//
//  1. build runs/.tmp-<id>-<random>/ with every file and run.json (status
//     publishing), each synced, then sync the folder;
//  2. (--force) move an earlier runs/<id> aside to runs/.tmp-replaced-*;
//  3. rename the folder to runs/<id> and sync runs/;
//  4. the last check for a signal or the timeout: until here, a stop or a
//     failure takes everything back out, and latest never moved;
//  5. the commit point: for a promoted run, the rename of a new link over
//     latest; for a rejected run, step 4 passed;
//  6. after it: sync --out, append the audit line, rewrite run.json with
//     the final status, remove the replaced run. A failure here never
//     undoes the run; it is returned as a *publishedError, and the next run
//     under the lock finishes what is missing (see repair).
//
// A signal that arrives after the commit point lets publish finish; the run
// reports success (and says so in the log).
func (d *outDir) publish(ctx context.Context, rec *RunRecord, files []namedFile, ev AuditEvent) error {
	final := rec.Status
	if final != StatusSucceeded && final != StatusRejected {
		return fmt.Errorf("publish: run %s has status %q", rec.RunID, final)
	}
	d.log.Info("publishing", "run_dir", d.runDir(rec.RunID), "promote", final == StatusSucceeded)
	if err := d.buildAndPlace(ctx, rec, files); err != nil {
		return err
	}
	// The commit point.
	runID, promote := rec.RunID, final == StatusSucceeded
	if promote {
		if err := d.swapLatest(runID); err != nil {
			d.takeBack(runID)
			return err
		}
	}
	if ctx.Err() != nil {
		d.log.Warn("a stop was asked for after the commit point: finishing the publication", "cause", context.Cause(ctx).Error())
	}
	var after []error
	if promote {
		if err := d.fs.SyncDir(d.root); err != nil {
			after = append(after, err)
		}
	}
	// The audit line, then the final status: a run whose status is final
	// has its audit line, and one still publishing gets both from repair.
	if err := d.appendAudit(ev); err != nil {
		after = append(after, fmt.Errorf("write the audit log: %w", err))
	} else {
		rec.Status = final
		if err := d.writeRecord(rec); err != nil {
			after = append(after, fmt.Errorf("record the status %s: %w", final, err))
		}
	}
	if err := d.removeReplaced(runID); err != nil {
		after = append(after, err)
	}
	if len(after) > 0 {
		return &publishedError{runID: runID, promoted: promote, err: errors.Join(after...)}
	}
	return nil
}

// buildAndPlace does steps 1 to 4 of publish: on any failure, or when ctx
// is done at the end, it takes back what it did and returns the error.
func (d *outDir) buildAndPlace(ctx context.Context, rec *RunRecord, files []namedFile) (err error) {
	runID, runs := rec.RunID, d.runsDir()
	staged := *rec
	staged.Status = StatusPublishing
	recBytes, err := marshalRecord(&staged)
	if err != nil {
		return err
	}
	files = append(slices.Clip(files), namedFile{RecordFile, recBytes})

	createdRuns := false
	if _, err := os.Stat(runs); errors.Is(err, fs.ErrNotExist) {
		if err := d.fs.Mkdir(runs, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", runs, err)
		}
		createdRuns = true
	}
	tmp := tmpName(runs, tmpPrefix+runID+"-")
	placed, replaced := false, ""
	defer func() {
		if err == nil {
			return
		}
		if placed {
			d.takeBack(runID)
		} else if replaced != "" {
			d.fs.Rename(replaced, d.runDir(runID))
		}
		d.fs.RemoveAll(tmp)
		if createdRuns {
			d.fs.Remove(runs) // only when empty
		}
		d.fs.SyncDir(runs)
	}()
	if createdRuns {
		if err = d.fs.SyncDir(d.root); err != nil {
			return err
		}
	}
	if err = d.fs.Mkdir(tmp, 0o755); err != nil {
		return fmt.Errorf("create the run's temporary folder: %w", err)
	}
	for _, f := range files {
		if err = writeOwned(d.fs, filepath.Join(tmp, f.name), f.data); err != nil {
			return err
		}
	}
	if err = d.fs.SyncDir(tmp); err != nil {
		return err
	}
	final := d.runDir(runID)
	if _, statErr := os.Lstat(final); statErr == nil {
		replaced = tmpName(runs, replacedPrefix+runID+"-")
		if err = d.fs.Rename(final, replaced); err != nil {
			replaced = ""
			return fmt.Errorf("move the earlier run %s aside: %w", runID, err)
		}
	}
	if err = d.fs.Rename(tmp, final); err != nil {
		return fmt.Errorf("publish run folder %s: %w", final, err)
	}
	placed = true
	if err = d.fs.SyncDir(runs); err != nil {
		return err
	}
	// The last chance to stop: a signal or the timeout now leaves nothing.
	if err = ctx.Err(); err != nil {
		return stopped(ctx, err)
	}
	return nil
}

// takeBack removes a run that was placed in runs/ but did not reach the
// commit point, and puts back the run it replaced (--force). The run is
// first renamed to a temporary name, so a failure half-way never leaves a
// half run folder under its id; one that cannot be moved at all keeps its
// status publishing, and the next run marks it orphaned.
func (d *outDir) takeBack(runID string) {
	final := d.runDir(runID)
	gone := tmpName(d.runsDir(), removedPrefix+runID+"-")
	if err := d.fs.Rename(final, gone); err != nil {
		d.log.Warn("could not take back an unpublished run; the next run marks it orphaned", "run_dir", final, "error", err.Error())
		return
	}
	d.fs.RemoveAll(gone)
	if aside := d.replacedRuns(runID); len(aside) > 0 {
		d.fs.Rename(aside[0], final)
	}
	d.fs.SyncDir(d.runsDir())
}

// replacedRuns lists the runs/.tmp-replaced-<runID>-* folders.
func (d *outDir) replacedRuns(runID string) []string {
	entries, _ := os.ReadDir(d.runsDir())
	var paths []string
	for _, e := range entries {
		if id, ok := tmpRunID(e.Name(), replacedPrefix); ok && id == runID {
			paths = append(paths, filepath.Join(d.runsDir(), e.Name()))
		}
	}
	return paths
}

// removeReplaced deletes the earlier run --force replaced, once the new
// one is committed.
func (d *outDir) removeReplaced(runID string) error {
	for _, p := range d.replacedRuns(runID) {
		if err := d.fs.RemoveAll(p); err != nil {
			return fmt.Errorf("remove the replaced run %s: %w", p, err)
		}
	}
	return nil
}

// swapLatest points latest at runs/<runID> in one rename of a new link
// over it: the commit point of a promotion. On failure latest is as it
// was, and the new link is removed.
func (d *outDir) swapLatest(runID string) error {
	tmp := tmpName(d.root, latestTmp)
	if err := d.fs.Symlink(latestTarget(runID), tmp); err != nil {
		return fmt.Errorf("create the new latest link: %w", linkError(err))
	}
	if err := replaceLink(d.fs, tmp, d.latestPath()); err != nil {
		d.fs.Remove(tmp)
		return fmt.Errorf("move latest to run %s: %w", runID, err)
	}
	return nil
}

// promote points latest at a finished run by hand and records ev: the
// commit point is the rename of latest; after it, a failure to sync or
// to write the audit line is a *publishedError (latest has moved).
func (d *outDir) promote(runID string, ev AuditEvent) error {
	if err := d.swapLatest(runID); err != nil {
		return err
	}
	var after []error
	if err := d.fs.SyncDir(d.root); err != nil {
		after = append(after, err)
	}
	if err := d.appendAudit(ev); err != nil {
		after = append(after, fmt.Errorf("write the audit log: %w", err))
	}
	if len(after) > 0 {
		return &publishedError{runID: runID, promoted: true, byHand: true, err: errors.Join(after...)}
	}
	return nil
}

// writeRecord replaces run.json of a run in runs/ (a status change after
// the commit point, or a repair): written beside it, synced, renamed.
func (d *outDir) writeRecord(rec *RunRecord) error {
	b, err := marshalRecord(rec)
	if err != nil {
		return err
	}
	return createAtomic(d.fs, filepath.Join(d.runDir(rec.RunID), RecordFile), 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// marshalRecord is run.json's bytes.
func marshalRecord(rec *RunRecord) ([]byte, error) {
	b, err := json.MarshalIndent(rec, "", "  ")
	return append(b, '\n'), err
}

// publishedError is a failure after the commit point: the run is published
// (and latest points at it when promoted), but a later step (a sync, the
// audit line, the final status) failed. Nothing is undone; the next run
// under the lock finishes the missing steps.
type publishedError struct {
	runID    string
	promoted bool
	byHand   bool
	err      error
}

func (e *publishedError) Error() string {
	what := "is published (rejected by the gate; latest is unchanged)"
	switch {
	case e.byHand:
		what = "is now latest"
	case e.promoted:
		what = "is published and latest points at it"
	}
	return fmt.Sprintf("run %s %s, but a later step failed: %v; the next vaejob run in this --out finishes what is missing", e.runID, what, e.err)
}

func (e *publishedError) Unwrap() error { return e.err }

// prune keeps the newest keep runs (by finish time) and removes the older
// ones, never latest, the run latest replaced, nor a folder that is not a
// run vaejob can vouch for. The caller holds the lock.
func (d *outDir) prune(keep int) error {
	runs, err := d.runRecords()
	if err != nil || len(runs) <= keep {
		return err
	}
	protect := map[string]bool{}
	if latest, _ := d.latest(); latest != "" {
		protect[latest] = true
		if replaced := d.replacedBy(latest); replaced != "" {
			protect[replaced] = true
		}
	}
	for _, r := range runs[:len(runs)-keep] {
		// A folder without a readable run.json is not a run vaejob can
		// vouch for: it is left to a person.
		if protect[r.id] || r.rec == nil {
			continue
		}
		// Move it out of runs/ first, so a crash half-way leaves no half
		// run folder behind.
		gone := tmpName(d.runsDir(), removedPrefix+r.id+"-")
		if err := d.fs.Rename(d.runDir(r.id), gone); err != nil {
			return fmt.Errorf("remove old run %s: %w", r.id, err)
		}
		if err := d.fs.RemoveAll(gone); err != nil {
			return fmt.Errorf("remove old run %s: %w", r.id, err)
		}
		d.log.Info("removed old run (--keep)", "removed_run", r.id, "keep", keep)
	}
	return d.fs.SyncDir(d.runsDir())
}

// replacedBy returns the run that latest pointed at before run became
// latest: from the audit log's last promotion of run, else from run's gate
// record.
func (d *outDir) replacedBy(run string) string {
	evs, _, _ := d.readAudit()
	for i := len(evs) - 1; i >= 0; i-- {
		if ev := evs[i]; ev.RunID == run && isPromotion(ev.Action) {
			return ev.Previous
		}
	}
	if rec, err := d.readRun(run); err == nil && rec.Gate != nil {
		return rec.Gate.Baseline
	}
	return ""
}

// auditEventFor is the audit line of a run publish writes.
func auditEventFor(rec *RunRecord, at time.Time) AuditEvent {
	ev := AuditEvent{Time: at, Action: ActionPromoted, RunID: rec.RunID, Reason: "passed the gate"}
	if rec.Gate != nil {
		ev.Previous = rec.Gate.Baseline
		if rec.Gate.Decision == DecisionRejected {
			ev.Action, ev.Reason = ActionRejected, strings.Join(rec.Gate.Reasons, "; ")
		}
	}
	return ev
}
