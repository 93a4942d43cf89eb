package parquet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// moveTo moves a fixture file to dir/rel (creating folders) and returns the
// new path.
func moveTo(t *testing.T, path, dir, rel string) string {
	t.Helper()
	dst := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeArrow writes cols as an Arrow IPC file (stream=false) or stream, in
// record batches of at most batch rows.
func writeArrow(t *testing.T, path string, stream bool, batch int, cols ...col) string {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType(), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type writer interface {
		Write(arrow.Record) error
		Close() error
	}
	var w writer
	if stream {
		w = ipc.NewWriter(f, ipc.WithSchema(schema))
	} else if w, err = ipc.NewFileWriter(f, ipc.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	n := cols[0].arr.Len()
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		arrs := make([]arrow.Array, len(cols))
		for i, c := range cols {
			arrs[i] = array.NewSlice(c.arr, int64(lo), int64(hi))
		}
		if err := w.Write(array.NewRecord(schema, arrs, int64(hi-lo))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadDatasetFolders(t *testing.T) {
	dir := t.TempDir()
	// Hive-partitioned parts as Spark writes them, with a _SUCCESS marker,
	// a checksum file and a later part whose columns come in another order
	// and another integer width.
	moveTo(t, writeFixture(t, "p.parquet", 2, col{"a", f64s([]float64{1, 2, 3})}, col{"b", i64s([]int64{10, 20, 30})}), dir, "dt=2026-11-23/hour=01/part-0.parquet")
	moveTo(t, writeFixture(t, "p.parquet", 0, col{"b", i32s([]int32{40})}, col{"a", f64s([]float64{4})}), dir, "dt=2026-11-24/hour=02/part-0.parquet")
	os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "dt=2026-11-24", "hour=02", ".part-0.parquet.crc"), []byte("crc"), 0o644)

	tab, err := ReadDataset(context.Background(), []string{dir}, Selection{Keep: []string{"dt", "hour"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Names, []string{"a", "b"}) || tab.Rows != 4 {
		t.Fatalf("names %v rows %d", tab.Names, tab.Rows)
	}
	if want := []float32{1, 10, 2, 20, 3, 30, 4, 40}; !slices.Equal(tab.Data, want) {
		t.Errorf("data %v, want %v", tab.Data, want)
	}
	dts, err := tab.KeptStrings("dt")
	if err != nil || strings.Join(dts, " ") != "2026-11-23 2026-11-23 2026-11-23 2026-11-24" {
		t.Errorf("dt column %v (%v)", dts, err)
	}
	hours, err := tab.KeptFloat64("hour")
	if err != nil || !slices.Equal(hours, []float64{1, 1, 1, 2}) {
		t.Errorf("hour column (an integer partition key) %v (%v)", hours, err)
	}

	// A partition key is a feature only when named.
	tab, err = ReadDataset(context.Background(), []string{dir}, Selection{Features: []string{"a", "hour"}})
	if err != nil || !slices.Equal(tab.Data, []float32{1, 1, 2, 1, 3, 1, 4, 2}) {
		t.Errorf("hour as a feature: %v (%v)", tab.Data, err)
	}

	// Globs and several inputs, each file read once.
	glob := filepath.Join(dir, "dt=*", "hour=*", "*.parquet")
	tab, err = ReadDataset(context.Background(), []string{glob, filepath.Join(dir, "dt=2026-11-24")}, Selection{})
	if err != nil || tab.Rows != 4 {
		t.Errorf("glob plus folder: %v rows (%v)", tab, err)
	}
}

func TestReadDatasetArrowIPC(t *testing.T) {
	dir := t.TempDir()
	cols := []col{{"x", f32s([]float32{1, 2, 3, 4, 5})}, {"n", i64s([]int64{5, 4, 3, 2, 1})}, {"s", strs([]string{"a", "b", "c", "d", "e"})}}
	for _, tc := range []struct {
		name   string
		stream bool
		format InputFormat
	}{{"data.feather", false, FormatArrowFile}, {"data.arrows", true, FormatArrowStream}, {"no-extension", true, FormatArrowStream}} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeArrow(t, filepath.Join(dir, tc.name), tc.stream, 2, cols...)
			ins, err := ResolveInputs([]string{path})
			if err != nil || len(ins) != 1 || ins[0].Format != tc.format {
				t.Fatalf("ResolveInputs: %+v, %v; want format %s", ins, err, tc.format)
			}
			tab, err := ReadTable(context.Background(), path, Selection{Keep: []string{"s"}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tab.Names, []string{"x", "n"}) || !slices.Equal(tab.Data, []float32{1, 5, 2, 4, 3, 3, 4, 2, 5, 1}) {
				t.Errorf("names %v data %v", tab.Names, tab.Data)
			}
			if len(tab.Skipped) != 1 || tab.Skipped[0].Name != "s" {
				t.Errorf("skipped %v", tab.Skipped)
			}
			s, _ := tab.KeptStrings("s")
			if strings.Join(s, "") != "abcde" {
				t.Errorf("kept %v", s)
			}
		})
	}
	// Parquet and Arrow parts in one folder.
	mixed := t.TempDir()
	writeArrow(t, filepath.Join(mixed, "b.arrow"), false, 10, col{"x", f64s([]float64{7})})
	moveTo(t, writeFixture(t, "a.parquet", 0, col{"x", f64s([]float64{6})}), mixed, "a.parquet")
	tab, err := ReadTable(context.Background(), mixed, Selection{})
	if err != nil || !slices.Equal(tab.Data, []float32{6, 7}) {
		t.Errorf("mixed folder: %v (%v)", tab, err)
	}
}

func TestReadDatasetSchemaDrift(t *testing.T) {
	part := func(t *testing.T, dir, name string, cols ...col) {
		moveTo(t, writeFixture(t, "p.parquet", 0, cols...), dir, name)
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		sel   Selection
		want  []string // error parts; nil: no error
	}{
		{"missing column", func(t *testing.T, dir string) {
			part(t, dir, "p1.parquet", col{"a", f64s([]float64{1})}, col{"b", f64s([]float64{1})})
			part(t, dir, "p2.parquet", col{"a", f64s([]float64{2})})
		}, Selection{}, []string{"schema drifted", "p2.parquet", `"b"`, "p1.parquet"}},
		{"changed type", func(t *testing.T, dir string) {
			part(t, dir, "p1.parquet", col{"a", f64s([]float64{1})})
			part(t, dir, "p2.parquet", col{"a", strs([]string{"x"})})
		}, Selection{}, []string{`"a" changed type`, "float64 in", "p1.parquet", "string in", "p2.parquet"}},
		{"reordered and wider", func(t *testing.T, dir string) {
			part(t, dir, "p1.parquet", col{"a", i32s([]int32{1})}, col{"b", f32s([]float32{1})})
			part(t, dir, "p2.parquet", col{"b", f64s([]float64{2})}, col{"a", i64s([]int64{2})})
		}, Selection{}, []string{"note:", `p2.parquet: column "a" is int64, int32 in`, "p2.parquet: columns in another order than in"}},
		{"extra column", func(t *testing.T, dir string) {
			part(t, dir, "p1.parquet", col{"a", f64s([]float64{1})})
			part(t, dir, "p2.parquet", col{"a", f64s([]float64{2})}, col{"new", f64s([]float64{2})})
		}, Selection{}, []string{"note:", `p2.parquet: numeric column "new" is not in`, "left out"}},
		{"kept column changes width", func(t *testing.T, dir string) {
			part(t, dir, "p1.parquet", col{"a", f64s([]float64{1})}, col{"id", i32s([]int32{1})})
			part(t, dir, "p2.parquet", col{"a", f64s([]float64{2})}, col{"id", i64s([]int64{2})})
		}, Selection{Exclude: []string{"id"}, Keep: []string{"id"}}, nil},
		{"kept column turns to text", func(t *testing.T, dir string) {
			part(t, dir, "p1.parquet", col{"a", f64s([]float64{1})}, col{"id", i32s([]int32{1})})
			part(t, dir, "p2.parquet", col{"a", f64s([]float64{2})}, col{"id", strs([]string{"x"})})
		}, Selection{Exclude: []string{"id"}, Keep: []string{"id"}}, []string{`"id" has incompatible types`}},
		{"partitioned differently", func(t *testing.T, dir string) {
			part(t, dir, "k=1/p1.parquet", col{"a", f64s([]float64{1})})
			part(t, dir, "j=1/p2.parquet", col{"a", f64s([]float64{2})})
		}, Selection{}, []string{"partitioned differently", "[k]", "[j]"}},
		{"a file that is not Parquet", func(t *testing.T, dir string) {
			part(t, dir, "p1.parquet", col{"a", f64s([]float64{1})})
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
		}, Selection{}, []string{"notes.txt", "not a Parquet file", "text file"}},
		{"empty folder", func(t *testing.T, dir string) {}, Selection{}, []string{"holds no data files"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			tab, err := ReadDataset(context.Background(), []string{dir}, tc.sel)
			if len(tc.want) > 0 && tc.want[0] == "note:" {
				if err != nil || tab.Rows != 2 {
					t.Fatalf("%v, %v", tab, err)
				}
				notes := strings.Join(tab.Notes, "\n")
				for _, w := range tc.want[1:] {
					if !strings.Contains(notes, w) {
						t.Errorf("notes %q lack %q", notes, w)
					}
				}
				return
			}
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if tab.Rows != 2 {
					t.Errorf("%d rows, want 2", tab.Rows)
				}
				return
			}
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v, want ErrBadInput", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestResolveInputsGlobMisses(t *testing.T) {
	_, err := ResolveInputs([]string{filepath.Join(t.TempDir(), "*.parquet")})
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "matches no data file") {
		t.Errorf("error %v", err)
	}
}

// sequenceFile writes n rows: feature a = i, b = 2i, kept id = "r<i>",
// group = i % 3, in row groups of 64.
func sequenceFile(t *testing.T, n int) string {
	a, b := make([]float64, n), make([]float64, n)
	ids, groups := make([]string, n), make([]int64, n)
	for i := range n {
		a[i], b[i] = float64(i), float64(2*i)
		ids[i], groups[i] = fmt.Sprintf("r%d", i), int64(i%3)
	}
	return writeFixture(t, "seq.parquet", 64, col{"a", f64s(a)}, col{"b", f64s(b)}, col{"id", strs(ids)}, col{"group", i64s(groups)})
}

func TestReadInputsSampleAndFilter(t *testing.T) {
	path := sequenceFile(t, 1000)
	ins, err := ResolveInputs([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	sel := Selection{Features: []string{"a", "b"}, Keep: []string{"id", "group"}}
	read := func(seed int64, max int, filter string) *Table {
		t.Helper()
		opts := ReadOptions{MaxRows: max, Rand: rand.New(rand.NewSource(seed))}
		if filter != "" {
			f, err := ParseFilter(filter)
			if err != nil {
				t.Fatal(err)
			}
			opts.Filter = f
		}
		tab, err := ReadInputs(context.Background(), ins, sel, opts)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	// Every sampled row is a whole input row: features and kept columns
	// from the same row.
	check := func(tab *Table, wantGroup func(int) bool) map[int]bool {
		t.Helper()
		ids, _ := tab.KeptStrings("id")
		groups, _ := tab.KeptFloat64("group")
		rows := map[int]bool{}
		for r := range tab.Rows {
			i := int(tab.Data[2*r])
			if tab.Data[2*r+1] != float32(2*i) || ids[r] != fmt.Sprintf("r%d", i) || groups[r] != float64(i%3) || !wantGroup(i) {
				t.Fatalf("row %d: a=%v b=%v id=%s group=%v: not one input row", r, tab.Data[2*r], tab.Data[2*r+1], ids[r], groups[r])
			}
			if rows[i] {
				t.Fatalf("input row %d sampled twice", i)
			}
			rows[i] = true
		}
		return rows
	}
	tab := read(1, 100, "")
	if tab.Rows != 100 || tab.RowsRead != 1000 || tab.RowsMatched != 1000 {
		t.Fatalf("rows %d read %d matched %d", tab.Rows, tab.RowsRead, tab.RowsMatched)
	}
	first := check(tab, func(int) bool { return true })
	if again := check(read(1, 100, ""), func(int) bool { return true }); !maps.Equal(first, again) {
		t.Error("the same seed sampled other rows")
	}
	if other := check(read(2, 100, ""), func(int) bool { return true }); maps.Equal(first, other) {
		t.Error("another seed sampled the same rows")
	}
	// Uniform: over 300 samples each row is kept about 10 % of the time, in
	// the first and in the last tenth of the file alike.
	counts := make([]int, 1000)
	for seed := range int64(300) {
		for i := range check(read(seed, 100, ""), func(int) bool { return true }) {
			counts[i]++
		}
	}
	head, tail := 0, 0
	for i := range 100 {
		head += counts[i]
		tail += counts[900+i]
	}
	if head < 2700 || head > 3300 || tail < 2700 || tail > 3300 {
		t.Errorf("first tenth kept %d times, last tenth %d times; want about 3000 each", head, tail)
	}

	// A filter applies before sampling; without sampling it keeps every
	// matching row.
	tab = read(1, 0, "group = 1 AND a < 500")
	if tab.Rows != 167 || tab.RowsMatched != 167 || tab.RowsRead != 1000 {
		t.Errorf("filtered: rows %d matched %d read %d", tab.Rows, tab.RowsMatched, tab.RowsRead)
	}
	check(tab, func(i int) bool { return i%3 == 1 && i < 500 })
	tab = read(1, 50, "group = 1")
	if tab.Rows != 50 || tab.RowsMatched != 333 {
		t.Errorf("filtered sample: rows %d matched %d", tab.Rows, tab.RowsMatched)
	}
	check(tab, func(i int) bool { return i%3 == 1 })
	// More room than rows: everything, in input order.
	tab = read(1, 5000, "")
	if tab.Rows != 1000 || tab.Data[2*999] != 999 {
		t.Errorf("max above the row count: %d rows", tab.Rows)
	}

	// A filter that keeps nothing says so.
	f, _ := ParseFilter("group = 7")
	if _, err := ReadInputs(context.Background(), ins, sel, ReadOptions{Filter: f}); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "keeps none of the 1000 rows") {
		t.Errorf("empty filter result: %v", err)
	}
}

func TestKeptOrder(t *testing.T) {
	ts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	ts.AppendValues([]arrow.Timestamp{30, 10, 20}, nil)
	path := writeFixture(t, "t.parquet", 0, col{"x", f64s([]float64{1, 2, 3})}, col{"at", ts.NewArray()})
	tab, err := ReadTable(context.Background(), path, Selection{Features: []string{"x"}, Keep: []string{"at"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tab.KeptOrder("at")
	if err != nil || len(got) != 3 || math.Abs(got[0]-30e-6) > 1e-12 || !(got[1] < got[2] && got[2] < got[0]) {
		t.Errorf("KeptOrder = %v, %v; want seconds 3e-5, 1e-5, 2e-5", got, err)
	}
	// Files that store the time in other units still compare, sampled or not.
	dir := t.TempDir()
	for i, unit := range []arrow.TimeUnit{arrow.Millisecond, arrow.Second} {
		b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: unit})
		v := []arrow.Timestamp{1_700_000_000_000, 1_700_000_001_000}
		if unit == arrow.Second {
			v = []arrow.Timestamp{1_700_000_002, 1_700_000_003}
		}
		b.AppendValues(v, nil)
		moveTo(t, writeFixture(t, "u.parquet", 0, col{"x", f64s([]float64{1, 2})}, col{"at", b.NewArray()}), dir, fmt.Sprintf("p%d.parquet", i))
	}
	ins, _ := ResolveInputs([]string{dir})
	for _, max := range []int{0, 10} {
		opts := ReadOptions{MaxRows: max, Rand: rand.New(rand.NewSource(1))}
		tab, err := ReadInputs(context.Background(), ins, Selection{Features: []string{"x"}, Keep: []string{"at"}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tab.KeptOrder("at")
		if err != nil || !slices.Equal(got, []float64{1_700_000_000, 1_700_000_001, 1_700_000_002, 1_700_000_003}) {
			t.Errorf("max-rows %d: mixed units read as %v, %v", max, got, err)
		}
	}
	if _, err := tab.KeptOrder("x"); err == nil || !strings.Contains(err.Error(), "was not kept") {
		t.Errorf("a column not kept: %v", err)
	}
}

func TestReadProgress(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		moveTo(t, writeFixture(t, "p.parquet", 0, col{"x", f64s([]float64{1, 2, float64(i)})}), dir, fmt.Sprintf("p%d.parquet", i))
	}
	ins, err := ResolveInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var reports []ReadProgress
	if _, err := ReadInputs(context.Background(), ins, Selection{}, ReadOptions{Progress: func(p ReadProgress) { reports = append(reports, p) }}); err != nil {
		t.Fatal(err)
	}
	last := reports[len(reports)-1]
	var total int64
	for _, in := range ins {
		total += in.Size
	}
	if last.Files != 3 || last.FilesDone != 3 || last.RowsRead != 9 || last.RowsKept != 9 || last.BytesDone != total || last.BytesTotal != total {
		t.Errorf("last report %+v", last)
	}
}

func TestFeaturePatterns(t *testing.T) {
	path := writeFixture(t, "s.parquet", 0, col{"sensor_a", f64s([]float64{1})}, col{"id", i64s([]int64{7})},
		col{"sensor_b", i32s([]int32{2})}, col{"sensor_name", strs([]string{"x"})}, col{"other", f64s([]float64{3})})
	for _, tc := range []struct {
		sel  Selection
		want string // feature names, or an error part
	}{
		{Selection{Features: []string{"sensor_*"}}, "sensor_a,sensor_b"},
		{Selection{Features: []string{"other", "sensor_?"}}, "other,sensor_a,sensor_b"},
		{Selection{Features: []string{"sensor_b", "sensor_*"}}, "sensor_b,sensor_a"},
		{Selection{Exclude: []string{"sensor_*"}}, "id,other"},
		{Selection{Features: []string{"temp_*"}}, `pattern "temp_*" matches no numeric column`},
		{Selection{Features: []string{"[a"}}, "syntax error in pattern"},
	} {
		tab, err := ReadTable(context.Background(), path, tc.sel)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = strings.Join(tab.Names, ",")
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.sel, got, tc.want)
		}
	}
}

func TestPartitionEdgeCases(t *testing.T) {
	// key=value directories above the folder given are not partitions.
	base := filepath.Join(t.TempDir(), "run=5", "data")
	moveTo(t, writeFixture(t, "p.parquet", 0, col{"x", f64s([]float64{1})}), base, "k=a/p.parquet")
	moveTo(t, writeFixture(t, "p.parquet", 0, col{"x", f64s([]float64{2})}), base, "k="+HiveNull+"/p.parquet")
	os.WriteFile(filepath.Join(base, "k=a", "_SUCCESS"), nil, 0o644)
	for _, input := range []string{base, filepath.Join(base, "k=*", "*")} {
		ins, err := ResolveInputs([]string{input})
		if err != nil {
			t.Fatalf("%s: %v", input, err)
		}
		if len(ins) != 2 || len(ins[0].Partition) != 1 || ins[0].Partition[0].Key != "k" {
			t.Fatalf("%s: %+v; want two files partitioned by k only (run=5 is above the input, _SUCCESS skipped)", input, ins)
		}
		tab, err := ReadInputs(context.Background(), ins, Selection{Keep: []string{"k"}}, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if col := tab.Kept.Column(0); col.NullN() != 1 {
			t.Errorf("%s: the hive null marker read as %d nulls, want 1", input, col.NullN())
		}
	}
	// A partition key that is also a column.
	clash := t.TempDir()
	moveTo(t, writeFixture(t, "p.parquet", 0, col{"x", f64s([]float64{1})}), clash, "x=1/p.parquet")
	if _, err := ReadDataset(context.Background(), []string{clash}, Selection{}); err == nil || !strings.Contains(err.Error(), "names a column the file also holds") {
		t.Errorf("clash: %v", err)
	}
}
