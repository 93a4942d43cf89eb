package parquet

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
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

	tab, err := ReadDataset([]string{dir}, Selection{Keep: []string{"dt", "hour"}})
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
	tab, err = ReadDataset([]string{dir}, Selection{Features: []string{"a", "hour"}})
	if err != nil || !slices.Equal(tab.Data, []float32{1, 1, 2, 1, 3, 1, 4, 2}) {
		t.Errorf("hour as a feature: %v (%v)", tab.Data, err)
	}

	// Globs and several inputs, each file read once.
	glob := filepath.Join(dir, "dt=*", "hour=*", "*.parquet")
	tab, err = ReadDataset([]string{glob, filepath.Join(dir, "dt=2026-11-24")}, Selection{})
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
			tab, err := ReadTable(path, Selection{Keep: []string{"s"}})
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
	tab, err := ReadTable(mixed, Selection{})
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
		}, Selection{}, nil},
		{"extra column", func(t *testing.T, dir string) {
			part(t, dir, "p1.parquet", col{"a", f64s([]float64{1})})
			part(t, dir, "p2.parquet", col{"a", f64s([]float64{2})}, col{"new", f64s([]float64{2})})
		}, Selection{}, nil},
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
			tab, err := ReadDataset([]string{dir}, tc.sel)
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
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("error %v", err)
	}
}
