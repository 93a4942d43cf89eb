package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// repair puts --out in order before a run or a promotion changes it: it
// removes the leftovers of killed runs and finishes the runs they left
// between their folder's rename and the end of publishing. The caller
// holds the lock, so no live process owns what it finds.
func (d *outDir) repair() error {
	if err := d.removeLeftovers(); err != nil {
		return err
	}
	return d.finishRuns()
}

// removeLeftovers deletes the temporary files, folders and links a killed
// run left (every .tmp- name of the layout, see outdir.go), except a run
// that a killed --force run moved aside and never replaced: that one is put
// back.
func (d *outDir) removeLeftovers() error {
	remove := func(path string) error {
		if err := d.fs.RemoveAll(path); err != nil {
			return fmt.Errorf("remove leftover %s: %w", path, err)
		}
		d.log.Warn("removed a leftover of an unfinished run", "path", path)
		return nil
	}
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return fmt.Errorf("list --out %s: %w", d.root, err)
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, tmpPrefix) || strings.HasPrefix(n, oldLatestTmp) {
			if err := remove(filepath.Join(d.root, n)); err != nil {
				return err
			}
		}
	}
	entries, err = os.ReadDir(d.runsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", d.runsDir(), err)
	}
	changed := false
	for _, e := range entries {
		n := e.Name()
		path := filepath.Join(d.runsDir(), n)
		if id, ok := tmpRunID(n, replacedPrefix); ok {
			if _, err := os.Lstat(d.runDir(id)); errors.Is(err, fs.ErrNotExist) {
				if err := d.fs.Rename(path, d.runDir(id)); err != nil {
					return fmt.Errorf("put back run %s: %w", id, err)
				}
				d.log.Warn("put back a run that a stopped --force run had moved aside", "run_id", id)
				changed = true
				continue
			}
		}
		if strings.HasPrefix(n, tmpPrefix) {
			if err := remove(path); err != nil {
				return err
			}
			changed = true
			continue
		}
		if !e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		// A status change cut short leaves a temporary run.json.
		inner, _ := os.ReadDir(path)
		for _, f := range inner {
			if strings.HasPrefix(f.Name(), tmpPrefix) {
				if err := remove(filepath.Join(path, f.Name())); err != nil {
					return err
				}
			}
		}
	}
	if changed {
		return d.fs.SyncDir(d.runsDir())
	}
	return nil
}

// finishRuns gives every run still marked publishing the status it ended
// with, and the audit line it did not write:
//   - latest points at it: it passed the commit point; succeeded;
//   - the gate rejected it: its folder was in runs/; rejected;
//   - otherwise it stopped before latest moved: orphaned. It never served,
//     and it is never promoted here (vaejob promote can).
//
// It also records a latest that the audit log does not name (a promotion
// whose audit line was lost).
func (d *outDir) finishRuns() error {
	latest, err := d.latest()
	if err != nil {
		return kind(ErrUsage, err)
	}
	runs, err := d.runRecords()
	if err != nil {
		return err
	}
	evs, _, err := d.readAudit()
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	recorded := func(runID, action string) bool {
		for _, ev := range evs {
			if ev.RunID == runID && ev.Action == action {
				return true
			}
		}
		return false
	}
	now := time.Now().UTC()
	for _, r := range runs {
		id, rec := r.id, r.rec
		if rec == nil || rec.Status != StatusPublishing {
			continue // a damaged run is left to a person (runs list shows it)
		}
		ev := auditEventFor(rec, now)
		switch {
		case id == latest:
			rec.Status = StatusSucceeded
			ev.Reason += "; recorded by a later run: the run stopped after it moved latest"
		case ev.Action == ActionRejected:
			rec.Status = StatusRejected
			ev.Reason += "; recorded by a later run: the run stopped after it published its folder"
		default:
			rec.Status = StatusOrphaned
			ev.Action = ActionOrphaned
			ev.Previous = latest
			ev.Reason = "the run stopped after it published its folder but before it moved latest; it never served (promote it with vaejob promote, or redo it)"
			d.log.Warn("found an orphaned run: it passed the gate but never became latest; marked orphaned", "orphan", id, "latest", orNone(latest))
		}
		if !recorded(id, ev.Action) {
			if err := d.appendAudit(ev); err != nil {
				return fmt.Errorf("record run %s in the audit log: %w", id, err)
			}
			evs = append(evs, ev)
		}
		if err := d.writeRecord(rec); err != nil {
			return fmt.Errorf("record the status of run %s: %w", id, err)
		}
		if rec.Status != StatusOrphaned {
			d.log.Warn("finished the record of a run that was stopped after its commit point", "finished_run", id, "status", rec.Status)
		}
	}
	// Without any audit event (a folder from before the audit log, or one
	// whose log was removed) there is nothing to compare latest with.
	if latest == "" || len(evs) == 0 {
		return nil
	}
	lastPromoted := ""
	for _, ev := range evs {
		if isPromotion(ev.Action) {
			lastPromoted = ev.RunID
		}
	}
	if lastPromoted != latest {
		ev := AuditEvent{Time: now, Action: ActionPromoted, RunID: latest, Previous: lastPromoted,
			Reason: "latest points at this run but the audit log did not say so (a promotion stopped before its audit line); recorded by a later run"}
		if err := d.appendAudit(ev); err != nil {
			return fmt.Errorf("record latest in the audit log: %w", err)
		}
		d.log.Warn("recorded a promotion the audit log lacked", "latest", latest)
	}
	return nil
}
