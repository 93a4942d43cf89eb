package parquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// The fuzz targets below feed the package's real reading path arbitrary
// files: ResolveInputs (which sniffs the format and checks the Parquet
// tail), FooterDigest, and a streamed read that parses the footer or the
// IPC schema, plans the columns and decodes the first batches. Each must
// return a result or an error wrapping ErrBadInput: no panic, no hang, and
// no allocation beyond fuzzAllocLimit, whatever the footer, the page
// headers or the IPC messages claim.

// fuzzAllocLimit bounds what one fuzzed read may allocate, in one Arrow
// buffer and in all (Go heap included). The seeds, files of a few KiB,
// need far less; a read that asks for more trusted a size or count from
// the file that the file's own size cannot back.
const fuzzAllocLimit = 256 << 20

// fuzzRowLimit is how many rows a fuzzed read decodes before it stops:
// a footer may rightly claim billions of rows that run-length encoding
// packs into a few bytes, and decoding them all is slow, not wrong.
const fuzzRowLimit = 4096

// errFuzzStop stops a fuzzed read after fuzzRowLimit rows.
var errFuzzStop = errors.New("enough rows")

// heapAllocs returns the bytes allocated on the Go heap so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// fuzzRead writes data to path and reads it as the package reads any
// input, failing t on a panic (the test's own recovery would not catch
// one on a decode goroutine: it crashes the process, which the fuzzer
// reports), on an error that does not wrap ErrBadInput, and on an
// allocation beyond fuzzAllocLimit (one so large that the system refuses
// it kills the process, which the fuzzer reports too).
func fuzzRead(t *testing.T, path string, data []byte) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := heapAllocs()
	alloc := newMaxAllocator()
	check := func(what string, err error) {
		t.Helper()
		if n := alloc.max.Load(); n > fuzzAllocLimit {
			t.Fatalf("%s: asked the allocator for %d bytes for a file of %d (err = %v)", what, n, len(data), err)
		}
		if n := heapAllocs() - before; n > fuzzAllocLimit {
			t.Fatalf("%s: allocated %d bytes for a file of %d (err = %v)", what, n, len(data), err)
		}
		if err != nil && !errors.Is(err, ErrBadInput) && !errors.Is(err, errFuzzStop) {
			t.Fatalf("%s: the error does not wrap ErrBadInput: %v", what, err)
		}
	}
	ins, err := ResolveInputs([]string{path})
	check("ResolveInputs", err)
	if err != nil {
		return
	}
	_, _, err = FooterDigest(ins[0])
	check("FooterDigest", err)
	var dst []float32
	rows := 0
	each := func(b *Batch) error {
		var err error
		if dst, err = b.Features(dst); err != nil {
			return err
		}
		if rows += b.Rows; rows >= fuzzRowLimit {
			return errFuzzStop
		}
		return nil
	}
	opts := ReadOptions{Allocator: alloc}
	tb, err := StreamInputs(context.Background(), ins, Selection{AllowMissing: true}, opts, each)
	check("StreamInputs", err)
	if err != nil || len(tb.Skipped) == 0 {
		return
	}
	// Read the other columns too, as kept columns, converted as the score
	// output converts them.
	var keep []string
	for _, s := range tb.Skipped {
		keep = append(keep, s.Name)
	}
	rows = 0
	each = func(b *Batch) error {
		for _, a := range b.Kept {
			if f := formatter(a); f != nil {
				for i := range min(a.Len(), 16) {
					_ = f(i)
				}
			}
		}
		if rows += b.Rows; rows >= fuzzRowLimit {
			return errFuzzStop
		}
		return nil
	}
	_, err = StreamInputs(context.Background(), ins, Selection{AllowMissing: true, Keep: keep}, opts, each)
	if errors.Is(err, ErrUsage) {
		return // two columns of the same name
	}
	check("StreamInputs, keeping the non-numeric columns", err)
}

// fuzzTail returns cuts and corruptions of a seed file's end and footer
// length, the places a truncated download or a hostile writer would hit.
func fuzzTail(b []byte) [][]byte {
	out := [][]byte{b[:len(b)/2], b[:len(b)-1], b[:len(b)-9]}
	for _, footer := range []uint32{0, uint32(len(b)), 1 << 31, 0xffffffff} {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint32(c[len(c)-8:], footer)
		out = append(out, c)
	}
	return out
}

// parquetSeeds returns small Parquet files of the column types, encodings
// and page versions the reader handles.
func parquetSeeds(f testing.TB) [][]byte {
	dir := f.TempDir()
	write := func(name string, cols []col, props ...pq.WriterProperty) []byte {
		path := filepath.Join(dir, name)
		writeFormatFile(f, path, cols, false, props...)
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	mixed := []col{
		{"x", f64s([]float64{1.5, -2, 3, 4}, 2)},
		{"n", i32s([]int32{7, 8, 9, 10})},
		{"id", strs([]string{"a", "b", "a", "c"}, 1)},
		{"ok", bools([]bool{true, false, true, true})},
	}
	seeds := [][]byte{
		write("mixed.parquet", mixed),
		write("v2.parquet", mixed, pq.WithDataPageVersion(pq.DataPageV2), pq.WithCompression(compress.Codecs.Snappy)),
		write("plain.parquet", []col{{"k", i64s([]int64{1, 2, 3})}, {"y", f32s([]float32{1, 2, 3})}},
			pq.WithDictionaryDefault(false), pq.WithStats(false)),
	}
	for _, name := range []string{"flba_delta_v1.parquet", "hadoop_lz4.parquet"} {
		b, err := os.ReadFile(filepath.Join("testdata", "parquetwasm", name))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzParquetFooter reads arbitrary bytes as a Parquet file: its footer,
// schema, row groups and first pages.
func FuzzParquetFooter(f *testing.F) {
	capMinimization(f, "500x")
	for i, s := range parquetSeeds(f) {
		f.Add(s)
		if i < 3 {
			for _, c := range fuzzTail(s) {
				f.Add(c)
			}
		}
	}
	f.Add([]byte("PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	path := filepath.Join(f.TempDir(), "in.parquet")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, path, data) })
}

// ipcSeeds returns small Arrow IPC files and streams, plain and
// compressed.
func ipcSeeds(f testing.TB) [][]byte {
	cols := []col{
		{"x", f64s([]float64{1.5, -2, 3}, 1)},
		{"k", i64s([]int64{1, 2, 3})},
		{"id", strs([]string{"a", "b", "c"}, 2)},
	}
	var seeds [][]byte
	for _, stream := range []bool{false, true} {
		for _, opts := range [][]ipc.Option{nil, {ipc.WithLZ4()}, {ipc.WithZstd()}} {
			var b bytes.Buffer
			writeIPC(f, &b, stream, cols, opts...)
			seeds = append(seeds, b.Bytes())
		}
	}
	return seeds
}

// FuzzArrowIPCHeader reads arbitrary bytes as an Arrow IPC file or stream:
// its schema message, footer and record batches.
func FuzzArrowIPCHeader(f *testing.F) {
	capMinimization(f, "500x")
	for _, s := range ipcSeeds(f) {
		f.Add(s)
		for _, c := range fuzzTail(s) {
			f.Add(c)
		}
	}
	f.Add([]byte("ARROW1\x00\x00"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0})
	path := filepath.Join(f.TempDir(), "in.arrow")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, path, data) })
}

// capMinimization sets -test.fuzzminimizetime to limit unless the command
// line sets it. Go's minimizer tries deleting every range of bytes of each
// new interesting input; with its default limit of 60 s and a read taking
// about a millisecond, each new input of a few KiB stops the search for a
// minute, and a 60 s run appears to hang at 0 executions per second.
// (onnx's FuzzDecode has the same helper: test code cannot be shared
// between packages.)
func capMinimization(f *testing.F, limit string) {
	const name = "test.fuzzminimizetime"
	set := false
	flag.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	if fl := flag.Lookup(name); fl != nil && !set {
		if err := fl.Value.Set(limit); err != nil {
			f.Fatal(err)
		}
	}
}

// maxAllocator records the largest buffer asked of the Go allocator it
// wraps.
type maxAllocator struct {
	checkedAllocator
	max atomic.Int64
}

func newMaxAllocator() *maxAllocator {
	a := &maxAllocator{}
	a.checkedAllocator = checkedAllocator{Allocator: memory.NewGoAllocator(), check: a.note}
	return a
}

func (a *maxAllocator) note(size int) {
	for {
		m := a.max.Load()
		if int64(size) <= m || a.max.CompareAndSwap(m, int64(size)) {
			return
		}
	}
}

// corpusInput reads the input of a file of Go's fuzzing corpus.
func corpusInput(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	lit, ok := strings.CutPrefix(lines[len(lines)-1], "[]byte(")
	if !ok {
		t.Fatalf("%s: not a []byte corpus entry", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

// hostileBodyStream returns a small Arrow IPC stream whose record batch
// declares a body of body bytes.
func hostileBodyStream(t *testing.T, body int64) []byte {
	var buf bytes.Buffer
	writeIPC(t, &buf, true, []col{{"x", f64s([]float64{1, 2, 3})}, {"y", f64s([]float64{4, 5, 6})}})
	b := buf.Bytes()
	// The schema message, then the record batch's: 0xffffffff, the
	// metadata's length, the metadata, the body.
	off := 8 + int(binary.LittleEndian.Uint32(b[4:]))
	metaLen := int(binary.LittleEndian.Uint32(b[off+4:]))
	meta := b[off+8 : off+8+metaLen]
	// The body ends where the end-of-stream marker (8 bytes) begins.
	var want [8]byte
	binary.LittleEndian.PutUint64(want[:], uint64(len(b)-8-(off+8+metaLen)))
	if bytes.Count(meta, want[:]) != 1 {
		t.Fatalf("cannot find the body length %x in the batch's metadata", want)
	}
	binary.LittleEndian.PutUint64(meta[bytes.Index(meta, want[:]):], uint64(body))
	return b
}

// hostileFieldCount returns a small Arrow IPC file whose schema, in its
// footer and in its first message, claims 2³¹-1 fields.
func hostileFieldCount(t *testing.T) []byte {
	var buf bytes.Buffer
	writeIPC(t, &buf, false, []col{{"x", f64s([]float64{1, 2, 3})}})
	b := buf.Bytes()
	patch := func(fb []byte, schema func(fbTable) (fbTable, bool, error)) {
		root, err := fbRoot(fb)
		if err != nil {
			t.Fatal(err)
		}
		s, ok, err := schema(root)
		if !ok || err != nil {
			t.Fatalf("no schema: %v", err)
		}
		p, err := s.ref(schemaFields)
		if p < 0 || err != nil {
			t.Fatalf("no fields: %v", err)
		}
		binary.LittleEndian.PutUint32(fb[p:], 1<<31-1)
	}
	// "ARROW1", padding, 0xffffffff, the schema message's length.
	patch(b[16:16+binary.LittleEndian.Uint32(b[12:])], func(m fbTable) (fbTable, bool, error) { return m.sub(messageHeader) })
	footer := int(binary.LittleEndian.Uint32(b[len(b)-10:]))
	patch(b[len(b)-10-footer:len(b)-10], func(f fbTable) (fbTable, bool, error) { return f.sub(footerSchema) })
	return b
}

// TestArrowDeclaredSizes checks that sizes an Arrow IPC file declares
// cannot make a read allocate more than the file can back: the body of a
// message, and the uncompressed size of a buffer (found by
// FuzzArrowIPCHeader: 16 GiB for a file of 1 KiB).
func TestArrowDeclaredSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"stream body of 200 MiB", hostileBodyStream(t, 200<<20), "claims a body of 209715200 bytes"},
		{"stream schema of billions of fields", corpusInput(t, "testdata/fuzz/FuzzArrowIPCHeader/be32816aef9683d7"), "metadata is corrupt"},
		{"file schema of billions of fields", hostileFieldCount(t), "the Arrow IPC file is corrupt: its schema"},
		{"compressed buffer of 16 GiB", corpusInput(t, "testdata/fuzz/FuzzArrowIPCHeader/12721a938a1f9349"), "declares a buffer of 17179869184 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeBytes(t, "in.arrow", tc.data)
			ins, err := ResolveInputs([]string{path})
			if err != nil {
				t.Fatal(err)
			}
			alloc := newMaxAllocator()
			_, err = ReadInputs(context.Background(), ins, Selection{AllowMissing: true}, ReadOptions{Allocator: alloc})
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrBadInput and %q", err, tc.want)
			}
			if m := alloc.max.Load(); m > 1<<20 {
				t.Errorf("a buffer of %d bytes was allocated for a file of %d", m, len(tc.data))
			}
		})
	}
}
