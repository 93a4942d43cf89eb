package parquet

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// hookedSource counts the batches read from a file and calls after once
// the first batch of the read has been read.
type hookedSource struct {
	batchSource
	batches *int
	after   func()
}

func (s *hookedSource) next(want []int) (int, map[int][]arrow.Array, error) {
	n, cols, err := s.batchSource.next(want)
	if err == nil {
		*s.batches++
		if *s.batches == 1 {
			s.after()
		}
	}
	return n, cols, err
}

// hookSources makes the sources opened while the test runs count the files
// opened and the batches read, and call after once the first batch has
// been read.
func hookSources(t *testing.T, opened, batches *int, after func()) {
	t.Helper()
	was := newSource
	t.Cleanup(func() { newSource = was })
	newSource = func(ctx context.Context, f inputFile, in Input, mem memory.Allocator) (batchSource, error) {
		src, err := was(ctx, f, in, mem)
		if err != nil {
			return nil, err
		}
		*opened++
		return &hookedSource{batchSource: src, batches: batches, after: after}, nil
	}
}

// TestCancelStopsAtNextBatch cancels a read from a hook that runs when its
// first row group (or record batch) has been read, and checks that no
// further row group is read and no further file opened, for every sink
// and both formats, with row groups read whole and in slices.
func TestCancelStopsAtNextBatch(t *testing.T) {
	const groups, perGroup = 8, 100
	vals := make([]float64, groups*perGroup)
	for i := range vals {
		vals[i] = float64(i)
	}
	pqFile := writeFixture(t, "many.parquet", perGroup, col{"x", f64s(vals)}, col{"y", f64s(vals)})
	arrowFile := writeArrow(t, filepath.Join(t.TempDir(), "many.arrow"), false, perGroup, col{"x", f64s(vals)}, col{"y", f64s(vals)})
	arrowStream := writeArrow(t, filepath.Join(t.TempDir(), "many.arrows"), true, perGroup, col{"x", f64s(vals)}, col{"y", f64s(vals)})
	reads := []struct {
		name string
		read func(ctx context.Context, ins []Input) error
	}{
		{"collect", func(ctx context.Context, ins []Input) error {
			_, err := ReadInputs(ctx, ins, Selection{}, ReadOptions{})
			return err
		}},
		{"sample", func(ctx context.Context, ins []Input) error {
			_, err := ReadInputs(ctx, ins, Selection{}, ReadOptions{MaxRows: 10, Rand: rand.New(rand.NewSource(1))})
			return err
		}},
		{"stream", func(ctx context.Context, ins []Input) error {
			_, err := StreamInputs(ctx, ins, Selection{}, ReadOptions{}, func(*Batch) error { return nil })
			return err
		}},
		{"filter", func(ctx context.Context, ins []Input) error {
			f, err := ParseFilter("x >= 0")
			if err != nil {
				return err
			}
			_, err = ReadInputs(ctx, ins, Selection{}, ReadOptions{Filter: f})
			return err
		}},
	}
	for _, file := range []string{pqFile, arrowFile, arrowStream} {
		for _, slices := range []bool{false, true} {
			for _, r := range reads {
				t.Run(filepath.Base(file)+"/"+r.name+map[bool]string{true: "/slices"}[slices], func(t *testing.T) {
					if slices {
						defer func(v int64) { wholeGroupBytes = v }(wholeGroupBytes)
						wholeGroupBytes = 0
					}
					ins, err := ResolveInputs([]string{file})
					if err != nil {
						t.Fatal(err)
					}
					// The same file twice: the second must never be opened.
					second := ins[0]
					second.Path = linkTo(t, file)
					ins = append(ins, second)
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					opened, batches := 0, 0
					hookSources(t, &opened, &batches, cancel)
					err = r.read(ctx, ins)
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("err = %v, want context.Canceled", err)
					}
					if errors.Is(err, ErrBadInput) {
						t.Errorf("a cancelled read reads as bad input: %v", err)
					}
					if batches != 1 || opened != 1 {
						t.Errorf("read %d batches of %d files after cancelling in the first batch, want 1 of 1", batches, opened)
					}
				})
			}
		}
	}
	// Uncancelled, the hook sees every row group of both files.
	t.Run("uncancelled", func(t *testing.T) {
		opened, batches := 0, 0
		hookSources(t, &opened, &batches, func() {})
		tb, err := ReadDataset(context.Background(), []string{pqFile, linkTo(t, pqFile)}, Selection{})
		if err != nil {
			t.Fatal(err)
		}
		if batches != 2*groups || opened != 2 || tb.Rows != 2*groups*perGroup {
			t.Errorf("read %d batches of %d files, %d rows; want %d of 2, %d", batches, opened, tb.Rows, 2*groups, 2*groups*perGroup)
		}
	})
}

// linkTo returns a new path (a hard link) for the file at path.
func linkTo(t *testing.T, path string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "link-"+filepath.Base(path))
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// TestCancelBeforeRead checks that a read or digest whose context is
// already done opens nothing.
func TestCancelBeforeRead(t *testing.T) {
	path := writeFixture(t, "a.parquet", 10, col{"x", f64s([]float64{1, 2, 3})})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opened, batches := 0, 0
	hookSources(t, &opened, &batches, func() {})
	if _, err := ReadTable(ctx, path, Selection{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadTable: err = %v, want context.Canceled", err)
	}
	if _, _, err := Digest(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("Digest: err = %v, want context.Canceled", err)
	}
	if opened != 0 {
		t.Errorf("opened %d files", opened)
	}
}

// TestDigestStopsAtNextBuffer cancels a digest while it reads (from a
// reader hook) and checks that it reads no further buffer.
func TestDigestStopsAtNextBuffer(t *testing.T) {
	path := writeBytes(t, "big.bin", make([]byte, 5*digestBuffer))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reads := 0
	was := digestRead
	t.Cleanup(func() { digestRead = was })
	digestRead = func(f *os.File, buf []byte) (int, error) {
		reads++
		if reads == 2 {
			cancel()
		}
		return was(f, buf)
	}
	if _, _, err := Digest(ctx, path); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if reads != 2 {
		t.Errorf("read %d buffers, want 2: it went on after the cancellation", reads)
	}
}

// countingAllocator counts the allocations of the Go allocator it wraps.
// The decode goroutines of a read call it at once, so it counts
// atomically, as ReadOptions.Allocator asks.
type countingAllocator struct {
	memory.Allocator
	n atomic.Int64
}

func (a *countingAllocator) Allocate(size int) []byte {
	a.n.Add(1)
	return a.Allocator.Allocate(size)
}

// TestReadOptionsAllocator checks that a read takes its Arrow buffers from
// ReadOptions.Allocator.
func TestReadOptionsAllocator(t *testing.T) {
	path := writeFixture(t, "a.parquet", 10, col{"x", f64s([]float64{1, 2, 3})}, col{"id", strs([]string{"a", "b", "c"})})
	ins, err := ResolveInputs([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	alloc := &countingAllocator{Allocator: memory.NewGoAllocator()}
	tb, err := ReadInputs(context.Background(), ins, Selection{Keep: []string{"id"}}, ReadOptions{Allocator: alloc})
	if err != nil {
		t.Fatal(err)
	}
	if alloc.n.Load() == 0 || tb.Kept.NumRows() != 3 {
		t.Errorf("%d allocations, %d kept rows; want some, and 3", alloc.n.Load(), tb.Kept.NumRows())
	}
}

// trackingAllocator remembers the memory it handed out, so that a test can
// tell whether a buffer came from it.
type trackingAllocator struct {
	memory.Allocator
	mu   sync.Mutex
	mine map[*byte]bool
}

func (a *trackingAllocator) track(b []byte) []byte {
	if cap(b) > 0 {
		a.mu.Lock()
		a.mine[&b[:1][0]] = true
		a.mu.Unlock()
	}
	return b
}

func (a *trackingAllocator) Allocate(size int) []byte { return a.track(a.Allocator.Allocate(size)) }

func (a *trackingAllocator) Reallocate(size int, b []byte) []byte {
	return a.track(a.Allocator.Reallocate(size, b))
}

// foreign returns the index of the first buffer of arr (or of its
// children) not from a, or -1.
func (a *trackingAllocator) foreign(d arrow.ArrayData) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, b := range d.Buffers() {
		if b == nil || b.Cap() == 0 {
			continue
		}
		if !a.mine[&b.Buf()[:1][0]] {
			return i
		}
	}
	for _, c := range d.Children() {
		a.mu.Unlock()
		k := a.foreign(c)
		a.mu.Lock()
		if k >= 0 {
			return k
		}
	}
	return -1
}

// TestReadOptionsAllocatorBuffers checks that the arrays a read hands on
// hold buffers from ReadOptions.Allocator: fixed-length values in
// DELTA_BYTE_ARRAY (flba.go's reader), and the kept columns of a sample.
func TestReadOptionsAllocatorBuffers(t *testing.T) {
	path := filepath.Join("testdata", "parquetwasm", "flba_delta_v2.parquet")
	ins, err := ResolveInputs([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		keep []string
		opts ReadOptions
	}{
		{"whole read", []string{"dec", "dec256", "fsb"}, ReadOptions{}},
		{"sample", []string{"dec", "dec256"}, ReadOptions{MaxRows: 100, Rand: rand.New(rand.NewSource(1))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alloc := &trackingAllocator{Allocator: memory.NewGoAllocator(), mine: map[*byte]bool{}}
			tt.opts.Allocator = alloc
			tb, err := ReadInputs(context.Background(), ins, Selection{Features: []string{"x"}, Keep: tt.keep, AllowMissing: true}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range int(tb.Kept.NumCols()) {
				c := tb.Kept.Column(i)
				for j, ch := range c.Data().Chunks() {
					if k := alloc.foreign(ch.Data()); k >= 0 {
						t.Errorf("kept column %q, chunk %d: buffer %d is not from ReadOptions.Allocator", c.Name(), j, k)
					}
				}
			}
		})
	}
}
