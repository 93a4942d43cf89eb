package parquet

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// coreCounts are the GOMAXPROCS settings a read must give the same result
// on.
var coreCounts = []int{1, 2, 4, 16}

// withProcs runs f with GOMAXPROCS set to n, and restores it.
func withProcs(n int, f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	f()
}

// coresDataset writes a dataset of several files with several row groups
// each (one of them of an uneven size, one an Arrow IPC file, read batch
// by batch) under hive partitions, with a few missing values and a text
// column to keep, and returns its folder.
func coresDataset(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(3))
	id := 0
	columns := func(n int) []col {
		x, y, ids := make([]float64, n), make([]int64, n), make([]string, n)
		for i := range n {
			x[i], y[i], ids[i] = rng.NormFloat64(), rng.Int63n(1000), fmt.Sprintf("r%d", id)
			id++
		}
		return []col{{"x", f64s(x, n/3)}, {"y", i64s(y)}, {"id", strs(ids)}}
	}
	for k, f := range []struct {
		rows, group int
	}{{1000, 128}, {777, 100}, {300, 300}} {
		p := writeFixture(t, "part.parquet", int64(f.group), columns(f.rows)...)
		moveTo(t, p, dir, fmt.Sprintf("day=%d/part-%d.parquet", k, k))
	}
	if err := os.MkdirAll(filepath.Join(dir, "day=3"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeArrow(t, filepath.Join(dir, "day=3", "part-3.arrow"), false, 90, columns(450)...)
	return dir
}

// coresRead is a read that returns a description of everything it gave:
// counts, the features' bits, the kept values in order.
type coresRead struct {
	name string
	read func(ctx context.Context, ins []Input) (string, error)
}

// tableSignature describes a Table: its counts, a hash of its features'
// bits and its kept columns' values, in order.
func tableSignature(tb *Table) string {
	h := fnv.New64a()
	for _, v := range tb.Data {
		b := math.Float32bits(v)
		h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
	}
	var kept strings.Builder
	for k := range int(tb.Kept.NumCols()) {
		for _, c := range tb.Kept.Column(k).Data().Chunks() {
			kept.WriteString(chunkValues(c))
		}
	}
	h.Write([]byte(kept.String()))
	return fmt.Sprintf("names %v rows %d read %d matched %d data %d hash %x", tb.Names, tb.Rows, tb.RowsRead, tb.RowsMatched, len(tb.Data), h.Sum64())
}

// chunkValues renders the values of an array, one per line.
func chunkValues(a arrow.Array) string {
	var b strings.Builder
	for i := range a.Len() {
		b.WriteString(a.ValueStr(i))
		b.WriteByte('\n')
	}
	return b.String()
}

// coresReads are the reads that must not depend on the number of cores:
// every sink, with and without filter (when not empty).
func coresReads(t *testing.T, sel Selection, filterText string) []coresRead {
	var filter *Filter
	if filterText != "" {
		var err error
		if filter, err = ParseFilter(filterText); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(opts func() ReadOptions) func(ctx context.Context, ins []Input) (string, error) {
		return func(ctx context.Context, ins []Input) (string, error) {
			tb, err := ReadInputs(ctx, ins, sel, opts())
			if err != nil {
				return "", err
			}
			return tableSignature(tb), nil
		}
	}
	stream := func(opts ReadOptions) func(ctx context.Context, ins []Input) (string, error) {
		return func(ctx context.Context, ins []Input) (string, error) {
			var b strings.Builder
			h := fnv.New64a()
			tb, err := StreamInputs(ctx, ins, sel, opts, func(batch *Batch) error {
				rows, err := batch.Features(nil)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "batch %d;", batch.Rows)
				for _, v := range rows {
					fmt.Fprintf(h, "%08x", math.Float32bits(v))
				}
				for _, k := range batch.Kept {
					h.Write([]byte(chunkValues(k)))
				}
				return nil
			})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s rows %d read %d matched %d hash %x", b.String(), tb.Rows, tb.RowsRead, tb.RowsMatched, h.Sum64()), nil
		}
	}
	reads := []coresRead{
		{"collect", collect(func() ReadOptions { return ReadOptions{} })},
		{"sample", collect(func() ReadOptions { return ReadOptions{MaxRows: 150, Rand: rand.New(rand.NewSource(9))} })},
		{"stream", stream(ReadOptions{})},
	}
	if filter == nil {
		return reads
	}
	return append(reads, []coresRead{
		{"filter", collect(func() ReadOptions { return ReadOptions{Filter: filter} })},
		{"filtered sample", collect(func() ReadOptions {
			return ReadOptions{Filter: filter, MaxRows: 150, Rand: rand.New(rand.NewSource(9))}
		})},
		{"filtered stream", stream(ReadOptions{Filter: filter})},
	}...)
}

// TestSameReadOnAnyCores reads a dataset of several files and row groups
// with every sink, with and without a filter, with row groups read whole
// and in slices, on 1, 2, 4 and 16 cores: the tables, the samples and the
// streamed batches must be the same.
func TestSameReadOnAnyCores(t *testing.T) {
	ins, err := ResolveInputs([]string{coresDataset(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, slices := range []bool{false, true} {
		sel := Selection{Features: []string{"x", "y"}, Keep: []string{"id", "day"}, AllowMissing: true}
		for _, r := range coresReads(t, sel, "x > -0.5 AND day != 1") {
			t.Run(r.name+map[bool]string{true: "/slices"}[slices], func(t *testing.T) {
				if slices {
					defer func(v int64) { wholeGroupBytes = v }(wholeGroupBytes)
					wholeGroupBytes = 0
				}
				var want string
				for _, procs := range coreCounts {
					for rep := range 3 {
						var got string
						withProcs(procs, func() { got, err = r.read(context.Background(), ins) })
						if err != nil {
							t.Fatalf("GOMAXPROCS %d: %v", procs, err)
						}
						if want == "" {
							want = got
							if !strings.Contains(got, "read 2527") {
								t.Fatalf("read %s, want every one of the 2527 rows read", got)
							}
							continue
						}
						if got != want {
							t.Fatalf("GOMAXPROCS %d (run %d) read\n%s\nwhere GOMAXPROCS 1 read\n%s", procs, rep, got, want)
						}
					}
				}
			})
		}
	}
}

// corruptGroup damages the first bytes (the page header) of column leaf in
// row group rg of the Parquet file at path.
func corruptGroup(t *testing.T, path string, leaf, rg int) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pf.MetaData().RowGroup(rg).ColumnChunk(leaf)
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	from := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 {
		from = min(from, cc.DictionaryPageOffset())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < from+8; i++ {
		b[i] = 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFirstErrorInInputOrder damages two row groups of the first file and
// gives the second a corrupt footer: on any number of cores, every
// sink reports the failure of the first damaged row group, never that of
// the later one or of the second file, which may well fail first.
func TestFirstErrorInInputOrder(t *testing.T) {
	vals := make([]float64, 800)
	for i := range vals {
		vals[i] = float64(i)
	}
	first := writeFixture(t, "first.parquet", 100, col{"x", f64s(vals)}, col{"y", f64s(vals)})
	corruptGroup(t, first, 1, 2)
	corruptGroup(t, first, 0, 6)
	second := writeBytes(t, "second.parquet", append(append([]byte("PAR1"), make([]byte, 64)...), "PAR1"...))
	ins, err := ResolveInputs([]string{first, second})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range coresReads(t, Selection{}, "") {
		t.Run(r.name, func(t *testing.T) {
			for _, procs := range coreCounts {
				for rep := range 5 {
					withProcs(procs, func() {
						_, err = r.read(context.Background(), ins)
					})
					if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), first+": ") || !strings.Contains(err.Error(), `column "y", row group 2 `) {
						t.Fatalf("GOMAXPROCS %d (run %d): err = %v, want the damage of column \"y\" in row group 2 of %s", procs, rep, err, first)
					}
				}
			}
		})
	}
}

// TestCancelWithUnitsInFlight cancels a streamed read of many row groups,
// decoded on every core, from its first batch: the read stops with the
// context's error and hands out no further batch, however many were
// decoded ahead.
func TestCancelWithUnitsInFlight(t *testing.T) {
	ins := pipelineFixture(t)
	var err error
	for _, procs := range coreCounts {
		batches := 0
		withProcs(procs, func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err = StreamInputs(ctx, ins, Selection{}, ReadOptions{}, func(*Batch) error {
				batches++
				cancel()
				return nil
			})
		})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrBadInput) || batches != 1 {
			t.Errorf("GOMAXPROCS %d: %d batches, err = %v; want 1 batch and context.Canceled", procs, batches, err)
		}
	}
}
