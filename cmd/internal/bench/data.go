// Package bench holds what the benchmark commands (readbench, trainbench,
// scorebench) share: the large synthetic Parquet tables they measure with,
// generated once per machine, and the running and timing of child
// processes.
package bench

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Manifest describes a generated dataset.
type Manifest struct {
	Rows, Cols, Files int
	Seed              int64
}

// Ensure writes the dataset m describes into dir unless dir's
// _manifest.json already matches m: seeded standard normal float64 columns
// f0..f{Cols-1}, in Files snappy Parquet files (part-0000.parquet, ...)
// with row groups of 131,072 rows.
func Ensure(dir string, m Manifest) error {
	mpath := filepath.Join(dir, "_manifest.json") // "_": readers skip it, as Spark's _SUCCESS
	if b, err := os.ReadFile(mpath); err == nil {
		var have Manifest
		if json.Unmarshal(b, &have) == nil && have == m {
			return nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "generating %d rows × %d columns in %s ...\n", m.Rows, m.Cols, dir)
	rng := rand.New(rand.NewSource(m.Seed))
	fields := make([]arrow.Field, m.Cols)
	for j := range fields {
		fields[j] = arrow.Field{Name: fmt.Sprintf("f%d", j), Type: arrow.PrimitiveTypes.Float64}
	}
	schema := arrow.NewSchema(fields, nil)
	props := pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Snappy), pq.WithMaxRowGroupLength(131072))
	per := (m.Rows + m.Files - 1) / m.Files
	for f := 0; f < m.Files; f++ {
		n := min(per, m.Rows-f*per)
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%04d.parquet", f)))
		if err != nil {
			return err
		}
		w, err := pqarrow.NewFileWriter(schema, out, props, pqarrow.DefaultWriterProps())
		if err != nil {
			return err
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for lo := 0; lo < n; lo += 131072 {
			hi := min(lo+131072, n)
			for j := range m.Cols {
				fb := b.Field(j).(*array.Float64Builder)
				for range hi - lo {
					fb.Append(rng.NormFloat64())
				}
			}
			rec := b.NewRecord()
			if err := w.Write(rec); err != nil {
				return err
			}
			rec.Release()
		}
		b.Release()
		if err := w.Close(); err != nil {
			return err
		}
	}
	mb, _ := json.Marshal(m)
	return os.WriteFile(mpath, mb, 0o644)
}

// Bytes returns the size of the Parquet files under dir.
func Bytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && filepath.Ext(p) == ".parquet" {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
