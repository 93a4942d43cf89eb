package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// failingFile is an input file whose reads of any byte in [from, to) fail
// as a failing disk's do: with an *fs.PathError holding EIO, which is what
// an *os.File returns then.
type failingFile struct {
	*os.File
	from, to int64
	failed   bool
}

func (f *failingFile) fail(off, n int64) bool {
	if off < f.to && off+n > f.from {
		f.failed = true
		return true
	}
	return false
}

func (f *failingFile) eio() error {
	return &fs.PathError{Op: "read", Path: f.Name(), Err: syscall.EIO}
}

func (f *failingFile) ReadAt(p []byte, off int64) (int, error) {
	if f.fail(off, int64(len(p))) {
		return 0, f.eio()
	}
	return f.File.ReadAt(p, off)
}

func (f *failingFile) Read(p []byte) (int, error) {
	off, err := f.File.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if f.fail(off, int64(len(p))) {
		return 0, f.eio()
	}
	return f.File.Read(p)
}

// failReads makes the sources opened while the test runs read through a
// failingFile over the byte range that span returns for the file, and
// reports whether a read hit it.
func failReads(t *testing.T, span func(t *testing.T, path string) (from, to int64)) *bool {
	t.Helper()
	was := newSource
	t.Cleanup(func() { newSource = was })
	hit := new(bool)
	newSource = func(ctx context.Context, f inputFile, in Input, mem memory.Allocator) (batchSource, error) {
		from, to := span(t, in.Path)
		ff := &failingFile{File: f.(*os.File), from: from, to: to}
		src, err := was(ctx, ff, in, mem)
		*hit = *hit || ff.failed
		if err != nil {
			return nil, err
		}
		return &observedSource{batchSource: src, file: ff, hit: hit}, nil
	}
	return hit
}

// observedSource notes whether a batch read hit the failing range.
type observedSource struct {
	batchSource
	file *failingFile
	hit  *bool
}

func (s *observedSource) next(want []int) (int, map[int][]arrow.Array, error) {
	n, cols, err := s.batchSource.next(want)
	*s.hit = *s.hit || s.file.failed
	return n, cols, err
}

// columnChunk returns the byte range of column leaf in row group 0 of the
// Parquet file at path.
func columnChunk(leaf int) func(t *testing.T, path string) (int64, int64) {
	return func(t *testing.T, path string) (int64, int64) {
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		cc, err := pf.MetaData().RowGroup(0).ColumnChunk(leaf)
		if err != nil {
			t.Fatal(err)
		}
		from := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 {
			from = min(from, cc.DictionaryPageOffset())
		}
		return from, from + cc.TotalCompressedSize()
	}
}

// fromEnd returns the last n bytes of a file, or from its middle on when
// n is 0.
func fromEnd(n int64) func(t *testing.T, path string) (int64, int64) {
	return func(t *testing.T, path string) (int64, int64) {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return st.Size() / 2, st.Size()
		}
		return st.Size() - n, st.Size()
	}
}

// TestReadIOErrorKeepsErrno reads Parquet and Arrow IPC files through a
// file whose reads of one part fail with EIO, as a failing disk's do,
// and checks that the error says the file cannot be read (not that it is
// corrupt), still wraps ErrBadInput, and keeps the *fs.PathError and its
// errno in its chain, so that vaejob can tell a machine fault (exit 8)
// from a damaged file (exit 3). The column cases cover both of the
// Parquet reader's paths: the direct one for flat numbers, and arrow-go's
// pqarrow column reader for a kept string column.
func TestReadIOErrorKeepsErrno(t *testing.T) {
	const n = 500
	xs := make([]float64, n)
	tags := make([]string, n)
	for i := range xs {
		xs[i] = float64(i%17) * 1.5
		tags[i] = fmt.Sprintf("row-%d", i)
	}
	cols := []col{{"x", f64s(xs)}, {"y", f64s(xs)}, {"tag", strs(tags)}}
	pqFile := writeFixture(t, "t.parquet", 0, cols...)
	arrowFile := writeArrow(t, filepath.Join(t.TempDir(), "t.arrow"), false, 100, cols...)
	arrowStream := writeArrow(t, filepath.Join(t.TempDir(), "t.arrows"), true, 100, cols...)
	tests := []struct {
		name string
		path string
		sel  Selection
		span func(t *testing.T, path string) (int64, int64)
	}{
		{"parquet footer", pqFile, Selection{Features: []string{"x"}}, fromEnd(8)},
		{"parquet numeric column (direct reader)", pqFile, Selection{Features: []string{"x"}}, columnChunk(0)},
		{"parquet string column (pqarrow reader)", pqFile, Selection{Features: []string{"x"}, Keep: []string{"tag"}}, columnChunk(2)},
		{"arrow IPC file footer", arrowFile, Selection{Features: []string{"x"}}, fromEnd(10)},
		{"arrow IPC file batches", arrowFile, Selection{Features: []string{"x"}}, fromEnd(0)},
		{"arrow IPC stream batches", arrowStream, Selection{Features: []string{"x"}}, fromEnd(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hit := failReads(t, tc.span)
			ins, err := ResolveInputs([]string{tc.path})
			if err != nil {
				t.Fatal(err)
			}
			sel := tc.sel
			sel.AllowMissing = true
			_, err = ReadInputs(context.Background(), ins, sel, ReadOptions{})
			if !*hit {
				t.Fatalf("no read touched the failing range; the case tests nothing (err %v)", err)
			}
			var pe *fs.PathError
			switch {
			case err == nil:
				t.Fatal("the read succeeded")
			case !errors.Is(err, syscall.EIO) || !errors.As(err, &pe):
				t.Errorf("the error lost the errno or the *fs.PathError: %v", err)
			case !errors.Is(err, ErrBadInput):
				t.Errorf("the error does not wrap ErrBadInput: %v", err)
			case strings.Contains(err.Error(), "corrupt"):
				t.Errorf("an I/O error is called corruption: %v", err)
			case !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), "input/output error"):
				t.Errorf("the error does not name the file and the I/O error: %v", err)
			}
		})
	}
}
