package parquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/pierrec/lz4/v4"
)

var updateFixtures = flag.Bool("update", false, "rewrite the generated fixtures in testdata/")

// ipcColumns are the columns of the Arrow IPC fixtures, in record batches
// of ipcBatchRows rows.
func ipcColumns() []col {
	n := 3000
	x := make([]float64, n)
	y := make([]float32, n)
	k := make([]int64, n)
	var nulls []int
	for i := range n {
		x[i] = math.Cos(float64(i)) * 100
		y[i] = float32(i%50) / 3
		k[i] = int64(i) * 977
		if i%13 == 4 {
			nulls = append(nulls, i)
		}
	}
	return []col{{"x", f64s(x)}, {"y", f32s(y, nulls...)}, {"k", i64s(k)}}
}

const ipcBatchRows = 1000

// writeIPC writes cols as an Arrow IPC file (or stream) with the given
// writer options, in batches of ipcBatchRows rows.
func writeIPC(t testing.TB, w io.Writer, stream bool, cols []col, opts ...ipc.Option) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType(), Nullable: true}
		arrs[i] = c.arr
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecord(schema, arrs, int64(cols[0].arr.Len()))
	defer rec.Release()
	opts = append(opts, ipc.WithSchema(schema))
	var rw interface {
		Write(arrow.Record) error
		Close() error
	}
	if stream {
		rw = ipc.NewWriter(w, opts...)
	} else {
		fw, err := ipc.NewFileWriter(w, opts...)
		if err != nil {
			t.Fatal(err)
		}
		rw = fw
	}
	for off := int64(0); off < rec.NumRows(); off += ipcBatchRows {
		s := rec.NewSlice(off, min(off+ipcBatchRows, rec.NumRows()))
		if err := rw.Write(s); err != nil {
			t.Fatal(err)
		}
		s.Release()
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkIPCTable compares the features read from an IPC fixture with
// ipcColumns.
func checkIPCTable(t *testing.T, tbl *Table) {
	t.Helper()
	cols := ipcColumns()
	if tbl.Rows != cols[0].arr.Len() || len(tbl.Names) != len(cols) {
		t.Fatalf("%d rows × %v, want %d × 3", tbl.Rows, tbl.Names, cols[0].arr.Len())
	}
	bad := 0
	for j, c := range cols {
		for i := range tbl.Rows {
			got, want := tbl.Data[i*len(cols)+j], featureValue(c.arr, i)
			if got != want && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
				if bad++; bad <= 3 {
					t.Errorf("%s, row %d = %v, want %v", c.name, i, got, want)
				}
			}
		}
	}
}

// TestReadArrowIPCCompressed reads Arrow IPC files and streams whose
// bodies arrow-go wrote uncompressed, in LZ4 frames (without block
// checksums, as arrow-go, arrow-cpp and apache-arrow write them) and in
// zstd.
func TestReadArrowIPCCompressed(t *testing.T) {
	codecs := []struct {
		name string
		opts []ipc.Option
	}{
		{"uncompressed", nil},
		{"lz4", []ipc.Option{ipc.WithLZ4()}},
		{"zstd", []ipc.Option{ipc.WithZstd()}},
	}
	for _, c := range codecs {
		for _, stream := range []bool{false, true} {
			name := c.name + "/file"
			if stream {
				name = c.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				writeIPC(t, &buf, stream, ipcColumns(), c.opts...)
				path := writeBytes(t, "in.arrow", buf.Bytes())
				tbl, err := ReadTable(context.Background(), path, Selection{AllowMissing: true})
				if err != nil {
					t.Fatal(err)
				}
				checkIPCTable(t, tbl)
			})
		}
	}
}

// lz4ChecksumFixture is an Arrow IPC file whose LZ4 frames carry block
// checksums, as Python Polars writes them; no writer on this machine
// makes such frames around an IPC body (arrow-go, arrow-cpp and
// apache-arrow leave the block checksums off). It was made by
// `go test ./parquet -run TestReadArrowIPCLZ4BlockChecksums -update`:
// arrow-go wrote ipcColumns as an IPC file with LZ4 bodies, and
// rechecksumLZ4 re-compressed each body buffer with pierrec/lz4's writer
// with BlockChecksumOption(true) and patched the buffer offsets and body
// lengths in the messages and the footer.
const lz4ChecksumFixture = "testdata/ipc_lz4_block_checksums.arrow"

func TestReadArrowIPCLZ4BlockChecksums(t *testing.T) {
	if *updateFixtures {
		var buf bytes.Buffer
		writeIPC(t, &buf, false, ipcColumns(), ipc.WithLZ4())
		out := rechecksumLZ4(t, buf.Bytes())
		if err := os.MkdirAll(filepath.Dir(lz4ChecksumFixture), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lz4ChecksumFixture, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(lz4ChecksumFixture)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture must hold what it claims: LZ4 frames whose descriptor
	// sets the block checksum flag (FLG bit 4).
	frames, checksummed := 0, 0
	for rest := b; ; {
		i := bytes.Index(rest, lz4FrameMagic)
		if i < 0 || i+5 > len(rest) {
			break
		}
		frames++
		if rest[i+4]&0x10 != 0 {
			checksummed++
		}
		rest = rest[i+4:]
	}
	if frames == 0 || checksummed != frames {
		t.Fatalf("%d of %d LZ4 frames carry block checksums, want all of them", checksummed, frames)
	}
	tbl, err := ReadTable(context.Background(), lz4ChecksumFixture, Selection{AllowMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	checkIPCTable(t, tbl)
}

// rechecksumLZ4 rewrites an Arrow IPC file with LZ4 bodies so that every
// compressed buffer is an LZ4 frame with block checksums (and a content
// checksum), fixing the buffer offsets and lengths of each record batch,
// its message's body length and the footer's blocks.
func rechecksumLZ4(t *testing.T, in []byte) []byte {
	t.Helper()
	le := binary.LittleEndian
	root := func(b []byte) fbTable {
		tb, err := fbRoot(b)
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	must := func(p int64, err error) int {
		if err != nil {
			t.Fatal(err)
		}
		return int(p)
	}
	out := append([]byte(nil), in[:8]...) // "ARROW1" and padding
	moved := map[int64][2]int64{}         // old block offset -> new offset, new body length
	pos := 8
	for {
		if le.Uint32(in[pos:]) != 0xffffffff {
			t.Fatalf("no continuation marker at %d", pos)
		}
		metaLen := int(le.Uint32(in[pos+4:]))
		if metaLen == 0 {
			out = append(out, in[pos:pos+8]...)
			pos += 8
			break
		}
		meta := append([]byte(nil), in[pos+8:pos+8+metaLen]...)
		msg := root(meta)
		bodyLen := 0
		if p := must(msg.field(messageBodyLen, 8)); p >= 0 {
			bodyLen = int(le.Uint64(meta[p:]))
		}
		body := in[pos+8+metaLen : pos+8+metaLen+bodyLen]
		newOff := int64(len(out))
		if p := must(msg.field(messageHeaderType, 1)); p >= 0 && meta[p] == headerRecordBatch {
			batch, _, err := msg.sub(messageHeader)
			if err != nil {
				t.Fatal(err)
			}
			start, n, err := batch.vector(batchBuffers, 16)
			if err != nil {
				t.Fatal(err)
			}
			var nb []byte
			for k := range n {
				at := start + 16*k
				off, length := le.Uint64(meta[at:]), le.Uint64(meta[at+8:])
				buf := body[off : off+length]
				if length >= 8 && int64(le.Uint64(buf)) != -1 {
					plain, err := io.ReadAll(lz4.NewReader(bytes.NewReader(buf[8:])))
					if err != nil || len(plain) != int(le.Uint64(buf)) {
						t.Fatalf("buffer %d: %d bytes, %v", k, len(plain), err)
					}
					var fr bytes.Buffer
					w := lz4.NewWriter(&fr)
					if err := w.Apply(lz4.BlockChecksumOption(true), lz4.ChecksumOption(true)); err != nil {
						t.Fatal(err)
					}
					if _, err := w.Write(plain); err != nil {
						t.Fatal(err)
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					buf = append(le.AppendUint64(nil, uint64(len(plain))), fr.Bytes()...)
				}
				le.PutUint64(meta[at:], uint64(len(nb)))
				le.PutUint64(meta[at+8:], uint64(len(buf)))
				nb = append(nb, buf...)
				for len(nb)%8 != 0 {
					nb = append(nb, 0)
				}
			}
			body = nb
			le.PutUint64(meta[must(msg.field(messageBodyLen, 8)):], uint64(len(body)))
			moved[int64(pos)] = [2]int64{newOff, int64(len(body))}
		}
		out = append(out, in[pos:pos+8]...)
		out = append(out, meta...)
		out = append(out, body...)
		pos += 8 + metaLen + bodyLen
	}
	footerLen := int(le.Uint32(in[len(in)-10:]))
	footer := append([]byte(nil), in[len(in)-10-footerLen:len(in)-10]...)
	if pos != len(in)-10-footerLen {
		t.Fatalf("the stream ends at %d, the footer starts at %d", pos, len(in)-10-footerLen)
	}
	start, n, err := root(footer).vector(footerRecordBatches, blockSize)
	if err != nil {
		t.Fatal(err)
	}
	for k := range n {
		at := start + 24*k
		m, ok := moved[int64(le.Uint64(footer[at:]))]
		if !ok {
			t.Fatalf("footer block %d points at no record batch", k)
		}
		le.PutUint64(footer[at:], uint64(m[0]))
		le.PutUint64(footer[at+16:], uint64(m[1]))
	}
	out = append(out, footer...)
	out = le.AppendUint32(out, uint32(footerLen))
	return append(out, in[len(in)-6:]...)
}

// TestReadArrowIPCLongNames reads Arrow IPC files and streams whose schema
// is mostly the bytes of long column names, as Polars writes the 32
// columns of testdata/breast_cancer_wisconsin.parquet: the metadata check
// (ipccheck.go) once counted a name's bytes against a budget of one
// element per 4 bytes and refused such a schema as corrupt.
func TestReadArrowIPCLongNames(t *testing.T) {
	var cols []col
	for i := range 32 {
		name := fmt.Sprintf("worst_fractal_dimension_of_the_tumour_%02d", i)
		cols = append(cols, col{name, f64s([]float64{float64(i), float64(i + 1)})})
	}
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			var buf bytes.Buffer
			writeIPC(t, &buf, stream, cols)
			tbl, err := ReadTable(context.Background(), writeBytes(t, "in.arrow", buf.Bytes()), Selection{})
			if err != nil {
				t.Fatal(err)
			}
			if tbl.Rows != 2 || len(tbl.Names) != len(cols) {
				t.Fatalf("%d rows × %d columns, want 2 × %d", tbl.Rows, len(tbl.Names), len(cols))
			}
		})
	}
}
