package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// faultFS is a fileSystem that records every step it is asked to do and
// makes one of them fail: step failAt (1-based) fails with errno, and, when
// sticky, so does every later step but removals (a full disk still lets
// files go) or, for EROFS, every later step at all (a file system remounted
// read-only).
type faultFS struct {
	base   fileSystem
	root   string
	mu     sync.Mutex
	steps  []string
	failAt int
	errno  syscall.Errno
	sticky bool
}

// tmpRandom matches the random part of tmpName's names.
var tmpRandom = regexp.MustCompile(`[0-9a-f]{12}`)

// step records one step and says whether it fails.
func (f *faultFS) step(op, path string, removal bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel, err := filepath.Rel(f.root, path)
	if err != nil {
		rel = path
	}
	f.steps = append(f.steps, op+" "+tmpRandom.ReplaceAllString(rel, "*"))
	n := len(f.steps)
	if f.failAt == 0 || n < f.failAt {
		return nil
	}
	if n == f.failAt || f.sticky && (!removal || f.errno == syscall.EROFS) {
		return &fs.PathError{Op: op, Path: path, Err: f.errno}
	}
	return nil
}

func (f *faultFS) Mkdir(name string, perm fs.FileMode) error {
	if err := f.step("mkdir", name, false); err != nil {
		return err
	}
	return f.base.Mkdir(name, perm)
}

func (f *faultFS) MkdirAll(name string, perm fs.FileMode) error {
	if err := f.step("mkdir -p", name, false); err != nil {
		return err
	}
	return f.base.MkdirAll(name, perm)
}

func (f *faultFS) OpenFile(name string, flag int) (ownedFile, error) {
	if err := f.step("create", name, false); err != nil {
		return nil, err
	}
	file, err := f.base.OpenFile(name, flag)
	if err != nil {
		return nil, err
	}
	return &faultFile{ownedFile: file, fs: f}, nil
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	rel, _ := filepath.Rel(f.root, newpath)
	if err := f.step("rename →"+tmpRandom.ReplaceAllString(rel, "*"), oldpath, false); err != nil {
		return err
	}
	return f.base.Rename(oldpath, newpath)
}

func (f *faultFS) Symlink(oldname, newname string) error {
	if err := f.step("symlink", newname, false); err != nil {
		return err
	}
	return f.base.Symlink(oldname, newname)
}

func (f *faultFS) Remove(name string) error {
	if err := f.step("remove", name, true); err != nil {
		return err
	}
	return f.base.Remove(name)
}

func (f *faultFS) RemoveAll(name string) error {
	if err := f.step("remove -r", name, true); err != nil {
		return err
	}
	return f.base.RemoveAll(name)
}

func (f *faultFS) SyncDir(name string) error {
	if err := f.step("fsync dir", name, false); err != nil {
		return err
	}
	return f.base.SyncDir(name)
}

// faultFile makes the writes and syncs of a file steps of its faultFS.
type faultFile struct {
	ownedFile
	fs *faultFS
}

func (f *faultFile) Write(b []byte) (int, error) {
	if err := f.fs.step("write", f.Name(), false); err != nil {
		return 0, err
	}
	return f.ownedFile.Write(b)
}

func (f *faultFile) WriteAt(b []byte, off int64) (int, error) {
	if err := f.fs.step("write", f.Name(), false); err != nil {
		return 0, err
	}
	return f.ownedFile.WriteAt(b, off)
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.fs.step("truncate", f.Name(), false); err != nil {
		return err
	}
	return f.ownedFile.Truncate(size)
}

func (f *faultFile) Sync() error {
	if err := f.fs.step("fsync", f.Name(), false); err != nil {
		return err
	}
	return f.ownedFile.Sync()
}

// The faults every step is made to fail with.
var faults = []struct {
	name   string
	errno  syscall.Errno
	sticky bool
}{
	{"ENOSPC", syscall.ENOSPC, true},
	{"EIO", syscall.EIO, false},
	{"EROFS", syscall.EROFS, true},
}

// testRun makes the record and files of a run for publish.
func testRun(runID string, decision, baseline string) (*RunRecord, []namedFile) {
	files := []namedFile{{ModelFile, []byte("model of " + runID)}, {ValidationSampleFile, []byte(`{"rows":[]}`)}}
	rec := &RunRecord{Schema: RunRecordSchema, RunID: runID, Status: StatusSucceeded, FinishedAt: time.Now().UTC(),
		Gate: &GateRecord{Decision: decision, Baseline: baseline}}
	if decision == DecisionRejected {
		rec.Status = StatusRejected
		rec.Gate.Reasons = []string{"schema: features differ"}
	}
	for _, f := range files {
		rec.Artifacts = append(rec.Artifacts, Artifact{Name: f.name, Size: int64(len(f.data)), SHA256: sha256Hex(f.data)})
	}
	return rec, files
}

// publishClean publishes a run with the real file system.
func publishClean(t *testing.T, root, runID, decision, baseline string) {
	t.Helper()
	d, err := openOut(root, "train", runID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	rec, files := testRun(runID, decision, baseline)
	if err := d.publish(context.Background(), rec, files, auditEventFor(rec, rec.FinishedAt)); err != nil {
		t.Fatal(err)
	}
}

// faultScenario is one operation on --out made to fail at each step.
type faultScenario struct {
	name string
	// setup fills a fresh --out; earlier lists the runs that must come
	// through untouched whatever fails.
	setup   func(t *testing.T, root string)
	earlier []string
	// latestBefore and latestAfter are where latest must point when the
	// failing step comes before and at or after the commit step (the step
	// whose label starts with commit; "" when nothing commits).
	latestBefore, latestAfter string
	commit                    string
	// run does the operation on d (which holds the lock).
	run func(d *outDir) error
	// retry finishes the work after a failure, as the scheduler's retry
	// would; nil when a retry is not part of the scenario.
	retry func(t *testing.T, root string)
}

func faultScenarios() []faultScenario {
	baseAndOld := func(t *testing.T, root string) {
		publishClean(t, root, "old", DecisionPromoted, "")
		publishClean(t, root, "base", DecisionPromoted, "old")
	}
	publishNew := func(decision string) func(d *outDir) error {
		return func(d *outDir) error {
			rec, files := testRun("new", decision, "base")
			return d.publish(context.Background(), rec, files, auditEventFor(rec, rec.FinishedAt))
		}
	}
	return []faultScenario{
		{
			name: "publish a promoted run", setup: baseAndOld, earlier: []string{"old", "base"},
			latestBefore: "base", latestAfter: "new", commit: "rename →latest",
			run:   publishNew(DecisionPromoted),
			retry: func(t *testing.T, root string) { publishClean(t, root, "new", DecisionPromoted, "base") },
		},
		{
			name: "publish a rejected run", setup: baseAndOld, earlier: []string{"old", "base"},
			latestBefore: "base", latestAfter: "base",
			run: publishNew(DecisionRejected),
		},
		{
			name: "publish over a run (--force)",
			setup: func(t *testing.T, root string) {
				baseAndOld(t, root)
				publishClean(t, root, "new", DecisionRejected, "base")
			},
			earlier:      []string{"old", "base"},
			latestBefore: "base", latestAfter: "new", commit: "rename →latest",
			run: publishNew(DecisionPromoted),
		},
		{
			name: "promote by hand", setup: baseAndOld, earlier: []string{"old", "base"},
			latestBefore: "base", latestAfter: "old", commit: "rename →latest",
			run: func(d *outDir) error {
				return d.promote("old", AuditEvent{Time: time.Now(), Action: ActionPromotedByHand, RunID: "old", Previous: "base"})
			},
		},
		{
			name: "remove old runs (--keep 1)",
			setup: func(t *testing.T, root string) {
				baseAndOld(t, root)
				publishClean(t, root, "rejected", DecisionRejected, "base")
				publishClean(t, root, "newest", DecisionPromoted, "base")
			},
			earlier:      []string{"base", "newest"},
			latestBefore: "newest", latestAfter: "newest",
			run: func(d *outDir) error { return d.prune(1) },
		},
	}
}

// TestFaultsInPublishing makes every step of publishing, promotion and
// retention fail in turn with ENOSPC, EIO and EROFS, and checks after each:
// the error carries the fault (so the exit code is the machine-fault one),
// latest points where the commit point says, at a run whose files match
// their SHA-256; earlier runs are untouched; and once the next run has
// repaired --out, nothing is left in a .tmp- name and no run is still
// publishing. With -v it logs the table of fault × step → latest and
// leftovers.
func TestFaultsInPublishing(t *testing.T) {
	for _, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			steps := recordSteps(t, sc)
			commitAt := 0
			for i, s := range steps {
				if sc.commit != "" && strings.HasPrefix(s, sc.commit) {
					commitAt = i + 1
				}
			}
			if sc.commit != "" && commitAt == 0 {
				t.Fatalf("no step %q among %q", sc.commit, steps)
			}
			var table strings.Builder
			fmt.Fprintf(&table, "\n%s: ENOSPC / EIO / EROFS at each step\n| # | step | latest after the fault | left before repair | new run after repair |\n|---|---|---|---|---|\n", sc.name)
			for i, label := range steps {
				var latest, left, repaired []string
				for _, fault := range faults {
					l, lf, rp := runFault(t, sc, i+1, commitAt, fault.errno, fault.sticky)
					latest, left, repaired = append(latest, l), append(left, lf), append(repaired, rp)
				}
				fmt.Fprintf(&table, "| %d | %s | %s | %s | %s |\n", i+1, label, strings.Join(latest, " / "), strings.Join(left, " / "), strings.Join(repaired, " / "))
			}
			t.Log(table.String())
		})
	}
}

// recordSteps runs the scenario on the real file system and returns the
// steps it took.
func recordSteps(t *testing.T, sc faultScenario) []string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "out")
	sc.setup(t, root)
	rec := &faultFS{base: osFS{}, root: root}
	d, err := openOut(root, "test", "new", nil)
	if err != nil {
		t.Fatal(err)
	}
	d.fs = rec
	err = sc.run(d)
	d.fs = osFS{}
	d.close()
	if err != nil {
		t.Fatalf("without a fault: %v", err)
	}
	if len(rec.steps) == 0 {
		t.Fatal("no steps recorded")
	}
	return rec.steps
}

// runFault runs the scenario with step failAt failing and checks what it
// leaves; it returns where latest points, the leftovers before repair and
// the state after it, for the table.
func runFault(t *testing.T, sc faultScenario, failAt, commitAt int, errno syscall.Errno, sticky bool) (latest, left, repaired string) {
	t.Helper()
	name := fmt.Sprintf("step %d %v", failAt, errno)
	root := filepath.Join(t.TempDir(), "out")
	sc.setup(t, root)
	before := snapshotRuns(t, root, sc.earlier)
	d, err := openOut(root, "test", "new", nil)
	if err != nil {
		t.Fatal(err)
	}
	d.fs = &faultFS{base: osFS{}, root: root, failAt: failAt, errno: errno, sticky: sticky}
	err = sc.run(d)
	d.fs = osFS{}
	d.close()
	if !errors.Is(err, errno) || !IsMachineFault(err) {
		t.Errorf("%s: error %v, want a machine fault (exit 8) that carries %v", name, err, errno)
	}
	want := sc.latestBefore
	if commitAt > 0 && failAt > commitAt {
		want = sc.latestAfter
		var pe *publishedError
		if !errors.As(err, &pe) {
			t.Errorf("%s: a failure after the commit point is %T, want a *publishedError saying the run is published", name, err)
		}
	}
	view := viewOut(root)
	checkLatest(t, name, view, want)
	checkUntouched(t, name, root, before)
	left = strings.Join(leftovers(root), ", ")
	if left == "" {
		left = "none"
	}
	// The next run under the lock repairs what the fault left.
	d, err = openOut(root, "test", "next", nil)
	if err != nil {
		t.Fatalf("%s: the next run cannot open --out: %v", name, err)
	}
	d.close()
	checkLatest(t, name+", repaired", view, want)
	checkUntouched(t, name+", repaired", root, before)
	if l := leftovers(root); len(l) > 0 {
		t.Errorf("%s: left after repair: %v", name, l)
	}
	repaired = checkSettled(t, name, view)
	if sc.retry != nil {
		sc.retry(t, root)
		checkLatest(t, name+", retried", view, sc.latestAfter)
	}
	return want, left, repaired
}

// checkLatest checks that latest points at want, whose files match the
// SHA-256 its run.json records.
func checkLatest(t *testing.T, step string, d *outDir, want string) {
	t.Helper()
	got, err := d.latest()
	if err != nil || got != want {
		t.Errorf("%s: latest = %q (%v), want %q", step, got, err, want)
		return
	}
	rec, err := d.readRun(got)
	if err != nil {
		t.Errorf("%s: latest's run.json: %v", step, err)
		return
	}
	if p := checkArtifacts(d.runDir(got), rec.Artifacts); len(p) > 0 {
		t.Errorf("%s: latest's files: %v", step, p)
	}
}

// snapshotRuns reads every file of the named runs.
func snapshotRuns(t *testing.T, root string, runs []string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	for _, r := range runs {
		dir := filepath.Join(root, runsDirName, r)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			sums[filepath.Join(r, e.Name())] = sha256.Sum256(b)
		}
	}
	return sums
}

// checkUntouched compares the earlier runs with their snapshot.
func checkUntouched(t *testing.T, step, root string, before map[string][32]byte) {
	t.Helper()
	var runs []string
	for p := range before {
		if r := filepath.Dir(p); !slices.Contains(runs, r) {
			runs = append(runs, r)
		}
	}
	after := snapshotRuns(t, root, runs)
	for p, sum := range before {
		if a, ok := after[p]; !ok || !bytes.Equal(a[:], sum[:]) {
			t.Errorf("%s: earlier run file %s changed or went away", step, p)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%s: earlier runs hold %d files, had %d", step, len(after), len(before))
	}
}

// leftovers lists the temporary names in --out, in runs/ and in each run.
func leftovers(root string) []string {
	var left []string
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			rel, _ := filepath.Rel(root, filepath.Join(dir, e.Name()))
			switch {
			case strings.HasPrefix(e.Name(), tmpPrefix):
				left = append(left, tmpRandom.ReplaceAllString(rel, "*"))
			case e.IsDir() && depth < 2:
				walk(filepath.Join(dir, e.Name()), depth+1)
			}
		}
	}
	walk(root, 0)
	return left
}

// checkSettled checks that no run is still publishing, every run has an
// audit line and the last promotion in the audit log is latest, and
// describes the runs for the table.
func checkSettled(t *testing.T, step string, d *outDir) string {
	t.Helper()
	ids, err := d.runIDs()
	if err != nil {
		t.Fatal(err)
	}
	evs, _, _ := d.readAudit()
	var parts []string
	for _, id := range ids {
		rec, err := d.readRun(id)
		if err != nil {
			t.Errorf("%s: run %s: %v", step, id, err)
			continue
		}
		if rec.Status == StatusPublishing {
			t.Errorf("%s: run %s is still publishing after repair", step, id)
		}
		if !slices.ContainsFunc(evs, func(ev AuditEvent) bool { return ev.RunID == id }) {
			t.Errorf("%s: run %s has no audit line", step, id)
		}
		if id == "new" || rec.Status == StatusOrphaned {
			parts = append(parts, id+" "+string(rec.Status))
		}
	}
	// The audit log's last promotion names latest.
	last := ""
	for _, ev := range evs {
		if isPromotion(ev.Action) {
			last = ev.RunID
		}
	}
	if latest, _ := d.latest(); last != latest {
		t.Errorf("%s: latest is %q but the audit log's last promotion is %q", step, latest, last)
	}
	if len(parts) == 0 {
		return "no new run"
	}
	return strings.Join(parts, ", ")
}

// TestFaultsOpeningOut makes every step of taking the lock and repairing a
// killed run's leftovers and orphan fail in turn: the error carries the
// fault, --out is not left locked, no earlier run changes, and a later
// open still repairs everything.
func TestFaultsOpeningOut(t *testing.T) {
	setup := func(t *testing.T, root string) {
		publishClean(t, root, "base", DecisionPromoted, "")
		// A run killed between its rename and latest's: still publishing.
		rec, files := testRun("orphan", DecisionPromoted, "base")
		rec.Status = StatusPublishing
		d := viewOut(root)
		if err := os.Mkdir(d.runDir("orphan"), 0o755); err != nil {
			t.Fatal(err)
		}
		b, _ := marshalRecord(rec)
		for _, f := range append(files, namedFile{RecordFile, b}) {
			if err := os.WriteFile(filepath.Join(d.runDir("orphan"), f.name), f.data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.MkdirAll(filepath.Join(d.runsDir(), ".tmp-killed-0123456789ab", "half"), 0o755)
	}
	root := filepath.Join(t.TempDir(), "out")
	setup(t, root)
	rec := &faultFS{base: osFS{}, root: root}
	diskFS = rec
	d, err := openOut(root, "test", "r", nil)
	diskFS = osFS{}
	if err != nil {
		t.Fatal(err)
	}
	steps := slices.Clone(rec.steps)
	d.close()
	for i, label := range steps {
		for _, fault := range faults {
			name := fmt.Sprintf("step %d (%s) %v", i+1, label, fault.errno)
			root := filepath.Join(t.TempDir(), "out")
			setup(t, root)
			before := snapshotRuns(t, root, []string{"base"})
			diskFS = &faultFS{base: osFS{}, root: root, failAt: i + 1, errno: fault.errno, sticky: fault.sticky}
			d, err := openOut(root, "test", "r", slog.New(slog.DiscardHandler))
			diskFS = osFS{}
			if err == nil {
				d.close()
				// Only steps whose failure the open may survive: none.
				t.Errorf("%s: openOut succeeded", name)
				continue
			}
			if !errors.Is(err, fault.errno) || !IsMachineFault(err) {
				t.Errorf("%s: error %v, want a machine fault (exit 8) that carries %v", name, err, fault.errno)
			}
			checkUntouched(t, name, root, before)
			d, err = openOut(root, "test", "again", nil)
			if err != nil {
				t.Fatalf("%s: --out stays unusable after the fault: %v", name, err)
			}
			d.close()
			if l := leftovers(root); len(l) > 0 {
				t.Errorf("%s: left after repair: %v", name, l)
			}
			checkSettled(t, name, viewOut(root))
			checkLatest(t, name, viewOut(root), "base")
		}
	}
}
