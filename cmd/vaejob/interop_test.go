package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The interop suite: files written by real writers from npm (DuckDB,
// nodejs-polars, parquet-wasm, hyparquet-writer, apache-arrow) with every
// compression and encoding each can write, read by `vaejob train` and
// `vaejob score` with the values checked. testdata/interop/write.mjs writes
// the files and a manifest; this test checks that each file exercises what
// its case says (codec, encodings, page version, several row groups, IPC body
// compression), then
//   - trains on it: the run must read the same numbers as a reference
//     file written here with arrow-go, so run.json's features, row counts,
//     scaler and threshold must equal the reference run's exactly (same
//     float32 rows and seed give the same bits);
//   - scores it with the reference model, keeping every column: the kept
//     values must equal the generated table and the scores the reference
//     file's scores, bit for bit; with --explain, so must each row's
//     tail_probability and explained features.

const interopDir = "testdata/interop"

// interopRows and interopRowGroup are the table's size; write.mjs has the same.
const (
	interopRows     = 4000
	interopRowGroup = 1000
	interopDecScale = 3
)

var interopFeatures = []string{"f64", "f32", "i32", "i64", "dec"}
var interopKeep = []string{"id", "f64", "f32", "i32", "i64", "dec", "flag"}

// interopRow is row i of the table write.mjs writes (function row there):
// integer arithmetic and correctly rounded divisions, so JavaScript and Go
// compute the same bits.
type interopRow struct {
	id   string
	f64  float64
	f32  float32 // null where f32Null
	i32  int32
	i64  int64 // null where i64Null
	dec  int64 // unscaled, DECIMAL(20,3)
	flag bool

	f32Null, i64Null bool
}

func interopTableRow(i int) interopRow {
	return interopRow{
		id:   fmt.Sprintf("r%05d", i),
		f64:  float64((i*7919)%10007-5003) / 7,
		f32:  float32(float64((i*104729)%9973-4986) / 3),
		i32:  int32((i*48271)%2000003 - 1000000),
		i64:  int64(i)*1000003 - 1500000000,
		dec:  int64((i*69621)%1000003-500000) * 7,
		flag: i%3 == 0,

		f32Null: i%97 == 5,
		i64Null: i%89 == 7,
	}
}

// interopCase is one entry of write.mjs's manifest.
type interopCase struct {
	Name       string `json:"name"`
	Writer     string `json:"writer"`
	Option     string `json:"option"`
	Format     string `json:"format"` // parquet, arrow-file, arrow-stream
	File       string `json:"file"`
	NA         string `json:"na"`          // why the writer cannot make this case
	WriteError string `json:"write_error"` // the writer threw
	Expect     struct {
		Codec        string            `json:"codec"`
		Encodings    map[string]string `json:"encodings"` // column → an encoding its chunks must list
		PageVersion  string            `json:"page_version"`
		MinRowGroups int               `json:"min_row_groups"`
		Body         string            `json:"body"` // IPC body compression: lz4, zstd or "" (none)
		// LZ4BlockChecksums: whether every lz4 frame has the block checksum flag.
		LZ4BlockChecksums bool `json:"lz4_block_checksums"`
	} `json:"expect"`
}

type interopManifest struct {
	Rows     int           `json:"rows"`
	RowGroup int           `json:"row_group"`
	Features []string      `json:"features"`
	Cases    []interopCase `json:"cases"`
}

// requireInterop skips when the npm writers are not installed, unless
// VAEJOB_REQUIRE_INTEROP=1 (set by .ci/test, which installs them).
func requireInterop(t *testing.T) {
	t.Helper()
	_, errNode := exec.LookPath("node")
	_, errMods := os.Stat(filepath.Join(interopDir, "node_modules"))
	if errNode == nil && errMods == nil {
		return
	}
	const how = "(cd cmd/vaejob/testdata/interop && npm install --no-save) installs them; bash .ci/test does"
	if os.Getenv("VAEJOB_REQUIRE_INTEROP") == "1" {
		t.Fatalf("the interop writers are not installed: %s", how)
	}
	t.Skipf("the interop writers are not installed: %s", how)
}

func TestInterop(t *testing.T) {
	requireInterop(t)
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	script, err := filepath.Abs(filepath.Join(interopDir, "write.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script, files)
	cmd.Dir = interopDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node write.mjs: %v\n%s", err, out)
	} else {
		t.Logf("write.mjs: %s", bytes.TrimSpace(out))
	}
	var m interopManifest
	b, err := os.ReadFile(filepath.Join(files, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Rows != interopRows || m.RowGroup != interopRowGroup || !slices.Equal(m.Features, interopFeatures) {
		t.Fatalf("write.mjs and interop_test.go disagree on the table: %d rows in groups of %d, features %v", m.Rows, m.RowGroup, m.Features)
	}

	m.Cases = append(m.Cases, arrowGoIPCCases(t, files)...)
	ref := interopReference(t, dir)
	var results []interopResult
	for _, c := range m.Cases {
		r := interopResult{c: c, train: "not applicable", score: "not applicable"}
		t.Run(c.Name, func(t *testing.T) {
			if c.NA != "" {
				r.train, r.score = "not applicable: "+c.NA, "not applicable: "+c.NA
				t.Skipf("not applicable: %s", c.NA)
			}
			r.train, r.score = "not run", "not run"
			if c.WriteError != "" {
				t.Fatalf("%s could not write the case: %s", c.Writer, c.WriteError)
			}
			path := filepath.Join(files, c.File)
			checkExercises(t, c, path)
			r.train = interopTrain(t, ref, path, filepath.Join(dir, "out-"+c.Name))
			r.score = interopScore(t, ref, path, filepath.Join(dir, c.Name+"-scores.parquet"))
		})
		results = append(results, r)
	}
	var tbl strings.Builder
	tbl.WriteString("| writer | option | file | train | score |\n|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&tbl, "| %s | %s | %s | %s | %s |\n", r.c.Writer, r.c.Option, r.c.Format, r.train, r.score)
	}
	t.Logf("interop table (README, section Interoperability):\n%s", tbl.String())
}

type interopResult struct {
	c            interopCase
	train, score string
}

// interopRef is what the reference file, written here with arrow-go, gives.
type interopRef struct {
	model  string
	run    map[string]json.RawMessage // run.json sections a case's run must equal
	scores []float32
	// explained holds, per row, its tail_probability and explained
	// features (score --explain interopExplain) as text.
	explained []string
}

// interopExplain is the --explain every score run of the suite takes.
const interopExplain = "2"

// explainedRows renders each row's tail_probability and explain_feature
// list of a score file's columns, or says what is wrong with them.
func explainedRows(tbl map[string]arrow.Array) ([]string, error) {
	tails, ok := tbl["tail_probability"].(*array.Float32)
	if !ok {
		return nil, fmt.Errorf("the tail_probability column is %T", tbl["tail_probability"])
	}
	feats, ok := tbl["explain_feature"].(*array.List)
	if !ok {
		return nil, fmt.Errorf("the explain_feature column is %T", tbl["explain_feature"])
	}
	rows := make([]string, tails.Len())
	for i := range rows {
		rows[i] = fmt.Sprintf("%08x %s", math.Float32bits(tails.Value(i)), feats.ValueStr(i))
	}
	return rows, nil
}

// runSections are the run.json sections that depend only on the values read.
var runSections = []string{"features", "rows", "missing", "scaler", "threshold"}

func interopReference(t *testing.T, dir string) interopRef {
	t.Helper()
	path := filepath.Join(dir, "reference.parquet")
	writeInteropReference(t, path)
	out := filepath.Join(dir, "out-reference")
	run, model := interopTrainRun(t, path, out)
	if run == nil {
		t.Fatal("the reference file does not train")
	}
	scores := filepath.Join(dir, "reference-scores.parquet")
	res := vaejob(t, "score", "--model", model, "--input", path, "--output", scores, "--explain", interopExplain)
	if res.code != 0 {
		t.Fatalf("score the reference file: exit %d: %s", res.code, res.stderr)
	}
	tbl := readInteropParquet(t, scores)
	s, ok := tbl["score"].(*array.Float32)
	if !ok {
		t.Fatalf("reference scores: the score column is %T", tbl["score"])
	}
	explained, err := explainedRows(tbl)
	if err != nil {
		t.Fatalf("reference scores: %v", err)
	}
	return interopRef{model: model, run: run, scores: slices.Clone(s.Float32Values()), explained: explained}
}

// interopRecord is the table as one Arrow record.
func interopRecord() arrow.Record {
	mem := memory.NewGoAllocator()
	decType := &arrow.Decimal128Type{Precision: 20, Scale: interopDecScale}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "dec", Type: decType, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range interopRows {
		r := interopTableRow(i)
		b.Field(0).(*array.StringBuilder).Append(r.id)
		b.Field(1).(*array.Float64Builder).Append(r.f64)
		if r.f32Null {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float32Builder).Append(r.f32)
		}
		b.Field(3).(*array.Int32Builder).Append(r.i32)
		if r.i64Null {
			b.Field(4).AppendNull()
		} else {
			b.Field(4).(*array.Int64Builder).Append(r.i64)
		}
		b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(r.dec))
		b.Field(6).(*array.BooleanBuilder).Append(r.flag)
	}
	return b.NewRecord()
}

// writeInteropReference writes the table with arrow-go: plain types, one
// row group per interopRowGroup rows.
func writeInteropReference(t *testing.T, path string) {
	t.Helper()
	rec := interopRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schema := rec.Schema()
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	props := parquet.NewWriterProperties(parquet.WithRootRepetition(parquet.Repetitions.Required))
	if err := pqarrow.WriteTable(tbl, f, interopRowGroup, props, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

// checkExercises fails when the file does not hold what its case claims, so
// that a writer quietly ignoring an option cannot pass for coverage.
func checkExercises(t *testing.T, c interopCase, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != "parquet" {
		magic := map[string][]byte{"lz4": {0x04, 0x22, 0x4d, 0x18}, "zstd": {0x28, 0xb5, 0x2f, 0xfd}}
		for name, m := range magic {
			if has := bytes.Contains(data, m); has != (c.Expect.Body == name) {
				t.Fatalf("the file does not exercise its case: %s frames present = %v, want body %q", name, has, c.Expect.Body)
			}
		}
		// An lz4 frame: magic, then the FLG byte, whose bit 4 flags block checksums.
		rest := data
		for i := bytes.Index(rest, magic["lz4"]); i >= 0 && i+4 < len(rest); i = bytes.Index(rest, magic["lz4"]) {
			if got := rest[i+4]&0x10 != 0; got != c.Expect.LZ4BlockChecksums {
				t.Fatalf("an lz4 frame has block checksums = %v, want %v", got, c.Expect.LZ4BlockChecksums)
			}
			rest = rest[i+5:]
		}
		return
	}
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read the footer: %v", err)
	}
	defer r.Close()
	md := r.MetaData()
	if md.NumRowGroups() < c.Expect.MinRowGroups {
		t.Fatalf("the file has %d row groups, want at least %d", md.NumRowGroups(), c.Expect.MinRowGroups)
	}
	seen := map[string]bool{}
	var layout []string
	for g := range md.NumRowGroups() {
		rg := md.RowGroup(g)
		for j := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(j)
			if err != nil {
				t.Fatal(err)
			}
			col := cc.PathInSchema().String()
			if g == 0 {
				layout = append(layout, fmt.Sprintf("%s %s %v %s", col, cc.Compression(), cc.Encodings(), dataPageVersion(data, cc.DataPageOffset())))
			}
			if got := cc.Compression().String(); got != c.Expect.Codec {
				t.Fatalf("column %s, row group %d is %s, want %s", col, g, got, c.Expect.Codec)
			}
			if want, ok := c.Expect.Encodings[col]; ok {
				if !slices.ContainsFunc(cc.Encodings(), func(e parquet.Encoding) bool { return e.String() == want }) {
					t.Fatalf("column %s, row group %d lists encodings %v, want %s among them", col, g, cc.Encodings(), want)
				}
				seen[col] = true
			}
			if c.Expect.PageVersion != "" && g == 0 {
				if got := dataPageVersion(data, cc.DataPageOffset()); got != c.Expect.PageVersion {
					t.Fatalf("column %s starts with a data page %s, want %s", col, got, c.Expect.PageVersion)
				}
			}
		}
	}
	t.Logf("%d row groups; row group 0: %s", md.NumRowGroups(), strings.Join(layout, "; "))
	for col := range c.Expect.Encodings {
		if !seen[col] {
			t.Fatalf("the file has no column %s", col)
		}
	}
}

// dataPageVersion reads the type of the page header at off: a Thrift
// compact struct whose first field (id 1, i32) is the page type, so its
// first bytes are 0x15 and the zigzag varint of DATA_PAGE (0) or
// DATA_PAGE_V2 (3).
func dataPageVersion(data []byte, off int64) string {
	if off < 0 || off+2 > int64(len(data)) || data[off] != 0x15 {
		return "unknown"
	}
	switch data[off+1] {
	case 0:
		return "v1"
	case 6:
		return "v2"
	}
	return fmt.Sprintf("type %d", data[off+1]>>1)
}

// interopTrainRun trains on path and returns run.json's value sections and
// the model, or nil and the failure.
func interopTrainRun(t *testing.T, path, out string) (map[string]json.RawMessage, string) {
	t.Helper()
	res := vaejob(t, "train", "--input", path, "--out", out, "--seed", "0", "--epochs", "1", "--steps", "20", "--run-id", "r", "--missing", "drop-rows")
	if res.code != 0 {
		t.Errorf("vaejob train: exit %d: %s", res.code, lastLine(res.stderr))
		return nil, fmt.Sprintf("exit %d: %s", res.code, shortError(res.stderr, path))
	}
	runDir := filepath.Join(out, "runs", "r")
	b, err := os.ReadFile(filepath.Join(runDir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	run := map[string]json.RawMessage{}
	for _, k := range runSections {
		run[k] = all[k]
	}
	return run, filepath.Join(runDir, "model.onnx")
}

func interopTrain(t *testing.T, ref interopRef, path, out string) string {
	t.Helper()
	run, msg := interopTrainRun(t, path, out)
	if run == nil {
		return "fails: " + msg
	}
	for _, k := range runSections {
		if !jsonEqual(run[k], ref.run[k]) {
			t.Errorf("train read other values than the reference file: run.json %q is %s, the reference's %s", k, run[k], ref.run[k])
			return "fails: run.json " + k + " differs from the reference"
		}
	}
	return "ok"
}

func interopScore(t *testing.T, ref interopRef, path, output string) string {
	t.Helper()
	res := vaejob(t, "score", "--model", ref.model, "--input", path, "--output", output, "--keep-columns", strings.Join(interopKeep, ","), "--explain", interopExplain)
	if res.code != 0 {
		t.Errorf("vaejob score: exit %d: %s", res.code, lastLine(res.stderr))
		return fmt.Sprintf("fails: exit %d: %s", res.code, shortError(res.stderr, path))
	}
	tbl := readInteropParquet(t, output)
	var bad []string
	for _, name := range interopKeep {
		if err := checkKept(name, tbl[name]); err != nil {
			t.Errorf("kept column %s: %v", name, err)
			bad = append(bad, name)
		}
	}
	s, ok := tbl["score"].(*array.Float32)
	switch {
	case !ok:
		t.Errorf("the score column is %T", tbl["score"])
		bad = append(bad, "score")
	case !slices.EqualFunc(s.Float32Values(), ref.scores, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }):
		t.Errorf("scores differ from the reference file's: the features were read differently")
		bad = append(bad, "score")
	}
	if explained, err := explainedRows(tbl); err != nil || !slices.Equal(explained, ref.explained) {
		t.Errorf("tail probabilities or explained features differ from the reference file's (%v)", err)
		bad = append(bad, "tail_probability/explain")
	}
	if len(bad) > 0 {
		return "fails: wrong values in " + strings.Join(bad, ", ")
	}
	return "ok"
}

// checkKept compares a kept column of the score file with the table.
func checkKept(name string, col arrow.Array) error {
	if col == nil {
		return fmt.Errorf("missing from the score file")
	}
	if col.Len() != interopRows {
		return fmt.Errorf("%d rows, want %d", col.Len(), interopRows)
	}
	for i := range interopRows {
		r := interopTableRow(i)
		null := map[string]bool{"f32": r.f32Null, "i64": r.i64Null}[name]
		if col.IsNull(i) != null {
			return fmt.Errorf("row %d: null = %v, want %v", i, col.IsNull(i), null)
		}
		if null {
			continue
		}
		want := map[string]any{"id": r.id, "f64": r.f64, "f32": float64(r.f32), "i32": float64(r.i32), "i64": float64(r.i64), "flag": r.flag}[name]
		var got any
		switch a := col.(type) {
		case *array.String:
			got = a.Value(i)
		case *array.LargeString:
			got = a.Value(i)
		case *array.StringView:
			got = a.Value(i)
		case *array.Boolean:
			got = a.Value(i)
		case *array.Float64:
			got = a.Value(i)
		case *array.Float32:
			got = float64(a.Value(i))
		case *array.Int32:
			got = float64(a.Value(i))
		case *array.Int64:
			got = float64(a.Value(i))
		case *array.Decimal128:
			scale := a.DataType().(*arrow.Decimal128Type).Scale
			v := a.Value(i).BigInt()
			want := new(big.Int).Mul(big.NewInt(r.dec), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-interopDecScale)), nil))
			if name != "dec" || scale < interopDecScale || v.Cmp(want) != 0 {
				return fmt.Errorf("row %d: %s (scale %d), want the decimal %d·10^-%d", i, v, scale, r.dec, interopDecScale)
			}
			continue
		default:
			return fmt.Errorf("comes back as %s", col.DataType())
		}
		if name == "dec" {
			return fmt.Errorf("the DECIMAL(20,3) comes back as %s", col.DataType())
		}
		if got != want {
			return fmt.Errorf("row %d: %v (%s), want %v", i, got, col.DataType(), want)
		}
	}
	return nil
}

// readInteropParquet reads a score file into its columns by name.
func readInteropParquet(t *testing.T, path string) map[string]arrow.Array {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, nil, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	t.Cleanup(tbl.Release)
	cols := map[string]arrow.Array{}
	for i := range int(tbl.NumCols()) {
		ch := tbl.Column(i).Data()
		arr, err := array.Concatenate(ch.Chunks(), memory.NewGoAllocator())
		if err != nil {
			t.Fatal(err)
		}
		cols[tbl.Schema().Field(i).Name] = arr
	}
	return cols
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// shortError is the last line of stderr with the input's path (and the
// "vaejob: read PATH: " lead that repeats it) cut, for the summary table.
func shortError(stderr, path string) string {
	s := lastLine(stderr)
	s = strings.ReplaceAll(s, "vaejob: read "+path+": ", "")
	s = strings.ReplaceAll(s, path+": ", "")
	s = strings.ReplaceAll(s, filepath.Dir(path)+string(filepath.Separator), "")
	s = strings.ReplaceAll(s, filepath.Dir(filepath.Dir(path))+string(filepath.Separator), "")
	return s
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// arrowGoIPCCases writes the table as Arrow IPC files and streams with
// arrow-go, the library vaejob reads with: not an independent writer, but
// the only one at hand whose lz4 frames carry no block checksums (Polars'
// do; apache-arrow's compressed files are invalid, see write.mjs).
func arrowGoIPCCases(t *testing.T, dir string) []interopCase {
	t.Helper()
	rec := interopRecord()
	defer rec.Release()
	var cases []interopCase
	for _, codec := range []struct {
		name string
		opt  ipc.Option
	}{{"lz4", ipc.WithLZ4()}, {"zstd", ipc.WithZstd()}} {
		for _, format := range []string{"arrow-file", "arrow-stream"} {
			c := interopCase{Name: "arrow-go_" + format + "_" + codec.name, Writer: "arrow-go", Format: format}
			c.Expect.Body = codec.name
			c.File = c.Name + map[string]string{"arrow-file": ".arrow", "arrow-stream": ".arrows"}[format]
			f, err := os.Create(filepath.Join(dir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			opts := []ipc.Option{ipc.WithSchema(rec.Schema()), codec.opt}
			var w interface {
				Write(arrow.Record) error
				Close() error
			}
			if format == "arrow-file" {
				c.Option = "ipc.NewFileWriter " + codec.name
				w, err = ipc.NewFileWriter(f, opts...)
			} else {
				c.Option = "ipc.NewWriter " + codec.name
				w = ipc.NewWriter(f, opts...)
			}
			if codec.name == "lz4" {
				c.Option += " (frames without block checksums)"
			}
			if err != nil {
				t.Fatal(err)
			}
			for start := int64(0); start < rec.NumRows(); start += interopRowGroup {
				part := rec.NewSlice(start, min(start+interopRowGroup, rec.NumRows()))
				err = w.Write(part)
				part.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, c)
		}
	}
	return cases
}
