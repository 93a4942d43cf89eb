package parquet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/pierrec/lz4/v4"
)

// arrow-go reads every Parquet codec but one: the deprecated LZ4 (codec 5,
// not LZ4_RAW), which it leaves unregistered because writers disagree on
// its framing. parquet-mr (through Hadoop's Lz4Codec), today's arrow-cpp
// and arrow-rs (parquet-wasm) write each page as one or more blocks, each
// a 4-byte big-endian decompressed size, a 4-byte big-endian compressed
// size and a raw LZ4 block. Older arrow-cpp wrote one raw LZ4 block per
// page, and older arrow-rs one LZ4 frame. hadoopLZ4 reads all three,
// trying the Hadoop framing first as arrow-cpp and arrow-rs do (a page
// that is not framed so fails its size checks), and writes the Hadoop
// framing.
func init() {
	compress.RegisterCodec(compress.Codecs.Lz4, hadoopLZ4{})
	for _, c := range []compress.Compression{
		compress.Codecs.Uncompressed, compress.Codecs.Snappy, compress.Codecs.Gzip,
		compress.Codecs.Lzo, compress.Codecs.Brotli, compress.Codecs.Lz4,
		compress.Codecs.Zstd, compress.Codecs.Lz4Raw,
	} {
		if codec, err := compress.GetCodec(c); err == nil {
			compress.RegisterCodec(c, emptyValuesOK(codec))
		}
	}
}

// Spark and parquet-mr write a data page v2 whose values are all null with
// no bytes at all for its values section (the levels are never
// compressed), and arrow-go still hands those 0 bytes to the codec, which
// snappy, gzip and brotli refuse as truncated input. So every registered
// codec is wrapped: decoding empty input gives empty output, and anything
// else goes to the codec unchanged. A page that should have held values
// still fails, on its size: the page reader checks that the decoded bytes
// fill the page's uncompressed size.

// emptyValues wraps a codec so that empty input decodes to nothing.
type emptyValues struct{ compress.Codec }

// emptyValuesStreaming is emptyValues for a codec that also streams, which
// arrow-go uses for large PLAIN pages.
type emptyValuesStreaming struct {
	emptyValues
	compress.StreamingCodec
}

// emptyValuesOK wraps c, keeping its streaming interface if it has one.
func emptyValuesOK(c compress.Codec) compress.Codec {
	switch c := c.(type) {
	case emptyValues, emptyValuesStreaming:
		return c
	case compress.StreamingCodec:
		return emptyValuesStreaming{emptyValues{c.(compress.Codec)}, c}
	}
	return emptyValues{c}
}

// Decode is DecodeWithError, panicking on malformed input as the Codec
// interface asks.
func (c emptyValues) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

// Unwrap returns the wrapped codec.
func (c emptyValues) Unwrap() compress.Codec { return c.Codec }

// DecodeWithError returns dst[:0] for empty src, else what the wrapped
// codec returns.
func (c emptyValues) DecodeWithError(dst, src []byte) ([]byte, error) {
	if len(src) == 0 {
		return dst[:0], nil
	}
	return compress.Decode(c.Codec, dst, src)
}

// hadoopLZ4 is the codec of the Parquet compression LZ4. It implements
// compress.ErrorCodec, so a page that fits none of the three layouts is a
// read error, not a panic.
type hadoopLZ4 struct{}

// hadoopLZ4BlockSize is the most input one block of Encode holds: Hadoop's
// default io.compression.codec.lz4.buffersize.
const hadoopLZ4BlockSize = 256 << 10

// hadoopLZ4HeaderSize is the size of a block's two big-endian lengths.
const hadoopLZ4HeaderSize = 8

// lz4FrameMagic starts every LZ4 frame (little-endian 0x184D2204).
var lz4FrameMagic = []byte{0x04, 0x22, 0x4d, 0x18}

// maxLZ4Ratio bounds how many times larger than its compressed form LZ4
// data can be (about 255), so that a damaged length cannot make Decode
// allocate more when it is not told the size.
const maxLZ4Ratio = 256

// errNotHadoopFramed says that a page is not in the Hadoop framing.
var errNotHadoopFramed = errors.New("not Hadoop-framed")

// Encode compresses src in the Hadoop framing, in blocks of at most
// hadoopLZ4BlockSize input bytes.
func (c hadoopLZ4) Encode(dst, src []byte) []byte {
	bound := int(c.CompressBound(int64(len(src))))
	if cap(dst) < bound {
		dst = make([]byte, bound)
	}
	dst = dst[:cap(dst)]
	var lz lz4.Compressor
	n := 0
	for len(src) > 0 || n == 0 {
		chunk := src[:min(len(src), hadoopLZ4BlockSize)]
		src = src[len(chunk):]
		k, err := lz.CompressBlock(chunk, dst[n+hadoopLZ4HeaderSize:])
		if err != nil {
			// dst holds CompressBound bytes, which always suffice.
			panic(fmt.Sprintf("parquet: lz4 block compression failed: %v", err))
		}
		if k == 0 {
			// Empty or incompressible: CompressBlock leaves such input
			// to the caller; a block of literals stores it.
			k = literalBlock(chunk, dst[n+hadoopLZ4HeaderSize:])
		}
		binary.BigEndian.PutUint32(dst[n:], uint32(len(chunk)))
		binary.BigEndian.PutUint32(dst[n+4:], uint32(k))
		n += hadoopLZ4HeaderSize + k
		if len(src) == 0 {
			break
		}
	}
	return dst[:n]
}

// literalBlock writes src as one LZ4 sequence of literals (a valid block
// that any LZ4 decoder reads) and returns its length.
func literalBlock(src, dst []byte) int {
	n := 0
	l := len(src)
	if l < 15 {
		dst[n] = byte(l << 4)
		n++
	} else {
		dst[n] = 0xf0
		n++
		for l -= 15; l >= 255; l -= 255 {
			dst[n] = 255
			n++
		}
		dst[n] = byte(l)
		n++
	}
	return n + copy(dst[n:], src)
}

// EncodeLevel is Encode: an LZ4 block has no levels.
func (c hadoopLZ4) EncodeLevel(dst, src []byte, _ int) []byte { return c.Encode(dst, src) }

// CompressBound is the most bytes Encode writes for n input bytes.
func (hadoopLZ4) CompressBound(n int64) int64 {
	blocks := max(1, (n+hadoopLZ4BlockSize-1)/hadoopLZ4BlockSize)
	return n + blocks*(hadoopLZ4HeaderSize+int64(lz4.CompressBlockBound(hadoopLZ4BlockSize)-hadoopLZ4BlockSize))
}

// Decode is DecodeWithError, panicking on malformed input as the Codec
// interface asks.
func (c hadoopLZ4) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

// DecodeWithError decompresses one page: Hadoop-framed blocks, else one LZ4
// frame, else one raw LZ4 block. dst should have the page's decompressed
// size (the page reader sizes it so); it is grown when the Hadoop framing
// says more.
func (hadoopLZ4) DecodeWithError(dst, src []byte) ([]byte, error) {
	if out, err := decodeHadoopLZ4(dst, src); err == nil {
		return out, nil
	}
	if bytes.HasPrefix(src, lz4FrameMagic) {
		out, err := decodeLZ4Frame(dst, src)
		if err == nil {
			return out, nil
		}
		return nil, fmt.Errorf("LZ4 page: neither Hadoop-framed blocks nor a valid LZ4 frame (%w)", err)
	}
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return nil, fmt.Errorf("LZ4 page: neither Hadoop-framed blocks nor a raw LZ4 block (%w)", err)
	}
	return dst[:n], nil
}

// decodeHadoopLZ4 reads src as Hadoop-framed blocks that fill dst exactly
// when dst is not empty. A block is its 4-byte decompressed size, then one
// or more chunks, each a 4-byte compressed size and a raw LZ4 block, until
// the chunks fill the decompressed size: Hadoop's BlockCompressorStream
// writes one chunk per block unless a single write exceeds its buffer,
// and its BlockDecompressorStream reads chunks until the block is full. A
// block of size 0 has one chunk, which holds nothing. The blocks must use
// all of src.
func decodeHadoopLZ4(dst, src []byte) ([]byte, error) {
	if len(src) == 0 {
		return nil, errNotHadoopFramed
	}
	fixed := len(dst) > 0
	limit := len(dst)
	if !fixed {
		limit = maxLZ4Ratio * len(src)
		dst = nil
	}
	off := 0
	rest := src
	// next takes a 4-byte big-endian length off rest.
	next := func() (int, bool) {
		if len(rest) < 4 {
			return 0, false
		}
		n := int(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		return n, n >= 0
	}
	for len(rest) > 0 {
		size, ok := next()
		if !ok || size > limit-off {
			return nil, errNotHadoopFramed
		}
		end := off + size
		if !fixed {
			dst = slices.Grow(dst, size)[:end]
		}
		for first := true; first || off < end; first = false {
			comp, ok := next()
			if !ok || comp > len(rest) || (comp == 0 && size > 0) {
				return nil, errNotHadoopFramed
			}
			if comp > 0 {
				n, err := lz4.UncompressBlock(rest[:comp], dst[off:end])
				if err != nil || (n == 0 && size > 0) {
					return nil, errNotHadoopFramed
				}
				off += n
			}
			rest = rest[comp:]
		}
	}
	if fixed && off != len(dst) {
		return nil, errNotHadoopFramed
	}
	return dst[:off], nil
}

// decodeLZ4Frame reads src as one LZ4 frame into dst, checking the frame's
// checksums, and requires it to fill dst exactly when dst is not empty.
func decodeLZ4Frame(dst, src []byte) ([]byte, error) {
	r := lz4.NewReader(bytes.NewReader(src))
	if len(dst) == 0 {
		return io.ReadAll(io.LimitReader(r, int64(maxLZ4Ratio*len(src))))
	}
	n, err := io.ReadFull(r, dst)
	if err != nil {
		return nil, err
	}
	// Reading on to the frame's end checks its content checksum.
	var one [1]byte
	switch k, err := io.ReadFull(r, one[:]); {
	case k != 0:
		return nil, fmt.Errorf("the frame holds more than the page's %d bytes", len(dst))
	case err != io.EOF:
		return nil, err
	}
	return dst[:n], nil
}
