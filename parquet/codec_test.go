package parquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/pierrec/lz4/v4"
)

// lz4Block compresses b as one raw LZ4 block.
func lz4Block(t testing.TB, b []byte) []byte {
	t.Helper()
	dst := make([]byte, lz4.CompressBlockBound(len(b)))
	var c lz4.Compressor
	n, err := c.CompressBlock(b, dst)
	if err != nil || n == 0 {
		t.Fatalf("lz4 block of %d bytes: n=%d err=%v", len(b), n, err)
	}
	return dst[:n]
}

// hadoopFramed builds a page as parquet-mr writes it: for each part, its
// length and its compressed length, both 4-byte big-endian, then the raw
// LZ4 block.
func hadoopFramed(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	var out []byte
	for _, p := range parts {
		blk := lz4Block(t, p)
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = binary.BigEndian.AppendUint32(out, uint32(len(blk)))
		out = append(out, blk...)
	}
	return out
}

// hadoopChunked builds one Hadoop block as BlockCompressorStream writes
// a write larger than its buffer: b's length once, then for each chunk of
// at most chunk bytes its compressed length and its raw LZ4 block.
func hadoopChunked(t testing.TB, b []byte, chunk int) []byte {
	t.Helper()
	out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	for off := 0; off < len(b); off += chunk {
		blk := lz4Block(t, b[off:min(len(b), off+chunk)])
		out = binary.BigEndian.AppendUint32(out, uint32(len(blk)))
		out = append(out, blk...)
	}
	return out
}

// lz4Frame compresses b as one LZ4 frame, with block checksums or not.
func lz4Frame(t testing.TB, b []byte, blockChecksums bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if err := w.Apply(lz4.BlockChecksumOption(blockChecksums), lz4.BlockSizeOption(lz4.Block64Kb)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pageBytes is a page's worth of values that compress but not trivially.
func pageBytes(n int) []byte {
	r := rand.New(rand.NewSource(int64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Intn(16)) + byte(i%7)
	}
	return b
}

func TestHadoopLZ4Decode(t *testing.T) {
	page := pageBytes(300_000)
	frame := lz4Frame(t, page, true)
	badFrame := append([]byte(nil), frame...)
	badFrame[len(badFrame)/2] ^= 0xff
	lying := hadoopFramed(t, page)
	binary.BigEndian.PutUint32(lying, uint32(len(page)-1))
	badChecksum := lz4Frame(t, page, false)
	badChecksum[len(badChecksum)-1] ^= 0xff // the frame's content checksum
	chunked := hadoopChunked(t, page, 100_000)
	overfull := hadoopChunked(t, page, 100_000)
	binary.BigEndian.PutUint32(overfull, uint32(len(page)-50_000))
	tests := []struct {
		name string
		src  []byte
		ok   bool
	}{
		{"one Hadoop block", hadoopFramed(t, page), true},
		{"three Hadoop blocks", hadoopFramed(t, page[:1000], page[1000:200_000], page[200_000:]), true},
		{"raw LZ4 block (older arrow-cpp)", lz4Block(t, page), true},
		{"LZ4 frame with block checksums (older arrow-rs)", frame, true},
		{"LZ4 frame without block checksums", lz4Frame(t, page, false), true},
		{"Hadoop block cut short", hadoopFramed(t, page)[:5000], false},
		{"Hadoop header lying about the size", lying, false},
		{"LZ4 frame with a damaged block", badFrame, false},
		{"Hadoop block in several chunks", chunked, true},
		{"Hadoop blocks in several chunks, then one", append(hadoopChunked(t, page[:250_000], 60_000), hadoopFramed(t, page[250_000:])...), true},
		{"Hadoop block whose chunks overfill it", overfull, false},
		{"LZ4 frame with a wrong content checksum", badChecksum, false},
		{"noise", pageBytes(999), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, len(page))
			got, err := hadoopLZ4{}.DecodeWithError(dst, tt.src)
			if !tt.ok {
				if err == nil && bytes.Equal(got, page) {
					t.Fatal("decoded a damaged page without an error")
				}
				if err == nil {
					t.Fatalf("no error, %d bytes", len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, page) {
				t.Fatalf("decoded %d bytes that differ from the %d written", len(got), len(page))
			}
		})
	}
}

// TestHadoopLZ4Encode checks that Encode writes the Hadoop framing: blocks
// of at most 256 KiB, each with its two big-endian lengths, read here
// without hadoopLZ4's decoder.
func TestHadoopLZ4Encode(t *testing.T) {
	random := make([]byte, 600_000)
	rand.New(rand.NewSource(1)).Read(random)
	tests := []struct {
		name   string
		src    []byte
		blocks int
	}{
		{"empty", nil, 1},
		{"one byte", []byte{7}, 1},
		{"one block", pageBytes(100_000), 1},
		{"exactly one block", pageBytes(256 << 10), 1},
		{"three blocks", pageBytes(600_000), 3},
		{"incompressible", random, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := hadoopLZ4{}
			enc := c.Encode(nil, tt.src)
			if int64(len(enc)) > c.CompressBound(int64(len(tt.src))) {
				t.Errorf("%d bytes, over CompressBound %d", len(enc), c.CompressBound(int64(len(tt.src))))
			}
			var got []byte
			blocks := 0
			for rest := enc; len(rest) > 0; blocks++ {
				if len(rest) < 8 {
					t.Fatalf("%d bytes left after %d blocks", len(rest), blocks)
				}
				size, comp := binary.BigEndian.Uint32(rest), binary.BigEndian.Uint32(rest[4:])
				if size > 256<<10 {
					t.Errorf("block %d holds %d bytes", blocks, size)
				}
				out := make([]byte, size)
				n, err := lz4.UncompressBlock(rest[8:8+comp], out)
				if err != nil || n != int(size) {
					t.Fatalf("block %d: %d of %d bytes, %v", blocks, n, size, err)
				}
				got = append(got, out...)
				rest = rest[8+comp:]
			}
			if blocks != tt.blocks {
				t.Errorf("%d blocks, want %d", blocks, tt.blocks)
			}
			if !bytes.Equal(got, tt.src) {
				t.Error("the blocks do not hold the input")
			}
			dec, err := c.DecodeWithError(make([]byte, len(tt.src)), enc)
			if err != nil || !bytes.Equal(dec, tt.src) {
				t.Errorf("round trip: %v", err)
			}
		})
	}
}

// layoutLZ4 writes LZ4 pages in one of the layouts other writers use, so
// that arrow-go's writer makes files as they do; it reads with hadoopLZ4.
type layoutLZ4 struct {
	hadoopLZ4
	encode func(src []byte) []byte
}

func (c layoutLZ4) Encode(_, src []byte) []byte { return c.encode(src) }

func (c layoutLZ4) EncodeLevel(dst, src []byte, _ int) []byte { return c.Encode(dst, src) }

func (layoutLZ4) CompressBound(n int64) int64 { return 2*n + 1024 }

// TestReadHadoopLZ4Layouts writes Parquet files whose LZ4 pages are laid
// out as parquet-mr (Hadoop blocks, several per page here), older
// arrow-cpp (a raw block) and older arrow-rs (a frame) write them, and
// reads them through both of vaejob's column readers.
func TestReadHadoopLZ4Layouts(t *testing.T) {
	layouts := []struct {
		name   string
		encode func(t testing.TB, src []byte) []byte
	}{
		{"Hadoop, three blocks a page", func(t testing.TB, src []byte) []byte {
			a, b := len(src)/3, 2*len(src)/3
			return hadoopFramed(t, src[:a], src[a:b], src[b:])
		}},
		{"raw block", lz4Block},
		{"frame", func(t testing.TB, src []byte) []byte { return lz4Frame(t, src, true) }},
	}
	cols := formatColumns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	registered, err := compress.GetCodec(compress.Codecs.Lz4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { compress.RegisterCodec(compress.Codecs.Lz4, registered) })
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lz4.parquet")
			compress.RegisterCodec(compress.Codecs.Lz4, layoutLZ4{encode: func(src []byte) []byte { return l.encode(t, src) }})
			writeFormatFile(t, path, cols, false, pq.WithCompression(compress.Codecs.Lz4), pq.WithDictionaryDefault(false))
			compress.RegisterCodec(compress.Codecs.Lz4, registered)
			for _, whole := range []int64{64 << 20, 0} {
				saved := wholeGroupBytes
				wholeGroupBytes = whole
				tbl, err := ReadTable(context.Background(), path, Selection{Features: formatFeatures, Keep: names, AllowMissing: true})
				wholeGroupBytes = saved
				if err != nil {
					t.Fatalf("wholeGroupBytes %d: %v", whole, err)
				}
				checkFormatTable(t, tbl, cols)
			}
		})
	}
	// A page that is none of the layouts is corrupt.
	t.Run("damaged", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lz4.parquet")
		compress.RegisterCodec(compress.Codecs.Lz4, layoutLZ4{encode: func(src []byte) []byte {
			b := hadoopFramed(t, src)
			return b[:len(b)-len(b)/4]
		}})
		writeFormatFile(t, path, []col{{"x", f64s(make([]float64, 3000))}}, false, pq.WithCompression(compress.Codecs.Lz4))
		compress.RegisterCodec(compress.Codecs.Lz4, registered)
		_, err := ReadTable(context.Background(), path, Selection{})
		if err == nil || !strings.Contains(err.Error(), "corrupt") || strings.Contains(err.Error(), "unsupported") {
			t.Fatalf("err = %v, want corrupt", err)
		}
	})
}

// FuzzHadoopLZ4Decode feeds the decoder arbitrary pages: it must return
// an error or bytes, never panic, and never more than the page's size.
func FuzzHadoopLZ4Decode(f *testing.F) {
	page := pageBytes(5000)
	f.Add(hadoopFramed(f, page[:100], page[100:]), 5000)
	f.Add(lz4Block(f, page), 5000)
	f.Add(lz4Frame(f, page, true), 5000)
	f.Add([]byte{0, 0, 0, 5, 0, 0, 0, 1, 0x50}, 5)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0}, 0)
	f.Fuzz(func(t *testing.T, src []byte, size int) {
		if size < 0 || size > 1<<20 {
			return
		}
		out, err := hadoopLZ4{}.DecodeWithError(make([]byte, size), src)
		if err == nil && size > 0 && len(out) > size {
			t.Fatalf("%d bytes decoded into a page of %d", len(out), size)
		}
		if err == nil && size == 0 && len(out) > maxLZ4Ratio*len(src) {
			t.Fatalf("%d bytes from %d", len(out), len(src))
		}
	})
}

// TestEmptyValuesCodecs checks the wrapper init puts around every codec:
// empty input decodes to nothing (the values of an all-null data page v2
// as Spark writes it), other input decodes as before, and a codec that
// streams still does.
func TestEmptyValuesCodecs(t *testing.T) {
	page := pageBytes(70_000)
	for _, c := range []compress.Compression{
		compress.Codecs.Uncompressed, compress.Codecs.Snappy, compress.Codecs.Gzip, compress.Codecs.Brotli,
		compress.Codecs.Lz4, compress.Codecs.Zstd, compress.Codecs.Lz4Raw,
	} {
		t.Run(c.String(), func(t *testing.T) {
			codec, err := compress.GetCodec(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, dst := range [][]byte{nil, {}, make([]byte, 0, 10)} {
				out, err := compress.Decode(codec, dst, []byte{})
				if err != nil || len(out) != 0 {
					t.Fatalf("empty input: %d bytes, err = %v", len(out), err)
				}
				if out := codec.Decode(dst, nil); len(out) != 0 {
					t.Fatalf("Decode of nil: %d bytes", len(out))
				}
			}
			enc := codec.Encode(nil, page)
			out, err := compress.Decode(codec, make([]byte, len(page)), enc)
			if err != nil || !bytes.Equal(out, page) {
				t.Fatalf("round trip: err = %v, equal = %v", err, bytes.Equal(out, page))
			}
			if c != compress.Codecs.Uncompressed {
				if _, err := compress.Decode(codec, make([]byte, len(page)), enc[:len(enc)/2]); err == nil {
					t.Error("half a page decoded without an error")
				}
			}
			w, ok := codec.(interface{ Unwrap() compress.Codec })
			if !ok {
				t.Fatalf("the registered codec %T is not wrapped", codec)
			}
			if _, streams := w.Unwrap().(compress.StreamingCodec); streams {
				if _, ok := codec.(compress.StreamingCodec); !ok {
					t.Error("the wrapper hides the codec's streaming interface")
				}
			}
		})
	}
}

// emptyEncoding is a codec that writes empty input as no bytes at all, as
// parquet-mr does for the values of an all-null data page v2, and
// otherwise compresses with the codec it wraps.
type emptyEncoding struct{ compress.Codec }

func (c emptyEncoding) Encode(dst, src []byte) []byte {
	if len(src) == 0 {
		return dst[:0]
	}
	return c.Codec.Encode(dst, src)
}

func (c emptyEncoding) EncodeLevel(dst, src []byte, _ int) []byte { return c.Encode(dst, src) }

// TestReadEmptyValuesPages reads data pages v2 with a values section of 0
// bytes (a column null all day, as Spark writes it): its rows are missing,
// not a corrupt file.
func TestReadEmptyValuesPages(t *testing.T) {
	const rows = 500
	x := make([]float64, rows)
	y := make([]float64, rows)
	var all []int
	for i := range rows {
		y[i] = float64(i)
		all = append(all, i)
	}
	for _, c := range []compress.Compression{compress.Codecs.Snappy, compress.Codecs.Gzip, compress.Codecs.Brotli, compress.Codecs.Zstd, compress.Codecs.Lz4, compress.Codecs.Lz4Raw} {
		t.Run(c.String(), func(t *testing.T) {
			registered, err := compress.GetCodec(c)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "offline.parquet")
			compress.RegisterCodec(c, emptyEncoding{registered})
			writeFormatFile(t, path, []col{{"x", f64s(x, all...)}, {"y", f64s(y)}}, false,
				pq.WithCompression(c), pq.WithDataPageVersion(pq.DataPageV2), pq.WithDictionaryDefault(false))
			compress.RegisterCodec(c, registered)
			for _, whole := range []int64{64 << 20, 0} {
				saved := wholeGroupBytes
				wholeGroupBytes = whole
				tb, err := ReadTable(context.Background(), path, Selection{Features: []string{"x", "y"}, AllowMissing: true})
				wholeGroupBytes = saved
				if err != nil {
					t.Fatalf("wholeGroupBytes %d: %v", whole, err)
				}
				if tb.Rows != rows {
					t.Fatalf("%d rows, want %d", tb.Rows, rows)
				}
				for i := range rows {
					if !math.IsNaN(float64(tb.Data[i*2])) || tb.Data[i*2+1] != float32(i) {
						t.Fatalf("row %d = %v, want NaN, %d", i, tb.Data[i*2:i*2+2], i)
					}
				}
			}
		})
	}
}
