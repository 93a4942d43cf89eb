package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// The layout of --out. outDir is the only code that names these entries.
//
//	OUT/
//	  .lock                     held while a run or a promotion works (lock.go)
//	  audit.jsonl               one line per promotion, rejection, orphan (audit.go)
//	  latest -> runs/<run-id>   the published model; moved by one rename
//	  .tmp-latest-<random>      the next latest link, before its rename
//	  runs/<run-id>/            one folder per finished run: run.json, model.onnx, ...
//	  runs/.tmp-<run-id>-<random>   a run being built, before its rename
//	  runs/.tmp-replaced-<run-id>-<random>  a run --force is replacing
//	  runs/.tmp-removed-<run-id>-<random>   a run being removed (--keep, rollback)
//
// Every name beginning with .tmp- is a leftover once the lock is free:
// the next run under the lock removes it (or, for a replaced run whose
// replacement never arrived, puts it back).
const (
	// LockFile is the name of the lock file in --out.
	LockFile = ".lock"
	// AuditFile is the append-only log of promotions, rejections and
	// orphaned runs in --out, one JSON object per line.
	AuditFile = "audit.jsonl"

	runsDirName    = "runs"
	latestName     = "latest"
	tmpPrefix      = ".tmp-"
	oldLatestTmp   = ".latest.tmp-" // the temporary link's name before schema 3 of --out
	replacedPrefix = tmpPrefix + "replaced-"
	removedPrefix  = tmpPrefix + "removed-"
	latestTmp      = tmpPrefix + "latest-"
	latestOldTmp   = tmpPrefix + "latest-old-" // Windows: the link latest replaced, until removed
)

// outDir is the owner of an output folder (--out): its layout, its lock,
// publishing a run, moving latest, the audit log, retention, and the repair
// of what a killed run left. An outDir from viewOut only reads; one from
// openOut holds the lock and may change the folder, always through fs.
type outDir struct {
	root string
	fs   fileSystem
	log  *slog.Logger
	lock *dirLock // nil for a view
}

// viewOut returns a read-only view of the output folder root.
func viewOut(root string) *outDir {
	return &outDir{root: root, fs: diskFS, log: loggerOr(nil)}
}

// openOut checks root, creates it when missing, takes its lock without
// waiting (see lock.go), removes what killed runs left and repairs what
// they did not finish (see repair.go). command and runID name the holder in
// the lock file. The caller must close the outDir.
func openOut(root, command, runID string, log *slog.Logger) (*outDir, error) {
	d := &outDir{root: root, fs: diskFS, log: loggerOr(log)}
	if err := d.check(); err != nil {
		return nil, err
	}
	if err := d.takeLock(command, runID); err != nil {
		return nil, err
	}
	if err := d.repair(); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// close lets the lock go.
func (d *outDir) close() {
	if d.lock != nil {
		d.unlock()
	}
}

func (d *outDir) runsDir() string            { return filepath.Join(d.root, runsDirName) }
func (d *outDir) runDir(runID string) string { return filepath.Join(d.root, runsDirName, runID) }
func (d *outDir) latestPath() string         { return filepath.Join(d.root, latestName) }
func (d *outDir) auditPath() string          { return filepath.Join(d.root, AuditFile) }

// latestTarget is what the latest link holds for a run: a path relative
// to --out, so the folder can be moved or mounted elsewhere.
func latestTarget(runID string) string { return filepath.Join(runsDirName, runID) }

// check makes sure a run can use root before any work is done: root is a
// folder (or can be created), and root/latest, if present, is a symbolic
// link vaejob can replace. Its errors wrap ErrUsage.
func (d *outDir) check() error {
	fi, err := os.Stat(d.root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(filepath.Clean(d.root))
		for {
			pfi, perr := os.Stat(parent)
			if perr == nil {
				if !pfi.IsDir() {
					return fmt.Errorf("%w: --out %s: %s is not a directory", ErrUsage, d.root, parent)
				}
				return nil
			}
			if !errors.Is(perr, fs.ErrNotExist) || parent == filepath.Dir(parent) {
				return fmt.Errorf("%w: --out %s: %w", ErrUsage, d.root, perr)
			}
			parent = filepath.Dir(parent)
		}
	case err != nil:
		return fmt.Errorf("%w: --out %s: %w", ErrUsage, d.root, err)
	case !fi.IsDir():
		return fmt.Errorf("%w: --out %s is a file, not a directory: choose a directory for runs/ and latest", ErrUsage, d.root)
	}
	if err := d.checkRunsDir(); err != nil {
		return err
	}
	return d.checkLatestLink()
}

// checkRunsDir refuses a runs/ that is there but is no folder: a file, or
// a link whose target is missing or is not a folder (a link to a folder,
// say on another volume, is fine). Its errors wrap ErrUsage.
func (d *outDir) checkRunsDir() error {
	runs := d.runsDir()
	if _, err := os.Lstat(runs); errors.Is(err, fs.ErrNotExist) {
		return nil // created by the first run
	}
	fi, err := os.Stat(runs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		target, _ := os.Readlink(runs)
		return fmt.Errorf("%w: --out %s: %s is a link to %s, which does not exist: create that folder or remove the link", ErrUsage, d.root, runs, target)
	case err != nil:
		return fmt.Errorf("%w: --out %s: %w", ErrUsage, d.root, err)
	case !fi.IsDir():
		return fmt.Errorf("%w: --out %s: %s is not a folder: move it away so that runs/ can hold the runs", ErrUsage, d.root, runs)
	}
	return nil
}

// checkLatestLink refuses a latest that exists and is not a symbolic link
// (a file or folder someone put there): vaejob replaces only its own link,
// never a file or folder of that name.
func (d *outDir) checkLatestLink() error {
	if lfi, err := os.Lstat(d.latestPath()); err == nil && lfi.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%w: %s exists and is not a symlink: vaejob keeps latest as a link to runs/<run-id>; move it away", ErrUsage, d.latestPath())
	}
	return nil
}

// latest returns the run id latest points at, "" when there is no latest.
func (d *outDir) latest() (string, error) {
	target, err := os.Readlink(d.latestPath())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", d.latestPath(), err)
	}
	dir, id := filepath.Split(filepath.Clean(target))
	if filepath.Clean(dir) != runsDirName || CheckRunID(id) != nil {
		return "", fmt.Errorf("%s points at %s, not at runs/<run-id>; point it at a run with vaejob promote", d.latestPath(), target)
	}
	return id, nil
}

// runIDs lists the run folders in runs/ (not the temporary ones, nor a
// link or a file someone put there), in name order; none when runs/ is
// missing.
func (d *outDir) runIDs() ([]string, error) {
	entries, err := os.ReadDir(d.runsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.runsDir(), err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// checkRunFolder makes sure runs/<runID> is a folder of its own, not a
// link (to another folder vaejob would then read, promote or replace) nor a
// file; its errors wrap ErrUsage. A missing folder wraps fs.ErrNotExist.
func (d *outDir) checkRunFolder(runID string) error {
	dir := d.runDir(runID)
	fi, err := os.Lstat(dir)
	switch {
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(dir)
		return fmt.Errorf("%w: %s is a symbolic link (to %s); vaejob keeps each run in a folder of its own inside runs/ and never follows a link there: move it away or pick another run id", ErrUsage, dir, target)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is a %s, not a run folder: move it away or pick another run id", ErrUsage, dir, regfile.Kind(fi.Mode()))
	}
	return nil
}

// readRun reads the record of a run in runs/.
func (d *outDir) readRun(runID string) (*RunRecord, error) {
	return readRecord(d.runDir(runID))
}

// finishedRun returns the result of a run that already finished under
// runID, nil if there is none.
func (d *outDir) finishedRun(runID string) (*TrainResult, error) {
	dir := d.runDir(runID)
	if err := d.checkRunFolder(runID); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	rec, err := readRecord(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s exists but holds no %s: it was not made by vaejob train; move it away or pick another --run-id", ErrUsage, dir, RecordFile)
	}
	if err != nil {
		return nil, err
	}
	return &TrainResult{RunID: rec.RunID, RunDir: dir, Record: rec, AlreadyDone: true}, nil
}

// tmpSuffixLen is the length of the random part tmpName adds.
const tmpSuffixLen = 12

// tmpRunID returns the run id in a temporary name prefix+<run-id>-<random>
// that tmpName made.
func tmpRunID(name, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || len(rest) < tmpSuffixLen+2 || rest[len(rest)-tmpSuffixLen-1] != '-' {
		return "", false
	}
	id := rest[:len(rest)-tmpSuffixLen-1]
	return id, CheckRunID(id) == nil
}

// tmpName returns a new name in dir that starts with prefix and ends in
// random hex, for a temporary file, folder or link.
func tmpName(dir, prefix string) string {
	var b [tmpSuffixLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return filepath.Join(dir, prefix+hex.EncodeToString(b[:]))
}
