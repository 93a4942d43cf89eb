package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RunDiff is vaejob runs diff: two runs' records compared field by field.
// Fields holds every compared field of run.json, in the order of
// diffSections, each named by its dotted path in run.json (config.seed,
// threshold.value, gate.checks.schema.passed; an element of a list of
// named objects is keyed by its name, any other by its index from 0).
type RunDiff struct {
	// Schema is DiffSchema.
	Schema int      `json:"schema_version"`
	A      DiffSide `json:"a"`
	B      DiffSide `json:"b"`
	// Compared counts the fields compared; Differing those that differ.
	Compared  int           `json:"compared"`
	Differing int           `json:"differing"`
	Sections  []SectionDiff `json:"sections"`
	// Features says how B's features differ from A's.
	Features FeatureDiff `json:"features"`
	Fields   []FieldDiff `json:"fields"`
}

// DiffSchema is the version of vaejob runs diff --json's layout; it
// changes when a field changes meaning or goes away.
const DiffSchema = 1

// DiffSide names one of the two runs compared and whether its files are
// intact, as vaejob runs show reports it.
type DiffSide struct {
	// Ref is the run as given: a run id or latest.
	Ref        string     `json:"ref"`
	RunID      string     `json:"run_id"`
	Status     RunStatus  `json:"status"`
	Latest     bool       `json:"latest"`
	FinishedAt time.Time  `json:"finished_at"`
	Intact     bool       `json:"artifacts_intact"`
	Problems   []string   `json:"problems,omitempty"`
	record     *RunRecord // nil: run.json could not be read
}

// SectionDiff counts the fields of one section and those that differ.
type SectionDiff struct {
	Name      string `json:"name"`
	Compared  int    `json:"compared"`
	Differing int    `json:"differing"`
}

// FeatureDiff says which features B adds to A's, which it removes, and
// which of the features both have are in another order.
type FeatureDiff struct {
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	Reordered []string `json:"reordered"`
}

// FieldDiff is one field of run.json in both runs: its value in each (as
// run.json writes it; null where the run has no such field) and whether
// they differ.
type FieldDiff struct {
	Section string          `json:"section"`
	Path    string          `json:"path"`
	A       json.RawMessage `json:"a"`
	B       json.RawMessage `json:"b"`
	Differ  bool            `json:"differ"`
	section int             // index in diffSections
	label   string
}

// diffSections are the sections of vaejob runs diff in the order it
// prints them, each with the run.json fields (path prefixes) it holds; a
// field in none is not compared.
var diffSections = []struct {
	Name   string
	Fields []string
}{
	{"settings", []string{"config"}},
	{"inputs", []string{"inputs", "config_file"}},
	{"rows", []string{"rows", "labels", "missing"}},
	{"features", []string{"features", "skipped_columns", "constant_features", "constant_in_training", "ignored_features"}},
	{"threshold", []string{"threshold"}},
	{"validation metrics", []string{"validation_metrics"}},
	{"gate", []string{"status", "gate"}},
	{"training", []string{"training", "latent"}},
	{"versions", []string{"versions", "schema_version"}},
}

// notCompared are the run.json fields runs diff leaves out: those that
// differ between any two runs (ids, times, the model's files, the cores
// and memory limit the run was given, which change no output) or are
// learnt numbers rather than settings or outcomes (the scaler, the
// imputation medians, every epoch's losses: the final ones are compared
// as training.final_epoch). A field named notComparedKey is left out too,
// wherever it is.
var notCompared = []string{
	"run_id", "started_at", "finished_at", "timings_seconds", "machine", "artifacts", "scaler",
	"latent.posterior_mean_variance", "training.epochs", "missing.policy", "missing.imputation_values",
	finalEpoch + ".steps", // training.steps
}

// notComparedKey is the gate checks' detail: the sentence that says what
// their value, limit and passed say.
const notComparedKey = "detail"

// finalEpoch is the path under which the last epoch's losses are compared.
const finalEpoch = "training.final_epoch"

// DiffRuns compares two runs of out, each named by its id or as latest.
// A run whose files do not match their SHA-256 is compared all the same
// and flagged, as vaejob runs show flags it; a run whose run.json cannot
// be read cannot be compared (ErrBadInput).
func DiffRuns(out, refA, refB string) (*RunDiff, error) {
	a, err := diffSide(out, refA)
	if err != nil {
		return nil, err
	}
	b, err := diffSide(out, refB)
	if err != nil {
		return nil, err
	}
	return diffRuns(a, b)
}

// diffSide reads one run for DiffRuns through ShowRun, latest resolved
// to the run it points at.
func diffSide(out, ref string) (DiffSide, error) {
	id := ref
	if ref == latestName {
		d := viewOut(out)
		if err := d.checkView(); err != nil {
			return DiffSide{}, err
		}
		latest, err := d.latest()
		if err != nil {
			return DiffSide{}, fmt.Errorf("%w: %w", ErrUsage, err)
		}
		if latest == "" {
			return DiffSide{}, fmt.Errorf("%w: %s has no latest run yet; name a run id (see vaejob runs list --out %s)", ErrUsage, out, out)
		}
		id = latest
	}
	detail, err := ShowRun(out, id)
	if err != nil {
		return DiffSide{}, err
	}
	if detail.Record == nil {
		return DiffSide{}, fmt.Errorf("%w: run %s cannot be compared: %s", ErrBadInput, id, strings.Join(detail.Problems, "; "))
	}
	return sideOf(ref, detail), nil
}

// sideOf is the DiffSide of a run vaejob runs show described.
func sideOf(ref string, d *RunDetail) DiffSide {
	return DiffSide{Ref: ref, RunID: d.RunID, Status: d.Status, Latest: d.Latest, FinishedAt: d.FinishedAt,
		Intact: d.Intact, Problems: d.Problems, record: d.Record}
}

// diffRuns compares the records of two runs.
func diffRuns(a, b DiffSide) (*RunDiff, error) {
	la, err := diffLeaves(a.record)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", a.RunID, err)
	}
	lb, err := diffLeaves(b.record)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", b.RunID, err)
	}
	d := &RunDiff{Schema: DiffSchema, A: a, B: b, Features: featureDiff(a.record.Features, b.record.Features)}
	for _, s := range diffSections {
		d.Sections = append(d.Sections, SectionDiff{Name: s.Name})
	}
	for _, f := range alignLeaves(la, lb) {
		s := &d.Sections[f.section]
		s.Compared++
		d.Compared++
		if f.Differ {
			s.Differing++
			d.Differing++
		}
		d.Fields = append(d.Fields, f)
	}
	return d, nil
}

// leaf is one value of a flattened record: its path and its JSON text,
// with the section it belongs to and the path's label for people.
type leaf struct {
	path    string
	section int
	label   string
	value   json.RawMessage
}

// diffLeaves flattens a record into the leaves runs diff compares: every
// field but notCompared, the last epoch's losses as training.final_epoch,
// each in its section.
func diffLeaves(rec *RunRecord) ([]leaf, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var all []leaf
	if err := flattenJSON(nil, raw, &all); err != nil {
		return nil, err
	}
	if n := len(rec.Training.Epochs); n > 0 {
		last, err := json.Marshal(rec.Training.Epochs[n-1])
		if err != nil {
			return nil, err
		}
		var at []segment
		for _, key := range strings.Split(finalEpoch, ".") {
			at = append(at, segment{key: key})
		}
		if err := flattenJSON(at, last, &all); err != nil {
			return nil, err
		}
	}
	var out []leaf
	for _, l := range all {
		if sec := sectionOf(l.path); sec >= 0 && !underAny(l.path, notCompared) && !strings.HasSuffix(l.path, "."+notComparedKey) {
			l.section = sec
			out = append(out, l)
		}
	}
	slices.SortStableFunc(out, func(x, y leaf) int { return x.section - y.section })
	return out, nil
}

// sectionOf returns the index in diffSections of the section that holds
// path, -1 for none.
func sectionOf(path string) int {
	for i, s := range diffSections {
		if underAny(path, s.Fields) {
			return i
		}
	}
	return -1
}

// underAny says whether path is one of prefixes or a field below one.
func underAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+".") {
			return true
		}
	}
	return false
}

// segment is one step of a leaf's path: a JSON key, an element's name
// (named) or an element's index.
type segment struct {
	key   string
	named bool
	index int // a list element's index + 1; 0: not a list element
}

// maxFlattenDepth bounds the depth of the paths flattenJSON makes (each
// level reads its value again); a value deeper is one leaf. run.json
// nests 4 levels deep.
const maxFlattenDepth = 16

// flattenJSON appends the leaves of a JSON value below the path at: an object
// gives one leaf for each of its fields, recursively; a list of objects
// one for each element (keyed by its "name" when every element has one,
// else by its index); a list of scalars and a scalar are one leaf, as is
// any value maxFlattenDepth deep. Empty lists and objects and null give
// none.
func flattenJSON(at []segment, raw json.RawMessage, out *[]leaf) error {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil
	case len(at) >= maxFlattenDepth: // one leaf, below
	case raw[0] == '{':
		fields, err := objectFields(raw)
		if err != nil {
			return err
		}
		for _, f := range fields {
			if err := flattenJSON(append(slices.Clip(at), segment{key: f.key}), f.value, out); err != nil {
				return err
			}
		}
		return nil
	case raw[0] == '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return err
		}
		if len(elems) == 0 {
			return nil
		}
		if bytes.HasPrefix(bytes.TrimSpace(elems[0]), []byte("{")) {
			return flattenList(at, elems, out)
		}
	}
	*out = append(*out, newLeaf(at, raw))
	return nil
}

// flattenList flattens the elements of a list of objects: each keyed by
// its name when every element has a name of its own, else by its index.
func flattenList(at []segment, elems []json.RawMessage, out *[]leaf) error {
	names := elementNames(elems)
	for i, e := range elems {
		if names == nil {
			if err := flattenJSON(append(slices.Clip(at), segment{key: strconv.Itoa(i), index: i + 1}), e, out); err != nil {
				return err
			}
			continue
		}
		fields, err := objectFields(e)
		if err != nil {
			return err
		}
		path := append(slices.Clip(at), segment{key: names[i], named: true})
		for _, f := range fields {
			if f.key == "name" {
				continue
			}
			if err := flattenJSON(append(slices.Clip(path), segment{key: f.key}), f.value, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// elementNames returns the "name" of each element of a list of objects,
// nil unless every element has one and no two share it.
func elementNames(elems []json.RawMessage) []string {
	names := make([]string, len(elems))
	for i, e := range elems {
		var named struct {
			Name *string `json:"name"`
		}
		if json.Unmarshal(e, &named) != nil || named.Name == nil || slices.Contains(names[:i], *named.Name) {
			return nil
		}
		names[i] = *named.Name
	}
	return names
}

// jsonField is one field of a JSON object.
type jsonField struct {
	key   string
	value json.RawMessage
}

// objectFields returns the fields of a JSON object in their order.
func objectFields(raw json.RawMessage) ([]jsonField, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var fields []jsonField
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("a JSON object's key is %v", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, jsonField{key: key, value: v})
	}
	return fields, nil
}

// newLeaf makes the leaf of a value at a path.
func newLeaf(at []segment, raw json.RawMessage) leaf {
	keys := make([]string, len(at))
	for i, s := range at {
		keys[i] = s.key
	}
	return leaf{path: strings.Join(keys, "."), label: label(at), value: slices.Clone(raw)}
}

// alignLeaves pairs the leaves of two records by path, in A's order with
// each leaf only B has after the leaf that precedes it in B.
func alignLeaves(a, b []leaf) []FieldDiff {
	inA := make(map[string]json.RawMessage, len(a))
	for _, l := range a {
		inA[l.path] = l.value
	}
	inB := make(map[string]json.RawMessage, len(b))
	onlyB := map[string][]leaf{} // by the path of the leaf before them in B; "": first
	prev := ""
	for _, l := range b {
		inB[l.path] = l.value
		if _, ok := inA[l.path]; ok {
			prev = l.path
		} else {
			onlyB[prev] = append(onlyB[prev], l)
		}
	}
	order := onlyB[""]
	for _, l := range a {
		order = append(order, l)
		order = append(order, onlyB[l.path]...)
	}
	slices.SortStableFunc(order, func(x, y leaf) int { return x.section - y.section })
	out := make([]FieldDiff, 0, len(order))
	for _, l := range order {
		f := FieldDiff{Section: diffSections[l.section].Name, Path: l.path, section: l.section, label: l.label, A: jsonNull, B: jsonNull}
		if v, ok := inA[l.path]; ok {
			f.A = v
		}
		if v, ok := inB[l.path]; ok {
			f.B = v
		}
		f.Differ = !sameJSON(f.A, f.B)
		out = append(out, f)
	}
	return out
}

var jsonNull = json.RawMessage("null")

// sameJSON says whether two JSON values are equal: numbers by value, the
// rest as written.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	x, errA := strconv.ParseFloat(string(a), 64)
	y, errB := strconv.ParseFloat(string(b), 64)
	return errA == nil && errB == nil && x == y
}

// featureDiff says how features b differ from a.
func featureDiff(a, b []string) FeatureDiff {
	d := FeatureDiff{Added: []string{}, Removed: []string{}, Reordered: []string{}}
	var commonA, commonB []string
	for _, f := range a {
		if slices.Contains(b, f) {
			commonA = append(commonA, f)
		} else {
			d.Removed = append(d.Removed, f)
		}
	}
	for _, f := range b {
		if slices.Contains(a, f) {
			commonB = append(commonB, f)
		} else {
			d.Added = append(d.Added, f)
		}
	}
	for i, f := range commonB {
		if commonA[i] != f {
			d.Reordered = append(d.Reordered, f)
		}
	}
	return d
}

// unlabelledHeads are the first keys of paths whose label leaves them
// out: the section's name says it.
var unlabelledHeads = []string{"rows", "missing", "threshold", "validation_metrics", "gate", "training", "versions"}

// labelWords are the words people read for some run.json keys; any
// other key reads with its underscores as spaces.
var labelWords = map[string]string{
	"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "f1": "F1", "kl": "KL", "validation_kl": "validation KL",
	"sha256": "SHA-256", "size_bytes": "bytes", "inputs": "input", "labels": "label", "config_file": "config file",
	"validation_score_quantiles": "validation score", "at_threshold": "at threshold",
	"checks": "check", "baseline_run_id": "baseline run", "final_epoch": "final",
	"effective_batch_size": "batch size", "constant_features": "constant", "skipped_columns": "skipped",
	"constant_in_training": "constant in training only", "ignored_features": "ignored",
	"per_column": "missing values in", "rows_with_missing": "rows with missing values",
	"rows_dropped": "rows dropped for missing values", "vcs_revision": "VCS revision", "go": "Go",
	"schema_version": "run.json schema",
}

// columnMaps are the run.json objects keyed by column names, which
// labels keep as they are.
var columnMaps = []string{"per_column"}

// label is a path's name for people: a setting reads as its flag
// (config.gate.max_alert_rate is gate-max-alert-rate), any other field as
// words (inputs.0.sha256 is input 1 SHA-256), names of columns and
// checks as they are.
func label(at []segment) string {
	if len(at) > 1 && at[0].key == "config" {
		keys := make([]string, 0, len(at)-1)
		for _, s := range at[1:] {
			keys = append(keys, s.key)
		}
		return strings.ReplaceAll(strings.Join(keys, "-"), "_", "-")
	}
	var words []string
	for i, s := range at {
		switch {
		case i == 0 && len(at) > 1 && slices.Contains(unlabelledHeads, s.key):
		case s.named || i > 0 && slices.Contains(columnMaps, at[i-1].key):
			words = append(words, s.key)
		case s.index > 0:
			words = append(words, strconv.Itoa(s.index))
		case labelWords[s.key] != "":
			words = append(words, labelWords[s.key])
		default:
			words = append(words, strings.ReplaceAll(s.key, "_", " "))
		}
	}
	return strings.Join(words, " ")
}

// String is the diff as Text(false) writes it.
func (d *RunDiff) String() string { return d.Text(false) }

// Text renders the diff for people: the two runs, how many fields
// differ, then each section: the fields that differ (every field with
// all, those that differ first) in aligned columns, A's value, B's value
// and, for numbers, B's change from A.
func (d *RunDiff) Text(all bool) string {
	t := &diffTable{}
	t.row("", "", "A: "+d.A.RunID, "B: "+d.B.RunID, "")
	t.row("", "status", sideStatus(d.A), sideStatus(d.B), "")
	t.row("", "finished", d.A.FinishedAt.Format(time.DateTime), d.B.FinishedAt.Format(time.DateTime), "")
	t.row("", "files", sideFiles(d.A), sideFiles(d.B), "")
	for i, s := range []DiffSide{d.A, d.B} {
		for _, p := range s.Problems {
			t.line(fmt.Sprintf("PROBLEM %c (%s): %s", 'A'+i, s.RunID, p))
		}
	}
	t.gap()
	t.line(fmt.Sprintf("%d of %d fields %s%s", d.Differing, d.Compared, plural(d.Differing, "differs", "differ"), settingsNote(d.Sections)))
	shown := false // whether the last section showed rows
	for i, s := range d.Sections {
		rows := s.Differing > 0 || all && s.Compared > 0
		if i == 0 || rows || shown {
			t.gap()
		}
		d.section(t, s, all)
		shown = rows
	}
	return t.String()
}

// plural picks the word for n of a thing.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// settingsNote says how many settings are equal, for the summary line.
func settingsNote(sections []SectionDiff) string {
	for _, s := range sections {
		if s.Name == diffSections[0].Name {
			return fmt.Sprintf("; %d of %d settings equal", s.Compared-s.Differing, s.Compared)
		}
	}
	return ""
}

func sideStatus(s DiffSide) string {
	if s.Latest {
		return string(s.Status) + ", latest"
	}
	return string(s.Status)
}

func sideFiles(s DiffSide) string {
	if s.Intact {
		return "intact"
	}
	return "DAMAGED (see PROBLEM)"
}

// section renders one section: its heading and its rows.
func (d *RunDiff) section(t *diffTable, s SectionDiff, all bool) {
	switch {
	case s.Compared == 0:
		t.line(fmt.Sprintf("%s: none in either run", s.Name))
		return
	case s.Differing == 0 && s.Compared == 1:
		t.line(fmt.Sprintf("%s: equal", s.Name))
	case s.Differing == 0:
		t.line(fmt.Sprintf("%s: all %d equal", s.Name, s.Compared))
	default:
		t.line(fmt.Sprintf("%s: %d %s, %d equal", s.Name, s.Differing, plural(s.Differing, "differs", "differ"), s.Compared-s.Differing))
	}
	for _, differ := range []bool{true, false} {
		if !differ && !all {
			break
		}
		for _, f := range d.Fields {
			if f.Section == s.Name && f.Differ == differ {
				d.field(t, f)
			}
		}
	}
}

// field renders one field's row; the feature list as counts, followed by
// the features added, removed and reordered.
func (d *RunDiff) field(t *diffTable, f FieldDiff) {
	mark := " "
	if f.Differ {
		mark = "*"
	}
	if f.Path != "features" {
		a, b := valueText(f.Path, f.A, f.B), valueText(f.Path, f.B, f.A)
		t.row(mark, f.label, a, b, change(f.A, f.B))
		return
	}
	na, nb := json.RawMessage(strconv.Itoa(listLen(f.A))), json.RawMessage(strconv.Itoa(listLen(f.B)))
	t.row(mark, f.label, string(na), string(nb), change(na, nb))
	for _, l := range []struct {
		name     string
		names    []string
		inA, inB bool
	}{{"added in B", d.Features.Added, false, true}, {"removed in B", d.Features.Removed, true, false}, {"reordered in B", d.Features.Reordered, false, true}} {
		if len(l.names) == 0 {
			continue
		}
		a, b := "—", "—"
		if l.inA {
			a = strings.Join(l.names, ", ")
		}
		if l.inB {
			b = strings.Join(l.names, ", ")
		}
		t.row(mark, "  "+l.name, a, b, "")
	}
}

// listLen is the length of a JSON list, 0 for anything else.
func listLen(v json.RawMessage) int {
	var l []json.RawMessage
	if json.Unmarshal(v, &l) != nil {
		return 0
	}
	return len(l)
}

// valueText renders a JSON value of a field for people: numbers with six
// significant digits (all of them when that would hide a difference from
// other), digests cut to 16 characters, lists joined by commas (counted
// when that is wider than a column), nothing as —.
func valueText(path string, v, other json.RawMessage) string {
	var x any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if dec.Decode(&x) != nil || x == nil {
		return "—"
	}
	switch x := x.(type) {
	case string:
		if strings.HasSuffix(path, "sha256") && len(x) > 16 {
			return x[:16] + "…"
		}
		return x
	case json.Number:
		short := shortNumber(x)
		if !sameJSON(v, other) && short == shortNumber(json.Number(bytes.TrimSpace(other))) {
			return x.String()
		}
		return short
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		if joined := strings.Join(parts, ", "); len(joined) <= maxColumn {
			return joined
		}
		return fmt.Sprintf("%d values", len(x))
	}
	return string(v)
}

// shortNumber writes a whole number as it is, any other with six
// significant digits.
func shortNumber(n json.Number) string {
	if _, err := n.Int64(); err == nil {
		return n.String()
	}
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

// change is B's value less A's when both are numbers that differ, with
// the relative change when they are not whole numbers (counts, seeds)
// and A is not 0; for lists of text, the values B adds and leaves out.
func change(a, b json.RawMessage) string {
	if d, ok := listChange(a, b); ok {
		return d
	}
	x, errA := strconv.ParseFloat(string(a), 64)
	y, errB := strconv.ParseFloat(string(b), 64)
	if errA != nil || errB != nil || x == y {
		return ""
	}
	delta := strconv.FormatFloat(y-x, 'g', 4, 64)
	if y > x {
		delta = "+" + delta
	}
	if x == 0 || !bytes.ContainsAny(a, ".eE") && !bytes.ContainsAny(b, ".eE") {
		return delta
	}
	return fmt.Sprintf("%s (%+.1f%%)", delta, 100*(y-x)/math.Abs(x))
}

// listChange says which values B's list adds to A's (+) and which it
// leaves out (-), when both are lists of text.
func listChange(a, b json.RawMessage) (string, bool) {
	var x, y []string
	if !bytes.HasPrefix(a, []byte("[")) || !bytes.HasPrefix(b, []byte("[")) || json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return "", false
	}
	var out []string
	for _, v := range y {
		if !slices.Contains(x, v) {
			out = append(out, "+"+v)
		}
	}
	for _, v := range x {
		if !slices.Contains(y, v) {
			out = append(out, "-"+v)
		}
	}
	return strings.Join(out, ", "), true
}

// diffTable lays out runs diff's text: rows of a mark, a label, A's and
// B's values and the change, aligned across the whole output, and lines
// between them.
type diffTable struct {
	rows  [][5]string // a line is a row with only its label set and mark "\n"
	width [5]int
}

// maxColumn caps a column's width; a longer value pushes its row's next
// columns along.
const maxColumn = 40

func (t *diffTable) row(cells ...string) {
	var r [5]string
	copy(r[:], cells)
	for i, c := range r {
		t.width[i] = max(t.width[i], min(maxColumn, len([]rune(c))))
	}
	t.rows = append(t.rows, r)
}

func (t *diffTable) line(s string) { t.rows = append(t.rows, [5]string{"\n", s}) }

func (t *diffTable) gap() { t.line("") }

func (t *diffTable) String() string {
	var b strings.Builder
	for _, r := range t.rows {
		if r[0] == "\n" {
			b.WriteString(r[1] + "\n")
			continue
		}
		var line strings.Builder
		for i, c := range r {
			line.WriteString(c)
			if pad := t.width[i] - len([]rune(c)); i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", max(pad, 0)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return b.String()
}
