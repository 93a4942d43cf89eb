package parquet

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// within runs f and fails the test if it has not returned in 10 seconds
// (a FIFO opened for reading blocks until a writer comes).
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s blocked", what)
		return nil
	}
}

// TestSpecialFilesRefused checks that a FIFO, a socket or a device given
// as input, directly, in a folder or through a glob, is refused as bad
// input without being opened for reading (a FIFO would block).
func TestSpecialFilesRefused(t *testing.T) {
	dir := t.TempDir()
	good := writeFixture(t, "good.parquet", 10, col{"x", f64s([]float64{1, 2, 3})})
	fifo := filepath.Join(dir, "fifo.parquet")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("cannot make a FIFO: %v", err)
	}
	if err := os.Link(good, filepath.Join(dir, "good.parquet")); err != nil {
		t.Fatal(err)
	}
	sockDir := t.TempDir()
	sock := filepath.Join(sockDir, "s.parquet")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("cannot make a socket: %v", err)
	}
	defer l.Close()
	cases := []struct {
		name, arg, kind string
	}{
		{"fifo", fifo, "FIFO"},
		{"fifo in a folder", dir, "FIFO"},
		{"fifo through a glob", filepath.Join(dir, "*.parquet"), "FIFO"},
		{"socket", sock, "socket"},
		{"socket in a folder", sockDir, "socket"},
		{"device", os.DevNull, "character device"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := within(t, "ReadTable", func() error {
				_, err := ReadTable(context.Background(), c.arg, Selection{})
				return err
			})
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), c.kind) {
				t.Errorf("ReadTable(%s): err = %v, want ErrBadInput naming a %s", c.arg, err, c.kind)
			}
		})
	}
	t.Run("digest", func(t *testing.T) {
		err := within(t, "Digest", func() error {
			_, _, err := Digest(context.Background(), fifo)
			return err
		})
		if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("Digest(fifo): err = %v, want ErrBadInput naming a FIFO", err)
		}
		err = within(t, "FooterDigest", func() error {
			_, _, err := FooterDigest(Input{Path: fifo, Format: FormatParquet})
			return err
		})
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("FooterDigest(fifo): err = %v, want ErrBadInput", err)
		}
	})
	// A FIFO swapped in after the stat: see regfile's tests.
}

// TestFeatureNames checks that a column whose name is empty or holds
// control characters is refused when it would be a feature, naming its
// position and showing the name quoted, and ignored otherwise.
func TestFeatureNames(t *testing.T) {
	nums := f64s([]float64{1, 2, 3})
	texts := strs([]string{"a", "b", "c"})
	cases := []struct {
		name string
		cols []col
		sel  Selection
		want string // a part of the error; "" for none
	}{
		{"empty numeric by default", []col{{"ok", nums}, {"", nums}}, Selection{}, `column 2 of the input has the name ""`},
		{"blank numeric by default", []col{{" ", nums}, {"ok", nums}}, Selection{}, `column 1 of the input has the name " "`},
		{"control character by default", []col{{"ok", nums}, {"a\x01b", nums}}, Selection{}, `column 2 of the input has the name "a\x01b"`},
		{"newline by default", []col{{"a\nb", nums}}, Selection{}, `"a\nb"`},
		{"control character named", []col{{"ok", nums}, {"a\tb", nums}}, Selection{Features: []string{"a\tb"}}, `"a\tb"`},
		{"control character through a pattern", []col{{"a\x7fb", nums}}, Selection{Features: []string{"a*"}}, `"a\x7fb"`},
		{"empty but not numeric", []col{{"ok", nums}, {"", texts}}, Selection{}, ""},
		{"control character but not numeric", []col{{"ok", nums}, {"a\x01", texts}}, Selection{}, ""},
		{"not in the named features", []col{{"ok", nums}, {"", nums}, {"a\x01", nums}}, Selection{Features: []string{"ok"}}, ""},
		{"excluded", []col{{"ok", nums}, {"a\x01", nums}}, Selection{Exclude: []string{"a\x01"}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFixture(t, "names.parquet", 10, c.cols...)
			tb, err := ReadTable(context.Background(), path, c.sel)
			if c.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if len(tb.Names) != 1 || tb.Names[0] != "ok" {
					t.Errorf("features %q, want [ok]", tb.Names)
				}
				return
			}
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrBadInput containing %s", err, c.want)
			}
		})
	}
}

// TestMaxMagnitude checks that values beyond Selection.MaxMagnitude count
// as missing: refused, named and counted without AllowMissing, passed
// through unchanged with it, in every sink.
func TestMaxMagnitude(t *testing.T) {
	const sentinel = 3.4e38
	path := writeFixture(t, "sentinels.parquet", 2,
		col{"ok", f64s([]float64{1, 2, 3, 4, 5})},
		col{"s64", f64s([]float64{1, sentinel, 3, -sentinel, 5})},
		col{"s32", f32s([]float32{1, 2, -1e31, 4, 5})},
		col{"i64", i64s([]int64{1, 2, 3, 4, math.MaxInt64})},
		// float64 1e30 is within the bound, but the float32 stored,
		// 1.0000000150e30, is not: the bound applies to what is stored.
		col{"at", f64s([]float64{1, 1e30, 9.9999e29, 4, 5})},
	)
	ins, err := ResolveInputs([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	read := func(sel Selection) (*Table, []float32, error) {
		tb, err := ReadInputs(context.Background(), ins, sel, ReadOptions{})
		var streamed []float32
		_, serr := StreamInputs(context.Background(), ins, sel, ReadOptions{}, func(b *Batch) error {
			x, err := b.Features(nil)
			streamed = append(streamed, x...)
			return err
		})
		if (err == nil) != (serr == nil) {
			t.Errorf("whole read: %v; streamed: %v", err, serr)
		}
		return tb, streamed, err
	}
	cases := []struct {
		name  string
		bound float64
		want  []string // parts of the error; none: the read succeeds
	}{
		{"bound", 1e30, []string{
			`column "s64": 2 values beyond ±1e+30 (treated as missing)`,
			`column "s32": 1 value beyond ±1e+30 (treated as missing)`,
			`column "at": 1 value beyond ±1e+30 (treated as missing)`}},
		{"bound below the integers", 1e18, []string{`column "i64": 1 value beyond ±1e+18`}},
		{"no bound", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := read(Selection{MaxMagnitude: c.bound})
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("err = %v, want ErrBadInput", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %s", err, w)
				}
			}
			if strings.Contains(err.Error(), `"ok"`) {
				t.Errorf("err = %v names a column without missing values", err)
			}
			// With AllowMissing the values come through as they are.
			tb, streamed, err := read(Selection{MaxMagnitude: c.bound, AllowMissing: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := tb.Row(1)[1]; got != float32(sentinel) {
				t.Errorf("row 1 of s64 = %g, want %g unchanged", got, float32(sentinel))
			}
			if got := tb.Row(2)[2]; got != -1e31 {
				t.Errorf("row 2 of s32 = %g, want -1e31 unchanged", got)
			}
			if len(streamed) != len(tb.Data) {
				t.Fatalf("streamed %d values, read %d", len(streamed), len(tb.Data))
			}
			for i := range streamed {
				if streamed[i] != tb.Data[i] {
					t.Fatalf("value %d streamed %g, read %g", i, streamed[i], tb.Data[i])
				}
			}
		})
	}
	if _, err := ReadInputs(context.Background(), ins, Selection{MaxMagnitude: -1}, ReadOptions{}); !errors.Is(err, ErrUsage) {
		t.Errorf("a negative bound: err = %v, want ErrUsage", err)
	}
}

// emptyFixture writes a Parquet file with the columns x (float64) and id
// (string) and no rows.
func emptyFixture(t *testing.T, name string) string {
	t.Helper()
	return writeFixture(t, name, 10, col{"x", f64s(nil)}, col{"id", strs(nil)})
}

// TestEmptyInputs checks that a streamed read of inputs without rows (an
// empty file, a folder of empty partitions) hands out no batch and gives
// the features and the kept columns' schema, that a whole read of them is
// refused, and that an empty partition among others is read.
func TestEmptyInputs(t *testing.T) {
	dir := t.TempDir()
	moveTo(t, emptyFixture(t, "a.parquet"), dir, "dt=1/a.parquet")
	moveTo(t, emptyFixture(t, "b.parquet"), dir, "dt=2/b.parquet")
	mixed := t.TempDir()
	moveTo(t, emptyFixture(t, "a.parquet"), mixed, "dt=1/a.parquet")
	moveTo(t, writeFixture(t, "b.parquet", 10, col{"x", f64s([]float64{1, 2})}, col{"id", strs([]string{"p", "q"})}), mixed, "dt=2/b.parquet")
	moveTo(t, emptyFixture(t, "c.parquet"), mixed, "dt=3/c.parquet")
	emptyArrow := writeArrow(t, filepath.Join(t.TempDir(), "e.arrows"), true, 10, col{"x", f64s(nil)}, col{"id", strs(nil)})
	for _, c := range []struct {
		name string
		arg  string
		rows int
	}{
		{"empty file", emptyFixture(t, "e.parquet"), 0},
		{"empty arrow stream", emptyArrow, 0},
		{"folder of empty partitions", dir, 0},
		{"empty partitions among others", mixed, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			ins, err := ResolveInputs([]string{c.arg})
			if err != nil {
				t.Fatal(err)
			}
			sel := Selection{Features: []string{"x"}, Keep: []string{"id"}}
			batches := 0
			tb, err := StreamInputs(context.Background(), ins, sel, ReadOptions{}, func(b *Batch) error {
				batches++
				return nil
			})
			if err != nil {
				t.Fatalf("StreamInputs: %v", err)
			}
			if tb.Rows != c.rows || (c.rows == 0) != (batches == 0) || len(tb.Names) != 1 || tb.Names[0] != "x" {
				t.Errorf("streamed %d rows in %d batches, features %q; want %d rows, features [x]", tb.Rows, batches, tb.Names, c.rows)
			}
			want := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
			if !tb.Kept.Schema().Equal(want) || tb.Kept.NumRows() != 0 {
				t.Errorf("kept %v with %d rows, want %v and none", tb.Kept.Schema(), tb.Kept.NumRows(), want)
			}
			whole, err := ReadInputs(context.Background(), ins, sel, ReadOptions{})
			if c.rows == 0 {
				if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "no rows") {
					t.Errorf("ReadInputs: err = %v, want ErrBadInput saying there are no rows", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadInputs: %v", err)
			}
			if whole.Rows != c.rows || whole.Kept.Column(0).Data().Chunk(0).(*array.String).Value(0) != "p" {
				t.Errorf("ReadInputs: %d rows, kept %v", whole.Rows, whole.Kept.Column(0).Data().Chunks())
			}
		})
	}
}

// TestEmptyFirstPartitionOtherType checks that an empty first partition
// whose kept column has another type than the files with rows does not
// decide the type: the first batch does, in a streamed and a whole read.
func TestEmptyFirstPartitionOtherType(t *testing.T) {
	dir := t.TempDir()
	moveTo(t, writeFixture(t, "a.parquet", 10, col{"x", f64s(nil)}, col{"id", i32s(nil)}), dir, "dt=1/a.parquet")
	moveTo(t, writeFixture(t, "b.parquet", 10, col{"x", f64s([]float64{1, 2})}, col{"id", i64s([]int64{7, 8})}), dir, "dt=2/b.parquet")
	ins, err := ResolveInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	sel := Selection{Features: []string{"x"}, Keep: []string{"id"}}
	var got []arrow.DataType
	tb, err := StreamInputs(context.Background(), ins, sel, ReadOptions{}, func(b *Batch) error {
		got = append(got, b.KeptFields[0].Type, b.Kept[0].DataType())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := arrow.PrimitiveTypes.Int64
	if len(got) != 2 || !arrow.TypeEqual(got[0], want) || !arrow.TypeEqual(got[1], want) || !arrow.TypeEqual(tb.Kept.Schema().Field(0).Type, want) {
		t.Errorf("streamed kept types %v, table %v; want int64", got, tb.Kept.Schema())
	}
	whole, err := ReadInputs(context.Background(), ins, sel, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dt := whole.Kept.Schema().Field(0).Type; !arrow.TypeEqual(dt, want) {
		t.Errorf("whole read kept type %v, want int64", dt)
	}
}
