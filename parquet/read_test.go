package parquet

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/parquet/file"
)

func TestReadTableBreastCancer(t *testing.T) {
	path := breastCancerPath(t)
	tests := []struct {
		name        string
		sel         Selection
		wantNames   int
		firstName   string
		wantSkipped []SkippedColumn
		wantKept    []string
		wantErr     []string // substrings; nil means success
	}{
		{
			name:        "default minus id",
			sel:         Selection{Exclude: []string{"patient_id"}},
			wantNames:   30,
			firstName:   "mean_radius",
			wantSkipped: []SkippedColumn{{Name: "diagnosis", Type: "string"}},
		},
		{
			name:        "default keeps id",
			sel:         Selection{Exclude: []string{"patient_id"}, Keep: []string{"patient_id", "diagnosis"}},
			wantNames:   30,
			firstName:   "mean_radius",
			wantSkipped: []SkippedColumn{{Name: "diagnosis", Type: "string"}},
			wantKept:    []string{"patient_id", "diagnosis"},
		},
		{
			name:        "default includes the bigint id",
			sel:         Selection{},
			wantNames:   31,
			firstName:   "patient_id",
			wantSkipped: []SkippedColumn{{Name: "diagnosis", Type: "string"}},
		},
		{
			name:      "explicit features",
			sel:       Selection{Features: []string{"worst_area", "mean_radius"}},
			wantNames: 2,
			firstName: "worst_area",
		},
		{
			name:    "string feature",
			sel:     Selection{Features: []string{"mean_radius", "diagnosis"}},
			wantErr: []string{`"diagnosis" is string`, "must be numeric"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := ReadTable(context.Background(), path, tt.sel)
			if tt.wantErr != nil {
				if !errors.Is(err, ErrBadInput) {
					t.Fatalf("err = %v, want ErrBadInput", err)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tb.Rows != 569 || len(tb.Names) != tt.wantNames || len(tb.Data) != 569*tt.wantNames {
				t.Fatalf("got %v, %d values; want 569 rows × %d", tb, len(tb.Data), tt.wantNames)
			}
			if tb.Names[0] != tt.firstName {
				t.Errorf("first feature %q, want %q", tb.Names[0], tt.firstName)
			}
			if !reflect.DeepEqual(tb.Skipped, tt.wantSkipped) {
				t.Errorf("Skipped = %v, want %v", tb.Skipped, tt.wantSkipped)
			}
			if got := int(tb.Kept.NumCols()); got != len(tt.wantKept) || tb.Kept.NumRows() != 569 {
				t.Fatalf("Kept has %d cols × %d rows, want %d × 569", got, tb.Kept.NumRows(), len(tt.wantKept))
			}
			for _, name := range tt.wantKept {
				if _, err := tb.KeptStrings(name); err != nil {
					t.Errorf("KeptStrings(%q): %v", name, err)
				}
			}
			for _, v := range tb.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatal("non-finite value in Data")
				}
			}
		})
	}
}

func TestReadTableBreastCancerLabels(t *testing.T) {
	tb, err := ReadTable(context.Background(), breastCancerPath(t), Selection{Exclude: []string{"patient_id"}, Keep: []string{"patient_id", "diagnosis"}})
	if err != nil {
		t.Fatal(err)
	}
	// The first row of WDBC is a malignant case with mean radius 17.99.
	if got := tb.Row(0)[0]; got != 17.99 {
		t.Errorf("row 0 mean_radius = %v, want 17.99", got)
	}
	ids, err := tb.KeptFloat64("patient_id")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 569 {
		t.Fatalf("%d ids", len(ids))
	}
	diag, err := tb.KeptStrings("diagnosis")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, d := range diag {
		counts[d]++
	}
	if counts["benign"] != 357 || counts["malignant"] != 212 {
		t.Errorf("diagnosis counts %v, want 357 benign, 212 malignant", counts)
	}
	if _, err := tb.KeptFloat64("diagnosis"); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "string") {
		t.Errorf("KeptFloat64(diagnosis) err = %v, want ErrBadInput naming the type", err)
	}
	if _, err := tb.KeptFloat64("mean_radius"); !errors.Is(err, ErrUsage) {
		t.Errorf("KeptFloat64 of a column not kept: err = %v, want ErrUsage", err)
	}
}

func TestReadTableCoercion(t *testing.T) {
	dec := func() arrow.Array {
		b := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 10, Scale: 2})
		defer b.Release()
		for _, v := range []int64{125, -50, 0} {
			b.Append(decimal128.FromI64(v))
		}
		return b.NewArray()
	}
	f16 := func() arrow.Array {
		b := array.NewFloat16Builder(mem)
		defer b.Release()
		for _, v := range []float32{0.5, -2, 1024} {
			b.Append(float16.New(v))
		}
		return b.NewArray()
	}
	dict := func() arrow.Array {
		b := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Float64})
		defer b.Release()
		db := b.(*array.Float64DictionaryBuilder)
		for _, v := range []float64{7.5, 7.5, -1} {
			if err := db.Append(v); err != nil {
				t.Fatal(err)
			}
		}
		return b.NewArray()
	}
	tests := []struct {
		name string
		arr  arrow.Array
		sel  Selection // Features is filled in with "x" when empty
		want []float32
	}{
		{"int8", i8s([]int8{-128, 0, 127}), Selection{}, []float32{-128, 0, 127}},
		{"int32", i32s([]int32{-7, 0, 1 << 30}), Selection{}, []float32{-7, 0, 1 << 30}},
		{"int64", i64s([]int64{-1, 42, 1 << 40}), Selection{}, []float32{-1, 42, 1 << 40}},
		{"uint64", u64s([]uint64{0, 1, math.MaxUint64}), Selection{}, []float32{0, 1, math.MaxUint64}},
		{"float32", f32s([]float32{1.5, -0.25, math.MaxFloat32}), Selection{}, []float32{1.5, -0.25, math.MaxFloat32}},
		{"float64", f64s([]float64{0.1, 1e-3, -3}), Selection{}, []float32{0.1, 1e-3, -3}},
		{"float16", f16(), Selection{}, []float32{0.5, -2, 1024}},
		{"decimal", dec(), Selection{}, []float32{1.25, -0.5, 0}},
		{"dictionary", dict(), Selection{}, []float32{7.5, 7.5, -1}},
		{"bool when named", bools([]bool{true, false, true}), Selection{Features: []string{"x"}}, []float32{1, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFixture(t, "c.parquet", 0, col{"x", tt.arr})
			tb, err := ReadTable(context.Background(), path, tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tb.Names, []string{"x"}) || !reflect.DeepEqual(tb.Data, tt.want) {
				t.Errorf("got %v %v, want [x] %v", tb.Names, tb.Data, tt.want)
			}
		})
	}
}

func TestReadTableSelection(t *testing.T) {
	path := writeFixture(t, "s.parquet", 0,
		col{"id", i64s([]int64{10, 11})},
		col{"a", f64s([]float64{1, 2})},
		col{"name", strs([]string{"p", "q"})},
		col{"b", i32s([]int32{3, 4})},
		col{"flag", bools([]bool{true, false})},
		col{"c", f32s([]float32{5, 6})},
	)
	tests := []struct {
		name     string
		sel      Selection
		names    []string
		data     []float32
		skipped  []string
		keptCols []string
	}{
		{"default", Selection{}, []string{"id", "a", "b", "c"}, []float32{10, 1, 3, 5, 11, 2, 4, 6}, []string{"name", "flag"}, nil},
		{"exclude", Selection{Exclude: []string{"id", "name"}}, []string{"a", "b", "c"}, []float32{1, 3, 5, 2, 4, 6}, []string{"flag"}, nil},
		{"explicit order", Selection{Features: []string{"c", "flag", "a"}}, []string{"c", "flag", "a"}, []float32{5, 1, 1, 6, 0, 2}, nil, nil},
		{"keep any type", Selection{Features: []string{"a"}, Keep: []string{"name", "a", "id"}}, []string{"a"}, []float32{1, 2}, nil, []string{"name", "a", "id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := ReadTable(context.Background(), path, tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tb.Names, tt.names) || !reflect.DeepEqual(tb.Data, tt.data) {
				t.Errorf("got %v %v, want %v %v", tb.Names, tb.Data, tt.names, tt.data)
			}
			var skipped []string
			for _, s := range tb.Skipped {
				skipped = append(skipped, s.Name)
			}
			if !reflect.DeepEqual(skipped, tt.skipped) {
				t.Errorf("skipped %v, want %v", skipped, tt.skipped)
			}
			var kept []string
			for _, f := range tb.Kept.Schema().Fields() {
				kept = append(kept, f.Name)
			}
			if !reflect.DeepEqual(kept, tt.keptCols) {
				t.Errorf("kept %v, want %v", kept, tt.keptCols)
			}
		})
	}
}

func TestReadTableRowGroups(t *testing.T) {
	const n = 10
	ids := make([]int64, n)
	xs := make([]float64, n)
	ys := make([]int32, n)
	names := make([]string, n)
	for i := range ids {
		ids[i] = int64(100 + i)
		xs[i] = float64(i) / 4
		ys[i] = int32(-i)
		names[i] = string(rune('a' + i))
	}
	path := writeFixture(t, "rg.parquet", 3,
		col{"id", i64s(ids)}, col{"x", f64s(xs)}, col{"y", i32s(ys)}, col{"s", strs(names)})

	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := pf.NumRowGroups(); got != 4 {
		t.Fatalf("fixture has %d row groups, want 4", got)
	}
	pf.Close()

	tb, err := ReadTable(context.Background(), path, Selection{Features: []string{"y", "x"}, Keep: []string{"id", "s"}})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Rows != n {
		t.Fatalf("Rows = %d", tb.Rows)
	}
	for i := 0; i < n; i++ {
		if got, want := tb.Row(i), []float32{float32(ys[i]), float32(xs[i])}; !reflect.DeepEqual(got, want) {
			t.Errorf("row %d = %v, want %v", i, got, want)
		}
	}
	gotIDs, err := tb.KeptFloat64("id")
	if err != nil {
		t.Fatal(err)
	}
	gotNames, err := tb.KeptStrings("s")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if gotIDs[i] != float64(ids[i]) || gotNames[i] != names[i] {
			t.Errorf("kept row %d = %v %q, want %v %q", i, gotIDs[i], gotNames[i], ids[i], names[i])
		}
	}
}

// validParquet returns the bytes of a small valid Parquet file.
func validParquet(t *testing.T) []byte {
	t.Helper()
	xs := make([]float64, 200)
	for i := range xs {
		xs[i] = float64(i)
	}
	b, err := os.ReadFile(writeFixture(t, "v.parquet", 50, col{"x", f64s(xs)}, col{"y", f64s(xs)}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadTableBadInput(t *testing.T) {
	good := validParquet(t)
	corruptFooter := append([]byte(nil), good...)
	// Overwrite the footer's Thrift metadata, keeping its length and magic.
	for i := len(corruptFooter) - 40; i < len(corruptFooter)-8; i++ {
		corruptFooter[i] = 0xff
	}
	badFooterLen := append([]byte(nil), good...)
	copy(badFooterLen[len(badFooterLen)-8:], []byte{0xff, 0xff, 0xff, 0x7f})

	tests := []struct {
		name  string
		setup func(t *testing.T) string
		sel   Selection
		want  error
		msgs  []string
	}{
		{
			name:  "missing file",
			setup: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.parquet") },
			want:  ErrBadInput, msgs: []string{"nope.parquet", "does not exist"},
		},
		{
			name:  "directory",
			setup: func(t *testing.T) string { return t.TempDir() },
			want:  ErrBadInput, msgs: []string{"holds no data files"},
		},
		{
			name:  "empty file",
			setup: func(t *testing.T) string { return writeBytes(t, "e.parquet", nil) },
			want:  ErrBadInput, msgs: []string{"empty"},
		},
		{
			name:  "csv file",
			setup: func(t *testing.T) string { return writeBytes(t, "d.parquet", []byte("a,b\n1,2\n")) },
			want:  ErrBadInput, msgs: []string{"not a Parquet file", "CSV"},
		},
		{
			name: "random bytes",
			setup: func(t *testing.T) string {
				return writeBytes(t, "r.parquet", []byte{0x89, 0, 1, 2, 3, 0xfe, 0xff, 9, 9, 9, 9, 9, 9})
			},
			want: ErrBadInput, msgs: []string{"not a Parquet file", "PAR1"},
		},
		{
			name:  "magic only",
			setup: func(t *testing.T) string { return writeBytes(t, "m.parquet", []byte("PAR1PAR1")) },
			want:  ErrBadInput, msgs: []string{"truncated"},
		},
		{
			name:  "truncated",
			setup: func(t *testing.T) string { return writeBytes(t, "t.parquet", good[:len(good)/2]) },
			want:  ErrBadInput, msgs: []string{"truncated or corrupt"},
		},
		{
			name:  "corrupt footer",
			setup: func(t *testing.T) string { return writeBytes(t, "f.parquet", corruptFooter) },
			want:  ErrBadInput, msgs: []string{"corrupt"},
		},
		{
			name:  "footer length too large",
			setup: func(t *testing.T) string { return writeBytes(t, "l.parquet", badFooterLen) },
			want:  ErrBadInput, msgs: []string{"footer is corrupt"},
		},
		{
			name: "missing feature",
			setup: func(t *testing.T) string {
				return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}, col{"Y", f64s([]float64{1})})
			},
			sel:  Selection{Features: []string{"x", "y", "z"}},
			want: ErrBadInput, msgs: []string{`feature columns "y", "z" do not exist`, `available columns: "x", "Y"`, `did you mean "Y"`},
		},
		{
			name:  "missing excluded",
			setup: func(t *testing.T) string { return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}) },
			sel:   Selection{Exclude: []string{"id"}},
			want:  ErrBadInput, msgs: []string{`excluded column "id" does not exist`, `available columns: "x"`},
		},
		{
			name:  "missing kept",
			setup: func(t *testing.T) string { return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}) },
			sel:   Selection{Keep: []string{"label"}},
			want:  ErrBadInput, msgs: []string{`kept column "label" does not exist`, `available columns: "x"`},
		},
		{
			name: "non-numeric feature",
			setup: func(t *testing.T) string {
				return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}, col{"s", strs([]string{"a"})})
			},
			sel:  Selection{Features: []string{"x", "s"}},
			want: ErrBadInput, msgs: []string{`"s" is string`},
		},
		{
			name:  "no rows",
			setup: func(t *testing.T) string { return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{})}) },
			want:  ErrBadInput, msgs: []string{"no rows"},
		},
		{
			name: "no numeric columns",
			setup: func(t *testing.T) string {
				return writeFixture(t, "x.parquet", 0, col{"s", strs([]string{"a"})}, col{"b", bools([]bool{true})})
			},
			want: ErrBadInput, msgs: []string{"no numeric columns", `"s" string`, `"b" bool`},
		},
		{
			name:  "everything excluded",
			setup: func(t *testing.T) string { return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}) },
			sel:   Selection{Exclude: []string{"x"}},
			want:  ErrBadInput, msgs: []string{"every numeric column was excluded"},
		},
		{
			name: "nulls and non-finite values",
			setup: func(t *testing.T) string {
				return writeFixture(t, "x.parquet", 2,
					col{"ok", f64s([]float64{1, 2, 3, 4, 5})},
					col{"x", f64s([]float64{0, math.NaN(), 0, 0, math.Inf(-1)}, 0, 2, 3)},
					col{"n", i32s([]int32{1, 2, 3, 4, 5}, 4)},
					col{"big", f64s([]float64{1e300, 1, 1, 1, 1})},
					col{"inf32", f32s([]float32{float32(math.Inf(1)), 1, 1, 1, 1})},
				)
			},
			want: ErrBadInput,
			msgs: []string{`column "x": 3 nulls, 2 NaN/Inf`, `column "n": 1 null;`, `column "big": 1 outside the float32 range`, `column "inf32": 1 NaN/Inf)`},
		},
		{
			name: "duplicate column names in file",
			setup: func(t *testing.T) string {
				return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}, col{"x", f64s([]float64{2})})
			},
			want: ErrBadInput, msgs: []string{`"x" appears 2 times`},
		},
		{
			name:  "features and exclude",
			setup: func(t *testing.T) string { return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}) },
			sel:   Selection{Features: []string{"x"}, Exclude: []string{"y"}},
			want:  ErrUsage, msgs: []string{"features and exclude cannot be used together"},
		},
		{
			name:  "duplicate feature",
			setup: func(t *testing.T) string { return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}) },
			sel:   Selection{Features: []string{"x", "x"}},
			want:  ErrUsage, msgs: []string{`"x" is listed twice`},
		},
		{
			name:  "empty kept name",
			setup: func(t *testing.T) string { return writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})}) },
			sel:   Selection{Keep: []string{""}},
			want:  ErrUsage, msgs: []string{"empty column name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t)
			tb, err := ReadTable(context.Background(), path, tt.sel)
			if err == nil {
				t.Fatalf("got %v, want an error", tb)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want it to wrap %v", err, tt.want)
			}
			if other := map[error]error{ErrBadInput: ErrUsage, ErrUsage: ErrBadInput}[tt.want]; errors.Is(err, other) {
				t.Errorf("err = %v also wraps %v", err, other)
			}
			if !strings.HasPrefix(err.Error(), "read "+path+": ") {
				t.Errorf("error %q does not start with the path", err)
			}
			for _, m := range tt.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}

func TestReadTableUnreadable(t *testing.T) {
	path := writeFixture(t, "x.parquet", 0, col{"x", f64s([]float64{1})})
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Open(path); err == nil {
		f.Close()
		t.Skip("running with privileges that ignore file permissions")
	}
	_, err := ReadTable(context.Background(), path, Selection{})
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("err = %v, want ErrBadInput mentioning permission", err)
	}
}

// TestReadTableCorruptNoPanic damages every region of a valid file in turn;
// ReadTable may succeed on harmless damage but must never panic, and every
// error must wrap ErrBadInput.
func TestReadTableCorruptNoPanic(t *testing.T) {
	good := validParquet(t)
	dir := t.TempDir()
	step := len(good) / 64
	if step == 0 {
		step = 1
	}
	for off := 4; off < len(good)-4; off += step {
		for _, width := range []int{1, 16} {
			b := append([]byte(nil), good...)
			for i := off; i < off+width && i < len(b)-4; i++ {
				b[i] ^= 0x5a
			}
			path := filepath.Join(dir, "c.parquet")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadTable(context.Background(), path, Selection{}); err != nil && !errors.Is(err, ErrBadInput) {
				t.Errorf("damage at %d (+%d): err = %v, want ErrBadInput", off, width, err)
			}
		}
	}
	// Truncations at every length keep the magic bytes off the end.
	for n := 0; n < len(good); n += step {
		path := filepath.Join(dir, "t.parquet")
		if err := os.WriteFile(path, good[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadTable(context.Background(), path, Selection{}); !errors.Is(err, ErrBadInput) {
			t.Errorf("truncated to %d bytes: err = %v, want ErrBadInput", n, err)
		}
	}
}

func TestKeptFloat64(t *testing.T) {
	path := writeFixture(t, "k.parquet", 0,
		col{"x", f64s([]float64{1, 2, 3})},
		col{"flag", bools([]bool{true, false, true})},
		col{"label", i32s([]int32{0, 1, 0})},
		col{"holes", f64s([]float64{0, 0, 0}, 1)},
		col{"nan", f64s([]float64{0, math.NaN(), 0})},
	)
	tb, err := ReadTable(context.Background(), path, Selection{Features: []string{"x"}, Keep: []string{"flag", "label", "holes", "nan"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []float64
		err  error
		msg  string
	}{
		{"flag", []float64{1, 0, 1}, nil, ""},
		{"label", []float64{0, 1, 0}, nil, ""},
		{"holes", nil, ErrBadInput, `column "holes": 1 null`},
		{"nan", nil, ErrBadInput, `column "nan": 1 NaN/Inf`},
		{"x", nil, ErrUsage, "not kept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tb.KeptFloat64(tt.name)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.err, tt.msg)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	path := writeBytes(t, "d.bin", []byte("abc"))
	size, sum, err := Digest(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if size != 3 || sum != want {
		t.Errorf("Digest = %d %s, want 3 %s", size, sum, want)
	}
	for _, p := range []string{filepath.Join(t.TempDir(), "missing"), t.TempDir()} {
		if _, _, err := Digest(context.Background(), p); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), p) {
			t.Errorf("Digest(context.Background(), %s) err = %v, want ErrBadInput naming the path", p, err)
		}
	}
}

func TestReadTableAllowMissing(t *testing.T) {
	path := writeFixture(t, "missing.parquet", 100,
		col{"a", f64s([]float64{1, math.NaN(), 3, math.Inf(1)})},
		col{"b", f64s([]float64{1, 2, 0, 4}, 2)})
	if _, err := ReadTable(context.Background(), path, Selection{}); !errors.Is(err, ErrBadInput) {
		t.Fatalf("strict read: err = %v, want ErrBadInput", err)
	}
	tab, err := ReadTable(context.Background(), path, Selection{AllowMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	nan := func(v float32) bool { return v != v }
	d := tab.Data
	if d[0] != 1 || !nan(d[2]) || !math.IsInf(float64(d[6]), 1) || !nan(d[5]) || d[7] != 4 {
		t.Errorf("data %v: want NaN for the NaN and the null, +Inf kept", d)
	}
}

func TestFooterDigest(t *testing.T) {
	a := writeFixture(t, "a.parquet", 0, col{"x", f64s([]float64{1, 2, 3})})
	b := writeFixture(t, "b.parquet", 0, col{"x", f64s([]float64{1, 2, 4})})
	dir := t.TempDir()
	arrowFile := writeArrow(t, filepath.Join(dir, "c.arrow"), false, 10, col{"x", f64s([]float64{1})})
	stream := writeArrow(t, filepath.Join(dir, "d.arrows"), true, 10, col{"x", f64s([]float64{1})})
	sums := map[string]bool{}
	for _, p := range []string{a, b, arrowFile, stream} {
		ins, err := ResolveInputs([]string{p})
		if err != nil {
			t.Fatal(err)
		}
		size, sum, err := FooterDigest(ins[0])
		if err != nil || len(sum) != 64 || size != ins[0].Size {
			t.Fatalf("%s: %d %q %v", p, size, sum, err)
		}
		again, sum2, _ := FooterDigest(ins[0])
		if again != size || sum2 != sum {
			t.Errorf("%s: not deterministic", p)
		}
		sums[sum] = true
	}
	if len(sums) != 4 {
		t.Errorf("%d distinct footer digests for 4 different files (the Parquet footers hold column statistics)", len(sums))
	}
}
