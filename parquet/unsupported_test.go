package parquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// walkCompact walks the Thrift compact-protocol struct at b[off:] and
// calls visit with the field-id path and the offset of every i32 field
// value (a zigzag varint); it returns the offset after the struct. It
// knows just enough of the protocol for Parquet page headers.
func walkCompact(t *testing.T, b []byte, off int, path []int16, visit func(path []int16, off int)) int {
	t.Helper()
	uvarint := func() uint64 {
		v, n := binary.Uvarint(b[off:])
		if n <= 0 {
			t.Fatalf("bad varint at %d", off)
		}
		off += n
		return v
	}
	var skip func(typ byte)
	skip = func(typ byte) {
		switch typ {
		case 1, 2: // booleans hold their value in the type
		case 3:
			off++
		case 4, 5, 6:
			uvarint()
		case 7:
			off += 8
		case 8:
			n := uvarint()
			off += int(n)
		case 9, 10:
			h := b[off]
			off++
			n, et := int(h>>4), h&0x0f
			if n == 15 {
				n = int(uvarint())
			}
			for range n {
				if et == 1 || et == 2 {
					off++
					continue
				}
				skip(et)
			}
		case 12:
			off = walkCompact(t, b, off, nil, func([]int16, int) {})
		default:
			t.Fatalf("unexpected Thrift type %d at %d", typ, off)
		}
	}
	var id int16
	for {
		h := b[off]
		off++
		if h == 0 {
			return off
		}
		typ := h & 0x0f
		if d := int16(h >> 4); d != 0 {
			id += d
		} else {
			v := uvarint()
			id = int16(v>>1) ^ -int16(v&1)
		}
		p := append(append([]int16(nil), path...), id)
		switch typ {
		case 5:
			visit(p, off)
			uvarint()
		case 12:
			off = walkCompact(t, b, off, p, visit)
		default:
			skip(typ)
		}
	}
}

// samePath says whether a field-id path is want.
func samePath(p []int16, want ...int16) bool {
	if len(p) != len(want) {
		return false
	}
	for i := range p {
		if p[i] != want[i] {
			return false
		}
	}
	return true
}

// oneColumnFile writes one column, one row group, without dictionary or
// statistics, and returns the file's bytes.
func oneColumnFile(t *testing.T, c col, props ...pq.WriterProperty) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "one.parquet")
	props = append([]pq.WriterProperty{pq.WithDictionaryDefault(false), pq.WithStats(false)}, props...)
	writeFormatFile(t, path, []col{c}, false, props...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withCodec returns the file b, written with snappy, with its column
// chunk's codec in the footer replaced by codec. The footer holds the
// column's name twice: in the schema, then in the column chunk's
// path_in_schema, which the codec field (id 4, an i32) follows.
func withCodec(t *testing.T, b []byte, name string, codec compress.Compression) []byte {
	t.Helper()
	b = bytes.Clone(b)
	footerLen := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	footer := len(b) - 8 - footerLen
	first := bytes.Index(b[footer:], []byte(name))
	second := bytes.Index(b[footer+first+len(name):], []byte(name))
	if first < 0 || second < 0 {
		t.Fatal("column name not found twice in the footer")
	}
	at := footer + first + len(name) + second + len(name)
	if b[at] != 0x15 || b[at+1] != 2 { // field delta 1, i32; zigzag(SNAPPY)
		t.Fatalf("no SNAPPY codec field after path_in_schema: % x", b[at:at+2])
	}
	z := uint32(codec) << 1
	if z >= 0x80 {
		t.Fatal("codec number too large for a one-byte patch")
	}
	b[at+1] = byte(z)
	return b
}

// withPageEncoding returns the file b with the encoding in its first data
// page's header (v1 or v2) replaced by enc.
func withPageEncoding(t *testing.T, b []byte, enc int) []byte {
	t.Helper()
	b = bytes.Clone(b)
	patched := false
	walkCompact(t, b, 4, nil, func(p []int16, off int) {
		if samePath(p, 5, 2) || samePath(p, 8, 4) {
			if b[off] != 0 { // zigzag(PLAIN)
				t.Fatalf("the page's encoding is %d, not PLAIN", b[off])
			}
			b[off] = byte(enc << 1)
			patched = true
		}
	})
	if !patched {
		t.Fatal("no data page header at offset 4")
	}
	return b
}

// withBrokenPage returns the file b with the first bytes of its first
// page's compressed data overwritten, so that it cannot be decompressed.
func withBrokenPage(t *testing.T, b []byte) []byte {
	t.Helper()
	b = bytes.Clone(b)
	end := walkCompact(t, b, 4, nil, func([]int16, int) {})
	for i := end; i < end+6; i++ {
		b[i] = 0xff
	}
	return b
}

func i16s(vals []int16) arrow.Array {
	b := array.NewInt16Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

// TestReadUnsupportedOrCorrupt checks that an encoding or codec vaejob
// cannot decode is reported as unsupported, naming it, the column and the
// file, without the advice to re-download that a corrupt page gets; for a
// column of the direct path (float64) and one of pqarrow's (int16), in
// data pages v1 and v2.
func TestReadUnsupportedOrCorrupt(t *testing.T) {
	vals := make([]float64, 3000)
	small := make([]int16, 3000)
	for i := range vals {
		vals[i] = float64(i) * 0.5
		small[i] = int16(i % 1000)
	}
	columns := []col{{"direct_col", f64s(vals)}, {"pqarrow_col", i16s(small)}}
	versions := []pq.DataPageVersion{pq.DataPageV1, pq.DataPageV2}
	type damage struct {
		name        string
		damage      func(t *testing.T, b []byte, column string) []byte
		unsupported bool
		says        []string
	}
	damages := []damage{
		{"LZO codec", func(t *testing.T, b []byte, c string) []byte { return withCodec(t, b, c, compress.Codecs.Lzo) }, true,
			[]string{"codec LZO"}},
		{"unknown codec 42", func(t *testing.T, b []byte, c string) []byte { return withCodec(t, b, c, compress.Compression(42)) }, false,
			[]string{"codec number 42", "unknown", "damaged"}},
		{"unknown encoding in the page header", func(t *testing.T, b []byte, _ string) []byte { return withPageEncoding(t, b, 42) }, false,
			[]string{"unknown encoding", "no Parquet format", "damaged"}},
		{"DELTA_BINARY_PACKED in the page header of a double column", func(t *testing.T, b []byte, c string) []byte {
			if c != "direct_col" {
				t.Skip("int16 reads DELTA_BINARY_PACKED")
			}
			return withPageEncoding(t, b, int(pq.Encodings.DeltaBinaryPacked))
		}, true, []string{"unimplemented encoding"}},
		{"damaged page", func(t *testing.T, b []byte, _ string) []byte { return withBrokenPage(t, b) }, false,
			[]string{"corrupt", "re-create or re-download"}},
	}
	for _, c := range columns {
		for _, v := range versions {
			good := oneColumnFile(t, c, pq.WithCompression(compress.Codecs.Snappy), pq.WithDataPageVersion(v))
			for _, d := range damages {
				t.Run(c.name+"/v"+string(rune('1'+v))+"/"+d.name, func(t *testing.T) {
					path := writeBytes(t, "bad.parquet", d.damage(t, good, c.name))
					_, err := ReadTable(context.Background(), path, Selection{})
					if err == nil {
						t.Fatal("no error")
					}
					msg := err.Error()
					t.Log(msg)
					if !errors.Is(err, ErrBadInput) {
						t.Errorf("err = %v, want ErrBadInput", err)
					}
					if errors.Is(err, ErrUnsupported) != d.unsupported {
						t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v: %v", !d.unsupported, d.unsupported, err)
					}
					want := append([]string{`"` + c.name + `"`, path}, d.says...)
					if !d.unsupported && strings.Contains(msg, "not corrupt") {
						t.Errorf("err = %v, asserts that a file is not corrupt", err)
					}
					if d.unsupported {
						want = append(want, "unsupported", "not corrupt")
						if strings.Contains(msg, "re-download") {
							t.Errorf("err = %v, advises re-downloading a file that is not corrupt", err)
						}
					}
					for _, w := range want {
						if !strings.Contains(msg, w) {
							t.Errorf("err = %v, want it to say %q", err, w)
						}
					}
				})
			}
		}
	}
}

// TestReadEncryptedFile: a file in Parquet modular encryption ("PARE" at
// both ends with an encrypted footer, at the end with a plaintext one) is
// unsupported, not corrupt.
func TestReadEncryptedFile(t *testing.T) {
	body := "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00"
	for name, content := range map[string]string{
		"encrypted footer": "PARE" + body + "PARE",
		"plaintext footer": "PAR1" + body + "PARE",
	} {
		path := filepath.Join(t.TempDir(), "encrypted.parquet")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadTable(context.Background(), path, Selection{})
		if !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrBadInput) || strings.Contains(err.Error(), "re-download") {
			t.Errorf("%s: err = %v, want unsupported bad input", name, err)
		}
	}
}
