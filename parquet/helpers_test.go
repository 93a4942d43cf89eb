package parquet

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// col is one column of a test fixture.
type col struct {
	name string
	arr  arrow.Array
}

// writeFixture writes cols as a Parquet file named name in a temporary
// directory, with at most rowGroup rows per row group, and returns its path.
func writeFixture(t testing.TB, name string, rowGroup int64, cols ...col) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	rows := int64(0)
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType(), Nullable: true}
		arrs[i] = c.arr
		rows = int64(c.arr.Len())
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, rows)
	defer rec.Release()
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	defer tbl.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if rowGroup <= 0 {
		rowGroup = 1 << 20
	}
	props := pq.NewWriterProperties()
	if err := pqarrow.WriteTable(tbl, f, rowGroup, props, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeBytes writes raw bytes to a temporary file and returns its path.
func writeBytes(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var mem = memory.DefaultAllocator

// valid turns a list of null positions into a validity mask of length n.
func valid(n int, nulls ...int) []bool {
	if len(nulls) == 0 {
		return nil
	}
	v := make([]bool, n)
	for i := range v {
		v[i] = true
	}
	for _, i := range nulls {
		v[i] = false
	}
	return v
}

func f64s(vals []float64, nulls ...int) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, valid(len(vals), nulls...))
	return b.NewArray()
}

func f32s(vals []float32, nulls ...int) arrow.Array {
	b := array.NewFloat32Builder(mem)
	defer b.Release()
	b.AppendValues(vals, valid(len(vals), nulls...))
	return b.NewArray()
}

func i64s(vals []int64, nulls ...int) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, valid(len(vals), nulls...))
	return b.NewArray()
}

func i32s(vals []int32, nulls ...int) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.AppendValues(vals, valid(len(vals), nulls...))
	return b.NewArray()
}

func i8s(vals []int8) arrow.Array {
	b := array.NewInt8Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func u64s(vals []uint64) arrow.Array {
	b := array.NewUint64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func bools(vals []bool, nulls ...int) arrow.Array {
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	b.AppendValues(vals, valid(len(vals), nulls...))
	return b.NewArray()
}

func strs(vals []string, nulls ...int) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues(vals, valid(len(vals), nulls...))
	return b.NewArray()
}

// breastCancerPath returns the path of the real data set shipped in the
// repository's testdata folder.
func breastCancerPath(t testing.TB) string {
	t.Helper()
	const p = "../testdata/breast_cancer_wisconsin.parquet"
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the demo table is missing: %v", err)
	}
	return p
}
